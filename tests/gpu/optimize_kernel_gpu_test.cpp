// optimize_kernel on the h100 profile (label gpu; skipped without a CUDA GPU): the three
// solutions through the sandboxed worker, and the failure modes that only exist on a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "rebench/gpu_lease.hpp"
#include "rebench/hardware.hpp"
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

class OptimizeKernelGpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { set_worker_executable(REBENCH_TEST_HARNESS); }
  void SetUp() override {
    if (visible_gpus().empty()) GTEST_SKIP() << "no CUDA GPU visible";
    profile_ = std::make_unique<Profile>(resolve_profile(configs_dir() / "profiles", "h100"));
    lease_ = lease_gpus_for(env_, *profile_, "auto");
    scorer_ =
        std::make_unique<SolutionScorer>(env_, *profile_, SandboxMode::kBubblewrap, lease_.gpus());
  }
  fs::path solution(const std::string& code) {
    fs::path dir = dir_ / ("s" + std::to_string(count_++));
    write_text(dir / "solution.cu", "#include <cstdint>\n#include <cuda_runtime.h>\n" + code);
    return dir;
  }
  const Environment& env_ = builtin_registry().get("optimize_kernel");
  std::unique_ptr<Profile> profile_;
  GpuLease lease_;
  std::unique_ptr<SolutionScorer> scorer_;
  TempDir dir_;
  int count_ = 0;
};

TEST_F(OptimizeKernelGpu, StartingReferenceCeilingOrderAndCeilingBeyondTwo) {
  const fs::path root = environments_dir() / "optimize_kernel";
  ScoreResult start = scorer_->score(scorer_->starting_solution());
  ScoreResult ref = scorer_->score(scorer_->reference_solution());
  ScoreResult ceiling = scorer_->score(root / "ceiling" / "h100");
  ASSERT_TRUE(start.valid) << start.message;
  ASSERT_TRUE(ref.valid) << ref.message;
  ASSERT_TRUE(ceiling.valid) << ceiling.message;
  const double n_ceiling = normalize(ceiling.score, start.score, ref.score);
  std::printf(
      "h100: starting %.3f ms, reference %.3f ms, ceiling %.3f ms, ceiling normalised %.2f\n",
      start.raw, ref.raw, ceiling.raw, n_ceiling);
  EXPECT_LT(ref.raw, start.raw);
  EXPECT_GT(n_ceiling, 2.0);
  EXPECT_LT(start.details["cv"].get<double>(), 0.05);
}

TEST_F(OptimizeKernelGpu, WrongAnswerIllegalAddressOutOfBoundsAndHangAreInvalid) {
  ScoreResult wrong = scorer_->score(solution(
      "extern \"C\" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* s) {\n"
      "  return cudaMemcpyAsync(y, x, n * 4, cudaMemcpyDeviceToDevice, (cudaStream_t)s); }\n"));
  EXPECT_FALSE(wrong.valid);
  EXPECT_NE(wrong.message.find("wrong output"), std::string::npos) << wrong.message;

  ScoreResult fault = scorer_->score(
      solution("__global__ void bad(int32_t* p) { p[threadIdx.x] = 1; }\n"
               "extern \"C\" int rebench_prefix_sum(const int32_t*, int32_t*, int64_t, void* s) {\n"
               "  bad<<<1, 32, 0, (cudaStream_t)s>>>((int32_t*)0x10); return 0; }\n"));
  EXPECT_FALSE(fault.valid);
  EXPECT_NE(fault.message.find("CUDA error"), std::string::npos) << fault.message;

  ScoreResult oob = scorer_->score(solution(
      "__global__ void spill(int32_t* y, int64_t n) { y[n + threadIdx.x] = 7; }\n"
      "extern \"C\" int rebench_prefix_sum(const int32_t*, int32_t* y, int64_t n, void* s) {\n"
      "  spill<<<1, 32, 0, (cudaStream_t)s>>>(y, n); return 0; }\n"));
  EXPECT_FALSE(oob.valid);
  EXPECT_NE(oob.message.find("outside the output buffer"), std::string::npos) << oob.message;

  scorer_->set_timeout(90);
  ScoreResult hang = scorer_->score(
      solution("__global__ void spin() { while (true) {} }\n"
               "extern \"C\" int rebench_prefix_sum(const int32_t*, int32_t*, int64_t, void* s) {\n"
               "  spin<<<1, 1, 0, (cudaStream_t)s>>>(); return 0; }\n"));
  EXPECT_FALSE(hang.valid);
  EXPECT_NE(hang.message.find("timed out"), std::string::npos) << hang.message;
}

TEST_F(OptimizeKernelGpu, WorkHiddenOnASideStreamIsRejected) {
  // Runs the reference algorithm on its own stream and returns at once: the events on the
  // caller's stream see nothing, the device-wide drain after the timed region sees it all.
  const fs::path reference =
      environments_dir() / "optimize_kernel" / "reference" / "h100" / "solution.cu";
  fs::path dir = dir_ / "side";
  fs::create_directories(dir);
  fs::copy_file(reference, dir / "reference_impl.cu");
  std::string impl = testing::read_text(dir / "reference_impl.cu");
  // Rename the reference's entry point so ours can wrap it.
  for (std::size_t at = impl.find("rebench_prefix_sum"); at != std::string::npos;
       at = impl.find("rebench_prefix_sum", at + 1))
    impl.replace(at, 18, "honest_prefix_sum_");
  write_text(dir / "reference_impl.cu", impl);
  write_text(
      dir / "solution.cu",
      "#include <cstdint>\n#include <cuda_runtime.h>\n"
      "extern \"C\" int honest_prefix_sum_(const int32_t*, int32_t*, int64_t, void*);\n"
      "extern \"C\" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void*) {\n"
      "  static cudaStream_t side = nullptr; if (!side) cudaStreamCreateWithFlags(&side, "
      "cudaStreamNonBlocking);\n"
      "  return honest_prefix_sum_(x, y, n, side); }\n");
  ScoreResult r = scorer_->score(dir);
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.message.find("timing rejected"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace rebench
