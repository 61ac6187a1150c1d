// fix_embedding on the cpu profile, end to end through the sandboxed worker: starting ≈ 0,
// reference ≈ 1 (`check`), the clean model beyond 1; broken checkpoints are invalid with the
// tensor named; the held-out data, the permutation seed and the cache are out of the agent's
// reach; a cmd: agent that builds and runs the repair program in the sandbox improves the score,
// and that program computes the same loss as the scorer. Needs the prose corpus and the cpu base
// models (the lm_cpu_assets fixture prepares them into REBENCH_CACHE).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <regex>

#include "fix_embedding/assets.hpp"
#include "fix_embedding/model_ops.hpp"
#include "fix_embedding/settings.hpp"
#include "fix_embedding/task_files.hpp"
#include "lm/safetensors.hpp"
#include "rebench/anchors.hpp"
#include "rebench/normalize.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/registry.hpp"
#include "rebench/scoring_worker.hpp"
#include "rebench/solution_scoring.hpp"
#include "support/harness_runner.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

namespace fs = std::filesystem;
using testing::only_run;
using testing::read_text;
using testing::result_of;
using testing::run_harness;
using testing::TempDir;

/// A checkpoint's tensors as owned byte buffers, to write modified copies of it.
struct Tensors {
  std::vector<lm::TensorEntry> entries;
  std::vector<std::string> data;
  std::map<std::string, std::string> metadata;

  explicit Tensors(const fs::path& file) {
    lm::SafetensorsFile f = lm::SafetensorsFile::open(file);
    metadata = f.metadata();
    for (const lm::TensorEntry& e : f.tensors()) {
      entries.push_back(e);
      data.emplace_back(reinterpret_cast<const char*>(f.data(e)), e.bytes());
    }
  }
  std::size_t index(const std::string& name) const {
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].name == name) return i;
    ADD_FAILURE() << "no tensor " << name;
    return 0;
  }
  void write(const fs::path& file) const {
    std::vector<lm::TensorToWrite> out;
    for (std::size_t i = 0; i < entries.size(); ++i)
      out.push_back(
          {entries[i].name, entries[i].dtype, entries[i].shape, data[i].data(), data[i].size()});
    lm::write_safetensors(file, out, metadata);
  }
};

class FixEmbeddingCpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { set_worker_executable(REBENCH_TEST_HARNESS); }
  FixEmbeddingCpu()
      : profile_(resolve_profile(configs_dir() / "profiles", "cpu")),
        env_(builtin_registry().get("fix_embedding")),
        scorer_(env_, profile_, SandboxMode::kBubblewrap, {}) {}

  fs::path starting_model() const {
    return scorer_.starting_solution() / fix_embedding::kSubmissionFile;
  }
  /// A solution folder holding `model` as fixed_model.safetensors.
  fs::path solution_with(const Tensors& model) {
    fs::path dir = dir_ / ("s" + std::to_string(count_++));
    fs::create_directories(dir);
    model.write(dir / fix_embedding::kSubmissionFile);
    return dir;
  }
  /// Scores `model` and expects an invalid entry whose message contains every one of `parts`.
  void expect_invalid(const Tensors& model, const std::vector<std::string>& parts) {
    ScoreResult r = scorer_.score(solution_with(model));
    EXPECT_FALSE(r.valid) << r.message;
    for (const std::string& part : parts)
      EXPECT_NE(r.message.find(part), std::string::npos)
          << "missing '" << part << "' in: " << r.message;
  }

  Profile profile_;
  const Environment& env_;
  SolutionScorer scorer_;
  TempDir dir_;
  int count_ = 0;
};

TEST_F(FixEmbeddingCpu, CheckPassesAndTheCleanModelHasHeadroom) {
  // `rebench check` on the committed anchors: starting ≈ 0, reference ≈ 1.
  ProcessResult check = run_harness({"check", "fix_embedding", "--profile", "cpu", "--json"}, 1800);
  ASSERT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("\"passed\": true"), std::string::npos) << check.output;

  // The uncorrupted model, scored like a submission, is far better than the reference.
  const fix_embedding::Assets assets = fix_embedding::load_assets("cpu");
  fs::path clean = dir_ / "clean";
  fs::create_directories(clean);
  fix_embedding::copy_bytes(assets.large.weights, clean / fix_embedding::kSubmissionFile);
  ScoreResult start = scorer_.score(scorer_.starting_solution());
  ScoreResult ref = scorer_.score(scorer_.reference_solution());
  ScoreResult best = scorer_.score(clean);
  ASSERT_TRUE(start.valid && ref.valid && best.valid)
      << start.message << ref.message << best.message;
  const double n_clean = normalize(best.score, start.score, ref.score);
  std::printf("cpu: starting loss %.4f, reference %.4f, clean %.4f (normalised %.3f)\n",
              start.metrics.at(1).value, ref.metrics.at(1).value, best.metrics.at(1).value,
              n_clean);
  EXPECT_GT(n_clean, 1.05);
  EXPECT_EQ(best.metrics.at(1).name, "loss");
  EXPECT_NEAR(best.metrics.at(1).value, best.details["clean_loss"].get<double>(), 1e-4);
  // The corrupted model is close to guessing: above ln(vocab) − 1.
  EXPECT_GT(start.metrics.at(1).value, std::log(50257.0) - 1.0);
}

TEST_F(FixEmbeddingCpu, MissingFileIsInvalid) {
  fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  testing::write_text(empty / "notes.txt", "nothing here\n");
  ScoreResult r = scorer_.score(empty);
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("no fixed_model.safetensors"), std::string::npos) << r.message;
}

TEST_F(FixEmbeddingCpu, WrongArchitectureIsInvalidWithTheTensorNamed) {
  const Tensors start(starting_model());
  {
    Tensors extra = start;  // an untied output layer: not the architecture
    const std::size_t wte = extra.index("transformer.wte.weight");
    extra.entries.push_back(extra.entries[wte]);
    extra.entries.back().name = "lm_head.weight";
    extra.data.push_back(extra.data[wte]);
    expect_invalid(extra, {"unexpected tensor 'lm_head.weight'"});
  }
  {
    Tensors missing = start;
    const std::size_t i = missing.index("transformer.ln_f.bias");
    missing.entries.erase(missing.entries.begin() + static_cast<std::ptrdiff_t>(i));
    missing.data.erase(missing.data.begin() + static_cast<std::ptrdiff_t>(i));
    expect_invalid(missing, {"missing tensor 'transformer.ln_f.bias'"});
  }
  {
    Tensors shaped = start;  // same bytes, transposed shape
    lm::TensorEntry& e = shaped.entries[shaped.index("transformer.h.0.mlp.c_fc.weight")];
    std::swap(e.shape[0], e.shape[1]);
    expect_invalid(shaped, {"tensor 'transformer.h.0.mlp.c_fc.weight' has shape"});
  }
  {
    Tensors half = start;  // F16 has the right shape but not the dtype
    const std::size_t i = half.index("transformer.wpe.weight");
    half.entries[i].dtype = lm::DType::kF16;
    half.data[i].resize(half.data[i].size() / 2);
    expect_invalid(half, {"tensor 'transformer.wpe.weight' is F16, expected F32"});
  }
  {
    // Shapes cannot show the number of heads: a config in the metadata that changes it is
    // refused rather than obeyed.
    Tensors heads = start;
    std::string& config = heads.metadata.at("rebench.gpt_config");
    config = std::regex_replace(config, std::regex("\"n_head\":\\s*\\d+"), "\"n_head\":1");
    expect_invalid(heads, {"rebench.gpt_config", "describes"});
  }
}

TEST_F(FixEmbeddingCpu, NonFiniteWeightsAreInvalidWithTheTensorAndElementNamed) {
  Tensors nan = Tensors(starting_model());
  const std::size_t i = nan.index("transformer.h.1.attn.c_proj.weight");
  const float value = std::nanf("");
  std::memcpy(&nan.data[i][4 * 70], &value, sizeof value);
  expect_invalid(nan, {"tensor 'transformer.h.1.attn.c_proj.weight' holds nan at element 70"});

  Tensors inf = Tensors(starting_model());
  const std::size_t w = inf.index("transformer.wte.weight");
  const float infinity = -INFINITY;
  std::memcpy(&inf.data[w][0], &infinity, sizeof infinity);
  expect_invalid(inf, {"tensor 'transformer.wte.weight' holds -inf at element 0 (row 0"});
}

TEST_F(FixEmbeddingCpu, TruncatedAndOversizedFilesAreInvalid) {
  fs::path cut = dir_ / "cut";
  fs::create_directories(cut);
  std::string bytes = read_text(starting_model());
  // Cut inside the last tensor's data: the message names that tensor.
  lm::SafetensorsFile whole = lm::SafetensorsFile::open(starting_model());
  const lm::TensorEntry* last = &whole.tensors().front();
  for (const lm::TensorEntry& e : whole.tensors())
    if (e.end > last->end) last = &e;
  testing::write_text(cut / fix_embedding::kSubmissionFile, bytes.substr(0, bytes.size() - 100));
  ScoreResult r = scorer_.score(cut);
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("tensor '" + last->name + "'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("truncated"), std::string::npos) << r.message;

  fs::path big = dir_ / "big";
  fs::create_directories(big);
  testing::write_text(big / fix_embedding::kSubmissionFile, std::string(65u << 20, ' '));
  ScoreResult r2 = scorer_.score(big);
  EXPECT_FALSE(r2.valid);
  EXPECT_NE(r2.message.find("over the limit"), std::string::npos) << r2.message;
}

TEST_F(FixEmbeddingCpu, ProvisionGivesCopiesAndKeepsSecretsPrivate) {
  const fs::path home = scorer_.starting_solution().parent_path();
  const fs::path priv = home.parent_path() / "private";
  const Json task = read_json_file(priv / fix_embedding::kTaskFile);
  const std::string seed = task.at("permutation_seed").get<std::string>();
  EXPECT_EQ(seed.size(), 64u);
  // Copies, never hard links into the cache (the agent could write through one).
  for (const char* file : {"large_model_corrupted.safetensors", "small_model.safetensors",
                           "data/train.bin", "solution/fixed_model.safetensors"}) {
    struct stat st {};
    ASSERT_EQ(::stat((home / file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_nlink, 1u) << file;
  }
  // The corrupted model is the clean one with the rows of wte permuted by the seed's permutation.
  const fix_embedding::Assets assets = fix_embedding::load_assets("cpu");
  lm::SafetensorsFile clean = lm::SafetensorsFile::open(assets.large.weights);
  lm::SafetensorsFile bad = lm::SafetensorsFile::open(home / "large_model_corrupted.safetensors");
  const auto perm = fix_embedding::permutation_from_seed(seed, assets.config().vocab_size);
  const lm::TensorEntry& cw = clean.at("transformer.wte.weight");
  const lm::TensorEntry& bw = bad.at("transformer.wte.weight");
  const std::size_t row = static_cast<std::size_t>(cw.shape[1]) * 4;
  int moved = 0;
  for (std::size_t i : {0u, 1u, 50256u, 12345u}) {
    EXPECT_EQ(std::memcmp(bad.data(bw) + i * row, clean.data(cw) + perm[i] * row, row), 0) << i;
    moved += perm[i] != static_cast<std::int64_t>(i);
  }
  EXPECT_GE(moved, 3);
  const lm::TensorEntry& cb = clean.at("transformer.h.0.mlp.c_fc.weight");
  EXPECT_EQ(std::memcmp(bad.data(bad.at(cb.name)), clean.data(cb), cb.bytes()), 0);
  // Nothing of private/ is in home/: no held-out file, and no file mentions the seed.
  for (const auto& entry : fs::recursive_directory_iterator(home)) {
    EXPECT_NE(entry.path().filename(), fix_embedding::kHeldoutFile);
    if (entry.is_regular_file() && entry.file_size() < (1u << 20)) {
      EXPECT_EQ(read_text(entry.path()).find(seed), std::string::npos) << entry.path();
    }
  }
  const std::string instructions = read_text(home / "instructions.md");
  EXPECT_EQ(instructions.find("{{"), std::string::npos) << "unsubstituted placeholder";
  EXPECT_NE(instructions.find("bash build.sh"), std::string::npos);
}

TEST_F(FixEmbeddingCpu, PermutationsComeFromTheSeedAndDiffer) {
  const std::string a = fix_embedding::new_permutation_seed();
  const std::string b = fix_embedding::new_permutation_seed();
  EXPECT_NE(a, b);
  const auto pa = fix_embedding::permutation_from_seed(a, 1000);
  EXPECT_EQ(pa, fix_embedding::permutation_from_seed(a, 1000));
  EXPECT_NE(pa, fix_embedding::permutation_from_seed(b, 1000));
  std::vector<std::int64_t> sorted = pa;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);
}

/// One sandboxed run of the real CLI on the cpu profile with a cmd: agent.
Json run_agent(const fs::path& runs, const std::string& agent, const std::string& limit,
               std::string* output = nullptr) {
  ProcessResult run =
      run_harness({"run", "fix_embedding", "--profile", "cpu", "--agent", agent, "--time-limit",
                   limit, "--network", "none", "--runs-dir", runs.string()},
                  3600);
  if (output != nullptr) *output = run.output;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  return result_of(only_run(runs));
}

TEST(FixEmbeddingCpuRun, AgentCannotReachHeldOutDataSeedOrCache) {
  TempDir dir;
  const fs::path runs = dir / "runs";
  // Every place the hidden data lives, from inside the sandbox; anything found is copied into
  // the solution, where the test would see it.
  const std::string cache = cache_dir().string();
  const std::string agent =
      "cmd:cd $HOME; for p in /rebench/private /rebench " + runs.string() + " " + cache + " " +
      cache + "/fix_embedding " + cache +
      "/base-models; do ls -la $p >> probe.txt 2>&1; "
      "done; find / \\( -path /proc -o -path /sys \\) -prune -o \\( -name heldout.bin -o -name "
      "task.json -o -name 'clean-loss-*' \\) -print 2>/dev/null >> found.txt; cp -r "
      "/rebench/private solution/stolen 2>>probe.txt; "
      "cp " +
      cache + "/base-models/*/model.safetensors solution/ 2>>probe.txt; score; true";
  const Json result = run_agent(runs, agent, "3m");
  const fs::path run = only_run(runs);
  EXPECT_EQ(read_text(run / "home" / "found.txt"), "");
  EXPECT_FALSE(fs::exists(run / "home" / "solution" / "stolen"));
  EXPECT_FALSE(fs::exists(run / "home" / "solution" / "model.safetensors"));
  const std::string probe = read_text(run / "home" / "probe.txt");
  EXPECT_EQ(probe.find("heldout.bin"), std::string::npos) << probe;
  EXPECT_EQ(probe.find("task.json"), std::string::npos) << probe;
  // What was scored is still the corrupted model of this run.
  EXPECT_GE(result["final"]["raw"].get<double>(), result["baseline"]["raw"].get<double>() - 1e-9)
      << result.dump(2);
}

TEST(FixEmbeddingCpuRun, RepairProgramBuiltInTheSandboxImprovesTheScore) {
  TempDir dir;
  const fs::path runs = dir / "runs";
  const std::string agent =
      "cmd:cd $HOME/solution && bash build.sh > build.log 2>&1 && "
      "./repair --steps 40 --batch 16 --lr 1e-2 --warmup 5 --device cpu > repair.log 2>&1 && "
      "score";
  std::string output;
  const Json result = run_agent(runs, agent, "30m", &output);
  const fs::path home = only_run(runs) / "home";
  ASSERT_TRUE(fs::exists(home / "solution" / "repair"))
      << read_text(home / "solution" / "build.log");
  EXPECT_NE(read_text(home / "solution" / "repair.log").find("wrote fixed_model.safetensors"),
            std::string::npos)
      << read_text(home / "solution" / "repair.log");
  EXPECT_EQ(result["score_calls"], 1) << result.dump(2);
  EXPECT_TRUE(result["final"]["valid"].get<bool>()) << result.dump(2);
  EXPECT_LT(result["final"]["raw"].get<double>(), result["baseline"]["raw"].get<double>())
      << result.dump(2);
  EXPECT_GT(result["final"]["normalized"].get<double>(), 0.1) << result.dump(2);

  // The program's model computes what the scorer computes: its loss on the held-out windows
  // (written back to back, so its evenly spaced validation windows are exactly them) equals the
  // substrate's on the clean model.
  const Profile profile = resolve_profile(configs_dir() / "profiles", "cpu");
  const fix_embedding::Settings settings = fix_embedding::settings_of(profile);
  const fix_embedding::Assets assets = fix_embedding::load_assets("cpu");
  const fix_embedding::HeldoutSet heldout =
      fix_embedding::select_heldout(assets.corpus, 48, assets.config().block_size);
  fix_embedding::write_heldout(dir / "windows.bin", heldout);
  fix_embedding::LossRequest request;
  request.checkpoint = assets.large.weights;
  request.config = assets.config();
  request.heldout = dir / "windows.bin";
  request.windows = heldout.windows;
  request.max_bytes = 1u << 30;
  request.batch = 16;
  request.work_dir = dir.path();
  const double expected = fix_embedding::measure_heldout_loss(request);
  ProcessResult eval =
      run_process({(home / "solution" / "repair").string(), "--eval-only", "--model",
                   assets.large.weights.string(), "--data", (dir / "windows.bin").string(),
                   "--val-fraction", "1", "--eval-windows", "48", "--device", "cpu"},
                  300);
  ASSERT_TRUE(eval.ok()) << eval.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(eval.output, m, std::regex("validation loss ([0-9.]+)")))
      << eval.output;
  EXPECT_NEAR(std::stod(m[1].str()), expected, 2e-4) << eval.output;
}

}  // namespace
}  // namespace rebench
