// The Slurm backend's pieces that need no cluster: array specs, time limits, the sbatch command
// line and job script, and a clear error when sbatch is missing (the real cluster test is
// tests/slurm/batch_slurm_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "batch/slurm.hpp"
#include "rebench/errors.hpp"
#include "support/temp_dir.hpp"

namespace rebench::batch {
namespace {

BatchPlan plan_with(int gpus) {
  BatchPlan plan;
  plan.suite = "s";
  plan.runs_dir = "/shared/runs";
  for (int i = 0; i < 3; ++i) {
    PlannedRun run;
    run.name = "run" + std::to_string(i);
    run.time_limit_s = 1800 * (i + 1);  // the longest is 1h30m
    run.memory_gb = 2.5;
    run.gpus = gpus;
    plan.runs.push_back(run);
  }
  return plan;
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

TEST(BatchSlurm, ArraySpecs) {
  EXPECT_EQ(array_spec({0, 1, 2, 3, 5, 7, 8}, 2), "0-3,5,7-8%2");
  EXPECT_EQ(array_spec({8, 7, 0, 0}, 0), "0,7-8");
  EXPECT_EQ(array_spec({4}, 0), "4");
}

TEST(BatchSlurm, TimeLimitsRoundUpToMinutes) {
  EXPECT_EQ(slurm_time(3600 + 900), "0-01:15:00");
  EXPECT_EQ(slurm_time(61), "0-00:02:00");
  EXPECT_EQ(slurm_time(25 * 3600), "1-01:00:00");
  EXPECT_EQ(slurm_time(1), "0-00:01:00");
}

TEST(BatchSlurm, SbatchCommandLine) {
  SlurmOptions options;
  options.margin_s = 600;
  options.parallel = 2;
  options.partition = "gpu";
  options.account = "lab";
  options.cpus_per_task = 8;
  options.sbatch_args = {"--qos=high"};
  std::vector<std::string> argv = sbatch_command(plan_with(2), {0, 2}, options, "/x/job.sh");
  EXPECT_EQ(argv.front(), "sbatch");
  EXPECT_EQ(argv.back(), "/x/job.sh");
  EXPECT_TRUE(has(argv, "--parsable"));
  EXPECT_TRUE(has(argv, "--array=0,2%2"));
  EXPECT_TRUE(has(argv, "--time=0-01:40:00"));  // 1h30m of run 2 + 10m margin
  EXPECT_TRUE(has(argv, "--gres=gpu:2"));
  EXPECT_TRUE(has(argv, "--mem=3584M"));  // 2.5 GiB + 1 GiB for the harness
  EXPECT_TRUE(has(argv, "--cpus-per-task=8"));
  EXPECT_TRUE(has(argv, "--partition=gpu"));
  EXPECT_TRUE(has(argv, "--account=lab"));
  EXPECT_TRUE(has(argv, "--output=/shared/runs/s.batch/slurm/logs/%A_%a.out"));
  // Pass-through arguments come after rebench's own, so they win.
  auto qos = std::find(argv.begin(), argv.end(), "--qos=high");
  auto time = std::find(argv.begin(), argv.end(), "--time=0-01:40:00");
  EXPECT_GT(qos, time);

  std::vector<std::string> cpu = sbatch_command(plan_with(0), {1}, SlurmOptions{}, "/x/job.sh");
  EXPECT_TRUE(std::none_of(cpu.begin(), cpu.end(),
                           [](const std::string& a) { return a.rfind("--gres", 0) == 0; }));
  EXPECT_TRUE(std::none_of(cpu.begin(), cpu.end(), [](const std::string& a) {
    return a.rfind("--cpus-per-task", 0) == 0;
  }));
  EXPECT_THROW(sbatch_command(plan_with(0), {}, SlurmOptions{}, "/x/job.sh"), UsageError);
}

TEST(BatchSlurm, JobScriptRunsTheTaskOfItsArrayIndex) {
  BatchPlan plan = plan_with(0);
  plan.runs_dir = "/it's/runs";
  const std::string script = job_script(plan, "/opt/rebench bin/rebench");
  EXPECT_EQ(script.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_NE(script.find("exec '/opt/rebench bin/rebench' batch-task "
                        "'/it'\\''s/runs/s.batch/plan.json' \"$SLURM_ARRAY_TASK_ID\""),
            std::string::npos)
      << script;
}

TEST(BatchSlurm, MissingSbatchIsAClearError) {
  testing::TempDir dir;
  BatchPlan plan = plan_with(0);
  plan.runs_dir = dir.path();
  const char* old = std::getenv("PATH");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("PATH", (dir / "empty-bin").c_str(), 1);
  EXPECT_TRUE(find_in_path("sbatch").empty());
  try {
    submit_array(plan, {0}, SlurmOptions{}, "/bin/true");
    ADD_FAILURE() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("sbatch"), std::string::npos) << e.what();
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_FALSE(find_in_path("sh").empty());
}

TEST(BatchSlurm, FailingSbatchReportsItsOutput) {
  testing::TempDir dir;
  BatchPlan plan = plan_with(0);
  plan.runs_dir = dir / "runs";
  std::filesystem::create_directories(dir / "bin");
  testing::write_text(dir / "bin" / "sbatch",
                      "#!/bin/sh\necho 'sbatch: error: invalid partition specified: nope' >&2\n"
                      "exit 1\n");
  std::filesystem::permissions(dir / "bin" / "sbatch", std::filesystem::perms::owner_all);
  const std::string saved = std::getenv("PATH");
  ::setenv("PATH", ((dir / "bin").string() + ":" + saved).c_str(), 1);
  try {
    submit_array(plan, {0, 1}, SlurmOptions{}, "/bin/true");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid partition"), std::string::npos) << e.what();
  }
  // A fake sbatch that works: the job id is parsed and recorded for the next invocation.
  testing::write_text(dir / "bin" / "sbatch", "#!/bin/sh\necho 'Submitted?' >&2\necho '4242;c1'\n");
  SlurmJob job = submit_array(plan, {0, 1}, SlurmOptions{}, "/bin/true");
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(job.job_id, "4242");
  EXPECT_EQ(job.log_of(1), plan.batch_dir() / "slurm" / "logs" / "4242_1.out");
  std::optional<SlurmJob> recorded = last_job(plan);
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->job_id, "4242");
  EXPECT_EQ(recorded->indexes, (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(std::filesystem::exists(plan.batch_dir() / "slurm" / "job.sh"));
}

}  // namespace
}  // namespace rebench::batch
