// Synthetic corpora: spec resolution and overrides, config errors, deterministic and idempotent
// generation, and a manifest whose floor agrees with the exact floor of the written val split.
#include <gtest/gtest.h>

#include <cmath>

#include "lm/synthetic_corpus.hpp"
#include "rebench/errors.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// The shipped small config, shrunk further so each generation takes milliseconds.
const std::string kSpec = "synthetic:topic_hmm_small,train_tokens=30000,val_tokens=40000";

TEST(SyntheticCorpus, ResolvesShippedConfigsAndOverrides) {
  SyntheticSpec spec = resolve_synthetic_spec("synthetic:topic_hmm");
  EXPECT_EQ(spec.name, "topic_hmm");
  EXPECT_EQ(spec.corpus_name, "synthetic-topic_hmm");
  EXPECT_EQ(spec.params.vocab_size, 512u);
  EXPECT_EQ(spec.params.topics, 16u);
  EXPECT_GT(spec.train_tokens, spec.val_tokens);
  EXPECT_FALSE(spec.floor_block_sizes.empty());

  SyntheticSpec small = resolve_synthetic_spec(
      "synthetic:topic_hmm_small,topics=3,switch_prob=0.05,"
      "train_tokens=1000,data_seed=9");
  EXPECT_EQ(small.params.topics, 3u);
  EXPECT_DOUBLE_EQ(small.params.switch_prob, 0.05);
  EXPECT_EQ(small.train_tokens, 1000u);
  EXPECT_EQ(small.data_seed, 9u);
  // Overrides get their own folder, named by a hash of what determines the tokens.
  EXPECT_EQ(small.corpus_name.rfind("synthetic-topic_hmm_small-", 0), 0u);
  EXPECT_EQ(small.corpus_name.size(), std::string("synthetic-topic_hmm_small-").size() + 12);
  EXPECT_NE(small.definition_sha256(),
            resolve_synthetic_spec("synthetic:topic_hmm_small").definition_sha256());
  EXPECT_TRUE(is_synthetic_spec("synthetic:x"));
  EXPECT_FALSE(is_synthetic_spec("openwebtext:/data"));
}

TEST(SyntheticCorpus, BadSpecsAndConfigsNameTheProblem) {
  auto rejects = [](const std::string& spec, const std::string& fragment,
                    const fs::path& dir = {}) {
    try {
      (void)resolve_synthetic_spec(spec, dir);
      ADD_FAILURE() << spec << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  rejects("corpus", "not a synthetic spec");
  rejects("synthetic:", "names no config");
  rejects("synthetic:../etc", "may hold only");
  rejects("synthetic:no_such_config", "no config");
  rejects("synthetic:topic_hmm_small,topics", "is not key=value");
  rejects("synthetic:topic_hmm_small,topics=many", "is not a number");
  rejects("synthetic:topic_hmm_small,bogus=1",
          "field '/params/bogus': is not a topic_hmm parameter");
  rejects("synthetic:topic_hmm_small,switch_prob=0", "switch_prob must be in");
  rejects("synthetic:topic_hmm_small,token_exponent=1.1", "token_exponent");
  TempDir dir;
  testing::write_text(dir / "broken.json", R"({"generator": "topic_hmm", "params": {},
                                               "train_tokens": "many", "val_tokens": 10})");
  rejects("synthetic:broken", "broken.json: field '/train_tokens': expected an integer",
          dir.path());
  testing::write_text(dir / "other.json", R"({"generator": "pcfg", "params": {}})");
  rejects("synthetic:other", "field '/generator'", dir.path());
  testing::write_text(dir / "floor.json", R"({"generator": "topic_hmm", "params": {},
      "train_tokens": 10, "val_tokens": 10, "floor": {"block_sizes": [0], "windows": 10}})");
  rejects("synthetic:floor", "field '/floor/block_sizes'", dir.path());
}

std::string file_bytes(const fs::path& file) { return testing::read_text(file); }

TEST(SyntheticCorpus, GenerationIsDeterministicAndIdempotent) {
  TempDir dir;
  std::vector<std::string> lines;
  auto collect = [&](const std::string& line) { lines.push_back(line); };
  SyntheticCorpusResult a = prepare_synthetic_corpus(kSpec, dir / "a", collect);
  EXPECT_TRUE(a.generated);
  EXPECT_FALSE(lines.empty());
  SyntheticCorpusResult b = prepare_synthetic_corpus(kSpec, dir / "b", collect);
  EXPECT_EQ(file_bytes(dir / "a" / "train.bin"), file_bytes(dir / "b" / "train.bin"));
  EXPECT_EQ(file_bytes(dir / "a" / "val.bin"), file_bytes(dir / "b" / "val.bin"));
  EXPECT_EQ(a.manifest_sha256, b.manifest_sha256);
  EXPECT_NE(file_bytes(dir / "a" / "train.bin"), file_bytes(dir / "a" / "val.bin"));

  // Again into the same folder: kept, not rewritten.
  auto before = fs::last_write_time(dir / "a" / "train.bin");
  SyntheticCorpusResult again = prepare_synthetic_corpus(kSpec, dir / "a", collect);
  EXPECT_FALSE(again.generated);
  EXPECT_EQ(again.manifest_sha256, a.manifest_sha256);
  EXPECT_EQ(fs::last_write_time(dir / "a" / "train.bin"), before);
  // Forced: rewritten, same bytes.
  SyntheticCorpusResult forced = prepare_synthetic_corpus(kSpec, dir / "a", collect, true);
  EXPECT_TRUE(forced.generated);
  EXPECT_EQ(forced.manifest_sha256, a.manifest_sha256);
  // Another data seed: other tokens, regenerated in place because the definition differs.
  SyntheticCorpusResult other =
      prepare_synthetic_corpus(kSpec + ",data_seed=2", dir / "a", collect);
  EXPECT_TRUE(other.generated);
  EXPECT_NE(file_bytes(dir / "a" / "train.bin"), file_bytes(dir / "b" / "train.bin"));
  // A damaged corpus is regenerated, not trusted.
  testing::write_text(dir / "b" / "val.bin", "xx");
  EXPECT_TRUE(prepare_synthetic_corpus(kSpec, dir / "b", collect).generated);
  EXPECT_EQ(file_bytes(dir / "b" / "val.bin").size(), 80000u);
}

TEST(SyntheticCorpus, ManifestFloorMatchesTheExactFloorOfTheValSplit) {
  TempDir dir;
  SyntheticCorpusResult result =
      prepare_synthetic_corpus(kSpec, dir / "c", [](const std::string&) {});
  TokenCorpus corpus = TokenCorpus::open(dir / "c");
  EXPECT_EQ(corpus.vocab_size(), 128u);
  EXPECT_FALSE(corpus.eot_token().has_value());
  EXPECT_EQ(corpus.tokens(Split::kTrain).size, 30000u);
  EXPECT_EQ(corpus.tokens(Split::kVal).size, 40000u);
  EXPECT_EQ(corpus.manifest().at("name"), resolve_synthetic_spec(kSpec).corpus_name);
  EXPECT_EQ(corpus.manifest().at("spec"), kSpec);
  const nlohmann::json& s = corpus.manifest().at("synthetic");
  EXPECT_EQ(s.at("params").at("topics"), 4);
  EXPECT_EQ(s.at("definition").at("train_tokens"), 30000);
  const double oracle = s.at("entropy_nats").at("oracle_topic").get<double>();
  const double bigram = s.at("entropy_nats").at("bigram_conditional").get<double>();
  ASSERT_EQ(s.at("floor_monte_carlo").size(), 2u);
  const nlohmann::json& floor64 = s.at("floor_monte_carlo").at(0);
  EXPECT_EQ(floor64.at("block_size"), 64);
  const double mc = floor64.at("mean").get<double>(),
               mc_se = floor64.at("standard_error").get<double>();
  EXPECT_GT(mc, oracle);
  EXPECT_LT(mc, bigram);

  // The evaluator's side: rebuild the source from the manifest, score its own windows exactly.
  TopicHmm hmm = synthetic_source(corpus);
  TokenSpan val = corpus.tokens(Split::kVal);
  std::vector<std::uint64_t> offsets;
  double sum = 0, sum_sq = 0;
  for (std::uint64_t offset = 0; offset + 65 <= val.size; offset += 65) {
    offsets.push_back(offset);
    double w = hmm.optimal_loss_on_window(val.data + offset, 65);
    sum += w;
    sum_sq += w * w;
  }
  const double n = double(offsets.size());
  const double exact = hmm.optimal_loss_on_windows(val.data, val.size, offsets, 64);
  EXPECT_NEAR(exact, sum / n, 1e-12);
  const double val_se = std::sqrt((sum_sq / n - exact * exact) / (n - 1));
  // Same expectation: the written val split is a stationary stream of the same source.
  EXPECT_NEAR(exact, mc, 4 * std::sqrt(mc_se * mc_se + val_se * val_se))
      << "val " << exact << " +- " << val_se << ", Monte Carlo " << mc << " +- " << mc_se;

  // Not a synthetic corpus: a clear error.
  TokenCorpusWriter writer(dir / "plain", 10, std::nullopt);
  std::vector<std::uint16_t> t{1, 2, 3};
  writer.append(Split::kTrain, t.data(), t.size());
  writer.append(Split::kVal, t.data(), t.size());
  writer.finish(nlohmann::json::object());
  EXPECT_THROW((void)synthetic_source(TokenCorpus::open(dir / "plain")), Error);
}

}  // namespace
}  // namespace rebench::lm
