// Synthetic corpus specs, their configs, and deterministic, idempotent generation.
#include "lm/synthetic_corpus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kPrefix = "synthetic:";
constexpr std::uint64_t kChunkTokens = 1 << 20;
// Purposes of the data seeds: the train and val streams and the Monte-Carlo floor never share
// randomness.
constexpr std::uint64_t kTrainStream = 11, kValStream = 12, kFloorStream = 13;

std::uint64_t stream_seed(std::uint64_t data_seed, std::uint64_t purpose) {
  return data_seed * 0x9E3779B97F4A7C15ULL + purpose;
}

// Integer keys are range-checked here; TopicHmmParams::validate checks the meaning.
std::uint64_t as_u64(const ConfigReader& reader, const std::string& key) {
  long long value = reader.integer(key);
  if (value < 0) reader.fail(key, "must not be negative");
  return static_cast<std::uint64_t>(value);
}

std::uint32_t as_u32(const ConfigReader& reader, const std::string& key) {
  std::uint64_t value = as_u64(reader, key);
  if (value > 0xffffffffULL) reader.fail(key, "is too large");
  return static_cast<std::uint32_t>(value);
}

TopicHmmParams read_params(const ConfigReader& reader) {
  TopicHmmParams p;
  for (const auto& [key, unused] : reader.json().items()) {
    (void)unused;
    static const char* kKnown[] = {"vocab_size",     "topics",         "branching",
                                   "topic_exponent", "token_exponent", "successor_exponent",
                                   "switch_prob",    "restart_prob",   "seed"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown))
      reader.fail(key, "is not a topic_hmm parameter");
  }
  if (reader.has("vocab_size")) p.vocab_size = as_u32(reader, "vocab_size");
  if (reader.has("topics")) p.topics = as_u32(reader, "topics");
  if (reader.has("branching")) p.branching = as_u32(reader, "branching");
  if (reader.has("topic_exponent")) p.topic_exponent = reader.number("topic_exponent");
  if (reader.has("token_exponent")) p.token_exponent = reader.number("token_exponent");
  if (reader.has("successor_exponent")) p.successor_exponent = reader.number("successor_exponent");
  if (reader.has("switch_prob")) p.switch_prob = reader.number("switch_prob");
  if (reader.has("restart_prob")) p.restart_prob = reader.number("restart_prob");
  if (reader.has("seed")) p.seed = as_u64(reader, "seed");
  try {
    p.validate();
  } catch (const Error& e) {
    throw ConfigError(reader.file(), reader.path_of(""), e.what());
  }
  return p;
}

// "key=value" overrides applied to the config's JSON before it is read, so they are validated
// exactly like the file's own values.
void apply_override(Json& config, const std::string& item, const std::string& spec) {
  auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
    throw UsageError("synthetic spec '" + spec + "': '" + item + "' is not key=value");
  std::string key = item.substr(0, eq), text = item.substr(eq + 1);
  Json value;
  std::uint64_t integer = 0;
  double number = 0;
  const char* end = text.data() + text.size();
  if (auto r = std::from_chars(text.data(), end, integer); r.ec == std::errc() && r.ptr == end) {
    value = integer;
  } else if (auto d = std::from_chars(text.data(), end, number);
             d.ec == std::errc() && d.ptr == end && std::isfinite(number)) {
    value = number;
  } else {
    throw UsageError("synthetic spec '" + spec + "': value of '" + key + "' is not a number");
  }
  if (key == "train_tokens" || key == "val_tokens" || key == "data_seed") {
    config[key] = value;
  } else {
    if (!config.contains("params") || !config["params"].is_object())
      config["params"] = Json::object();
    config["params"][key] = value;
  }
}

}  // namespace

Json SyntheticSpec::definition() const {
  return {{"generator", "topic_hmm"},   {"generator_version", kSyntheticGeneratorVersion},
          {"params", params.to_json()}, {"train_tokens", train_tokens},
          {"val_tokens", val_tokens},   {"data_seed", data_seed}};
}

std::string SyntheticSpec::definition_sha256() const { return sha256_hex(definition().dump()); }

bool is_synthetic_spec(const std::string& spec) { return spec.rfind(kPrefix, 0) == 0; }

SyntheticSpec resolve_synthetic_spec(const std::string& spec_text, const fs::path& config_dir) {
  if (!is_synthetic_spec(spec_text))
    throw UsageError("'" + spec_text + "' is not a synthetic spec (synthetic:NAME[,key=value...])");
  std::vector<std::string> parts;
  std::stringstream stream(spec_text.substr(std::string(kPrefix).size()));
  for (std::string part; std::getline(stream, part, ',');) parts.push_back(part);
  if (parts.empty() || parts[0].empty())
    throw UsageError("synthetic spec '" + spec_text + "' names no config (synthetic:NAME)");
  SyntheticSpec spec;
  spec.spec = spec_text;
  spec.name = parts[0];
  for (char c : spec.name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      throw UsageError("synthetic spec '" + spec_text + "': config name '" + spec.name +
                       "' may hold only letters, digits, '_' and '-'");
  fs::path dir = config_dir.empty() ? configs_dir() / "synthetic" : config_dir;
  spec.config_file = dir / (spec.name + ".json");
  std::error_code ec;
  if (!fs::is_regular_file(spec.config_file, ec))
    throw UsageError("synthetic spec '" + spec_text + "': no config " + spec.config_file.string());
  Json config = read_json_file(spec.config_file);
  if (!config.is_object()) throw ConfigError(spec.config_file.string(), "/", "expected an object");
  for (std::size_t i = 1; i < parts.size(); ++i) apply_override(config, parts[i], spec_text);

  const std::string file = spec.config_file.string();
  ConfigReader reader(file, config, "");
  if (reader.string("generator") != "topic_hmm")
    reader.fail("generator", "must be \"topic_hmm\" (the only synthetic generator)");
  spec.description = reader.has("description") ? reader.string("description") : "";
  spec.params = read_params(reader.object("params"));
  spec.train_tokens = as_u64(reader, "train_tokens");
  spec.val_tokens = as_u64(reader, "val_tokens");
  if (spec.train_tokens < 2 || spec.val_tokens < 2)
    reader.fail("train_tokens", "and val_tokens must be at least 2");
  if (reader.has("data_seed")) spec.data_seed = as_u64(reader, "data_seed");
  if (reader.has("floor")) {
    ConfigReader floor = reader.object("floor");
    const Json& sizes = floor.raw("block_sizes");
    if (!sizes.is_array()) floor.fail("block_sizes", "expected an array of integers");
    for (const Json& b : sizes) {
      if (!b.is_number_integer() || b.get<long long>() < 1 || b.get<long long>() > 65536)
        floor.fail("block_sizes", "expected integers in [1, 65536]");
      spec.floor_block_sizes.push_back(b.get<int>());
    }
    long long windows = floor.integer("windows");
    if (windows < 2 || windows > 1'000'000) floor.fail("windows", "must be in [2, 1000000]");
    spec.floor_windows = static_cast<std::size_t>(windows);
  }
  spec.corpus_name = "synthetic-" + spec.name;
  if (parts.size() > 1) spec.corpus_name += "-" + spec.definition_sha256().substr(0, 12);
  return spec;
}

SyntheticCorpusResult prepare_synthetic_corpus(
    const std::string& spec_text, const fs::path& dir_in,
    const std::function<void(const std::string&)>& on_line, bool force) {
  auto say = [&](const std::string& line) {
    if (on_line)
      on_line(line);
    else
      spdlog::info("{}", line);
  };
  const SyntheticSpec spec = resolve_synthetic_spec(spec_text);
  const fs::path dir = dir_in.empty() ? corpora_dir() / spec.corpus_name : dir_in;
  const std::string definition_sha = spec.definition_sha256();

  SyntheticCorpusResult result;
  result.dir = dir;
  std::error_code ec;
  if (!force && fs::is_regular_file(dir / "manifest.json", ec)) {
    try {
      TokenCorpus existing = TokenCorpus::open(dir);
      const Json& m = existing.manifest();
      if (m.contains("synthetic") &&
          m["synthetic"].value("definition_sha256", "") == definition_sha) {
        say("synthetic corpus " + spec.corpus_name + ": up to date at " + dir.string());
        result.manifest_sha256 = existing.manifest_sha256();
        result.manifest = m;
        return result;
      }
      say("synthetic corpus " + spec.corpus_name + ": definition changed, regenerating");
    } catch (const Error& e) {
      say("synthetic corpus " + spec.corpus_name + ": existing copy unusable (" + e.what() +
          "), regenerating");
    }
  }

  const auto start = std::chrono::steady_clock::now();
  TopicHmm hmm(spec.params);
  Json floors = Json::array();
  for (int block : spec.floor_block_sizes) {
    FloorEstimate f =
        hmm.estimate_floor(block, spec.floor_windows, stream_seed(spec.data_seed, kFloorStream));
    // h_t at the last position approaches the entropy rate from above.
    floors.push_back({{"block_size", block},
                      {"mean", f.mean},
                      {"standard_error", f.standard_error},
                      {"windows", f.windows},
                      {"last_position", f.per_position.back()}});
  }
  Json synthetic = {
      {"generator", "topic_hmm"},
      {"generator_version", kSyntheticGeneratorVersion},
      {"name", spec.name},
      {"description", spec.description},
      {"definition", spec.definition()},
      {"definition_sha256", definition_sha},
      {"params", spec.params.to_json()},
      {"entropy_nats",
       {{"unigram", hmm.unigram_entropy()},
        {"bigram_conditional", hmm.bigram_conditional_entropy()},
        {"oracle_topic", hmm.oracle_topic_entropy()}}},
      {"floor_monte_carlo", floors},
      {"floor_rule",
       "The loss floor of an evaluation is exact per window: TopicHmm(params)"
       ".optimal_loss_on_windows(val tokens, window offsets, block_size) = mean over windows of "
       "the mean over positions 1..block_size of -ln p(x_t | x_0..x_{t-1}) (forward algorithm "
       "from the stationary distribution). floor_monte_carlo documents its expectation; it lies "
       "between entropy_nats.oracle_topic (below) and entropy_nats.bigram_conditional (above, "
       "equal at block_size 1)."}};

  TokenCorpusWriter writer(dir, spec.params.vocab_size, std::nullopt);
  std::vector<std::uint16_t> chunk;
  for (auto [split, count, purpose] : {std::tuple{Split::kTrain, spec.train_tokens, kTrainStream},
                                       std::tuple{Split::kVal, spec.val_tokens, kValStream}}) {
    TopicHmmSampler sampler(hmm, stream_seed(spec.data_seed, purpose));
    for (std::uint64_t done = 0; done < count;) {
      chunk.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kChunkTokens, count - done)));
      sampler.fill(chunk.data(), chunk.size());
      writer.append(split, chunk.data(), chunk.size());
      done += chunk.size();
    }
    say("synthetic corpus " + spec.corpus_name + ": " + to_string(split) + " " +
        std::to_string(count) + " tokens");
  }
  Json fields = {{"name", spec.corpus_name},
                 {"source", "synthetic"},
                 {"spec", spec.spec},
                 {"synthetic", synthetic}};
  result.manifest_sha256 = writer.finish(fields);
  result.generated = true;
  result.manifest = TokenCorpus::open(dir).manifest();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  say("synthetic corpus " + spec.corpus_name + ": written to " + dir.string() + " in " +
      std::to_string(static_cast<int>(std::lround(seconds))) + "s");
  return result;
}

TopicHmm synthetic_source(const TokenCorpus& corpus) {
  const Json& m = corpus.manifest();
  const std::string file = (corpus.dir() / "manifest.json").string();
  if (!m.contains("synthetic") || !m["synthetic"].is_object())
    throw Error("corpus " + corpus.dir().string() + " is not a synthetic corpus (no /synthetic)",
                ExitCode::kUsage);
  ConfigReader reader(file, m["synthetic"], "/synthetic");
  if (reader.string("generator") != "topic_hmm")
    reader.fail("generator", "is not a generator this rebench knows");
  if (reader.integer("generator_version") != kSyntheticGeneratorVersion)
    reader.fail("generator_version", "differs from this rebench's (" +
                                         std::to_string(kSyntheticGeneratorVersion) +
                                         "): prepare the corpus again");
  TopicHmm hmm(read_params(reader.object("params")));
  if (hmm.vocab_size() != corpus.vocab_size())
    reader.fail("params", "vocab_size differs from the corpus's");
  return hmm;
}

}  // namespace rebench::lm
