// optimize_kernel on the cpu profile, end to end through the sandboxed worker: starting ≈ 0,
// reference ≈ 1, ceiling > 1; broken solutions give invalid entries with useful messages.
#include <gtest/gtest.h>

#include <cmath>

#include "rebench/normalize.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/registry.hpp"
#include "rebench/scoring_worker.hpp"
#include "rebench/solution_scoring.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_text;

/// The body of a correct (sequential) solution, for solutions that differ from it in one way.
constexpr const char* kCorrectLoop =
    "  uint32_t s = 0; bool odd = false;\n"
    "  for (int64_t i = 0; i < n; ++i) { if (odd) s += x[i]; y[i] = int32_t(s); if (x[i] > 0) odd "
    "= !odd; }\n";

class OptimizeKernelCpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { set_worker_executable(REBENCH_TEST_HARNESS); }
  OptimizeKernelCpu()
      : profile_(resolve_profile(configs_dir() / "profiles", "cpu")),
        env_(builtin_registry().get("optimize_kernel")),
        scorer_(env_, profile_, SandboxMode::kBubblewrap, {}) {}

  fs::path solution(const std::string& code) {
    fs::path dir = dir_ / ("s" + std::to_string(count_++));
    write_text(dir / "solution.cpp", "#include <cstdint>\n" + code);
    return dir;
  }

  Profile profile_;
  const Environment& env_;
  SolutionScorer scorer_;
  TempDir dir_;
  int count_ = 0;
};

TEST_F(OptimizeKernelCpu, StartingIsZeroReferenceIsOneCeilingBeyond) {
  const fs::path root = environments_dir() / "optimize_kernel";
  // Calibrate in the test (anchors measured on this machine), then score again and normalise.
  ScoreResult start = scorer_.score(scorer_.starting_solution());
  ScoreResult ref = scorer_.score(scorer_.reference_solution());
  ASSERT_TRUE(start.valid) << start.message;
  ASSERT_TRUE(ref.valid) << ref.message;
  EXPECT_LT(ref.raw, start.raw);
  ScoreResult start2 = scorer_.score(scorer_.starting_solution());
  ScoreResult ref2 = scorer_.score(scorer_.reference_solution());
  ScoreResult ceiling = scorer_.score(root / "ceiling" / "cpu");
  ASSERT_TRUE(ceiling.valid) << ceiling.message;
  const double n_start = normalize(start2.score, start.score, ref.score);
  const double n_ref = normalize(ref2.score, start.score, ref.score);
  const double n_ceiling = normalize(ceiling.score, start.score, ref.score);
  RecordProperty("starting_ms", std::to_string(start.raw));
  RecordProperty("reference_ms", std::to_string(ref.raw));
  RecordProperty("ceiling_ms", std::to_string(ceiling.raw));
  std::printf(
      "cpu: starting %.2f ms, reference %.2f ms, ceiling %.2f ms; normalised %.3f / %.3f / %.3f\n",
      start.raw, ref.raw, ceiling.raw, n_start, n_ref, n_ceiling);
  EXPECT_NEAR(n_start, 0.0, 0.25);
  EXPECT_NEAR(n_ref, 1.0, 0.25);
  EXPECT_GT(n_ceiling, 1.2);
  EXPECT_EQ(start.metrics.at(0).unit, "ms");
  EXPECT_GE(start.details["samples_ms"].size(), 10u);
}

TEST_F(OptimizeKernelCpu, WrongAnswerIsInvalidWithTheFirstMismatch) {
  ScoreResult r = scorer_.score(solution(
      "extern \"C\" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void*) {\n"
      "  int32_t s = 0; for (int64_t i = 0; i < n; ++i) { s += x[i]; y[i] = s; } return 0; }\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("wrong output at index"), std::string::npos) << r.message;
}

TEST_F(OptimizeKernelCpu, CrashIsInvalidWithTheSignal) {
  ScoreResult r = scorer_.score(
      solution("extern \"C\" int rebench_prefix_sum(const int32_t*, int32_t*, int64_t, void*) {\n"
               "  volatile int32_t* p = nullptr; *p = 1; return 0; }\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("SIGSEGV"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("during measure"), std::string::npos) << r.message;
}

TEST_F(OptimizeKernelCpu, HangIsInvalidAfterTheTimeLimit) {
  scorer_.set_timeout(20);
  ScoreResult r = scorer_.score(
      solution("extern \"C\" int rebench_prefix_sum(const int32_t*, int32_t*, int64_t, void*) {\n"
               "  for (volatile int spin = 0;; ) { (void)spin; } }\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("timed out"), std::string::npos) << r.message;
  EXPECT_EQ(r.details.value("timeout", false), true);
}

TEST_F(OptimizeKernelCpu, CompileErrorComesBackAsTheMessage) {
  ScoreResult r = scorer_.score(solution("this is not C++;\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("does not build"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("error"), std::string::npos) << r.message;
}

TEST_F(OptimizeKernelCpu, OutOfBoundsWriteIsInvalid) {
  ScoreResult r = scorer_.score(solution(
      "extern \"C\" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void*) {\n" +
      std::string(kCorrectLoop) + "  y[n + 7] = 12345; return 0; }\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("outside the output buffer"), std::string::npos) << r.message;
}

TEST_F(OptimizeKernelCpu, MissingEntryPointIsInvalid) {
  ScoreResult r = scorer_.score(solution("extern \"C\" int something_else() { return 0; }\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("rebench_prefix_sum"), std::string::npos) << r.message;
}

TEST_F(OptimizeKernelCpu, MemoisingAcrossCallsIsCaughtByFreshInputs) {
  // Computes once, then replays the first answer: every timed call has a fresh input, so this
  // must fail exactly.
  ScoreResult r = scorer_.score(solution(
      "#include <vector>\n"
      "static std::vector<int32_t> cache;\n"
      "extern \"C\" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void*) {\n"
      "  if ((int64_t)cache.size() == n) { for (int64_t i = 0; i < n; ++i) y[i] = cache[i]; return "
      "0; }\n" +
      std::string(kCorrectLoop) + "  cache.assign(y, y + n); return 0; }\n"));
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("wrong output"), std::string::npos) << r.message;
}

TEST_F(OptimizeKernelCpu, FlaggedImportsAreReported) {
  ScoreResult r = scorer_.score(solution(
      "#include <sys/mman.h>\n"
      "extern \"C\" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void*) {\n"
      "  if (n < 0) mprotect(nullptr, 0, 0);\n" +
      std::string(kCorrectLoop) + "  return 0; }\n"));
  ASSERT_TRUE(r.valid) << r.message;
  ASSERT_TRUE(r.details.contains("flagged_imports"));
  EXPECT_EQ(r.details["flagged_imports"], Json::array({"mprotect"}));
}

}  // namespace
}  // namespace rebench
