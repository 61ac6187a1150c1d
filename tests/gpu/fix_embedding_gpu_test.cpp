// fix_embedding on a CUDA GPU (label gpu): the held-out loss on CUDA equals the CPU's, the
// sandboxed scorer scores on the GPU, and a cmd: agent that builds the repair program and
// retrains the embedding on the GPU improves the score. Needs the prose corpus and the h100 base
// models (the lm_h100_assets fixture prepares them into REBENCH_CACHE) and the h100 profile's c.
#include <gtest/gtest.h>

#include "fix_embedding/assets.hpp"
#include "fix_embedding/model_ops.hpp"
#include "fix_embedding/task_files.hpp"
#include "rebench/gpu_lease.hpp"
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
using testing::result_of;
using testing::run_harness;
using testing::TempDir;

TEST(FixEmbeddingGpu, CudaLossEqualsCpuLoss) {
  const fix_embedding::Assets assets = fix_embedding::load_assets("h100");
  const lm::GptConfig config = assets.config();
  // 24 windows keep the CPU side to seconds; float32 on both devices, no autocast.
  const fix_embedding::HeldoutSet heldout =
      fix_embedding::select_heldout(assets.corpus, 24, config.block_size);
  TempDir dir;
  fix_embedding::write_heldout(dir / "windows.bin", heldout);
  for (const fs::path& model : {assets.large.weights, assets.small.weights}) {
    fix_embedding::LossRequest request;
    request.checkpoint = model;
    request.config = model == assets.large.weights ? config : assets.plan.recipe("small").model;
    request.heldout = dir / "windows.bin";
    request.windows = heldout.windows;
    request.max_bytes = 1u << 30;
    request.batch = 8;
    request.work_dir = dir.path();
    const double cpu = fix_embedding::measure_heldout_loss(request);
    request.cuda = true;
    const double cuda = fix_embedding::measure_heldout_loss(request);
    std::printf("%s: cpu %.6f, cuda %.6f\n", model.string().c_str(), cpu, cuda);
    EXPECT_NEAR(cuda, cpu, 1e-3 * cpu) << model;
  }
}

TEST(FixEmbeddingGpu, SandboxedScorerRunsOnTheGpu) {
  set_worker_executable(REBENCH_TEST_HARNESS);
  const Profile profile = resolve_profile(configs_dir() / "profiles", "h100");
  const Environment& env = builtin_registry().get("fix_embedding");
  GpuLease lease = lease_gpus_for(env, profile, "auto");
  SolutionScorer scorer(env, profile, SandboxMode::kBubblewrap, lease.gpus());
  const ScoreResult start = scorer.score(scorer.starting_solution());
  ASSERT_TRUE(start.valid) << start.message;
  EXPECT_NE(start.device.value("name", "").find("cuda"), std::string::npos) << start.device.dump();
  EXPECT_GT(start.metrics.at(1).value, start.details["clean_loss"].get<double>() + 3.0);
}

TEST(FixEmbeddingGpu, CommandAgentRetrainsTheEmbeddingOnTheGpu) {
  TempDir dir;
  const std::string agent =
      "cmd:cd $HOME/solution && bash build.sh > build.log 2>&1 && "
      "./repair --steps 300 --batch 32 --lr 3e-3 --device cuda > repair.log 2>&1 && score";
  ProcessResult run =
      run_harness({"run", "fix_embedding", "--profile", "h100", "--agent", agent, "--time-limit",
                   "30m", "--network", "none", "--runs-dir", (dir / "runs").string()},
                  3600);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const fs::path home = only_run(dir / "runs") / "home";
  const Json result = result_of(only_run(dir / "runs"));
  EXPECT_TRUE(fs::exists(home / "solution" / "repair"))
      << testing::read_text(home / "solution" / "build.log");
  EXPECT_TRUE(result["final"]["valid"].get<bool>()) << result.dump(2);
  EXPECT_LT(result["final"]["raw"].get<double>(), result["baseline"]["raw"].get<double>())
      << testing::read_text(home / "solution" / "repair.log");
}

}  // namespace
}  // namespace rebench
