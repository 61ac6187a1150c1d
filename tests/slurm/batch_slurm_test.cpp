// `rebench batch --backend slurm --wait` against a real Slurm: tests/slurm/local-slurm.sh starts
// munged, slurmctld and slurmd on localhost (root, Debian's slurm-wlm and munge), a small CPU
// suite of the test environment goes through a job array, every run's result.json is checked,
// a second invocation submits nothing, and the daemons are always stopped. Without root or
// Slurm this test FAILS (CI must run it); developers may set REBENCH_ALLOW_SKIP_SLURM=1 to skip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "rebench/process.hpp"
#include "support/harness_runner.hpp"
#include "support/temp_dir.hpp"

namespace rebench::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kScript = fs::path(REBENCH_SOURCE_ROOT) / "tests" / "slurm" / "local-slurm.sh";

/// Starts the local cluster in `dir`; stops it when destroyed, whatever happened in between.
class LocalSlurm {
 public:
  explicit LocalSlurm(fs::path dir) : dir_(std::move(dir)) {
    ProcessResult start = run_process({kScript.string(), "start", dir_.string()}, 120);
    started_ = start.ok();
    output_ = start.output;
    if (started_) ::setenv("SLURM_CONF", (dir_ / "slurm.conf").c_str(), 1);
  }
  ~LocalSlurm() {
    ProcessResult stop = run_process({kScript.string(), "stop", dir_.string()}, 120);
    if (!stop.ok()) ADD_FAILURE() << "stopping the local Slurm failed: " << stop.output;
    ::unsetenv("SLURM_CONF");
  }
  LocalSlurm(const LocalSlurm&) = delete;
  LocalSlurm& operator=(const LocalSlurm&) = delete;
  [[nodiscard]] bool started() const { return started_; }
  [[nodiscard]] const std::string& output() const { return output_; }
  [[nodiscard]] std::string logs() const {
    std::string out;
    for (const char* name : {"slurmctld.log", "slurmd.log"})
      if (fs::exists(dir_ / name))
        out += std::string("--- ") + name + "\n" + read_text(dir_ / name);
    return out;
  }

 private:
  fs::path dir_;
  bool started_ = false;
  std::string output_;
};

/// Why this machine cannot run the test, or "" when it can.
std::string missing_prerequisite() {
  if (::geteuid() != 0) return "not root (the test cluster runs with SlurmUser=root)";
  for (const char* tool : {"munged", "slurmctld", "slurmd", "sbatch", "squeue"})
    if (run_process({"sh", "-c", std::string("command -v ") + tool}, 10).exit_code != 0)
      return std::string(tool) + " not installed (Debian packages slurm-wlm and munge)";
  return "";
}

TEST(BatchSlurm, SuiteRunsThroughAJobArray) {
  if (const std::string missing = missing_prerequisite(); !missing.empty()) {
    const char* allow = std::getenv("REBENCH_ALLOW_SKIP_SLURM");
    if (allow != nullptr && std::string(allow) == "1") GTEST_SKIP() << missing;
    FAIL() << missing << "; set REBENCH_ALLOW_SKIP_SLURM=1 to skip on a developer machine";
  }
  TempDir dir;
  LocalSlurm slurm(dir / "cluster");
  ASSERT_TRUE(slurm.started()) << slurm.output() << slurm.logs();

  const fs::path runs = dir / "runs";
  Json suite = {{"name", "slurmsmoke"},
                {"profile", "cpu"},
                {"runs_dir", runs.string()},
                {"environments", {"test_env"}},
                {"agents", {"noop", "reference"}},
                {"repeats", 2},
                {"time_limits", {"20s"}},
                {"options", {{"anchors", REBENCH_TEST_ANCHORS}}}};
  write_json_atomic(dir / "suite.json", suite);
  const std::vector<std::string> args = {"batch",           (dir / "suite.json").string(),
                                         "--backend",       "slurm",
                                         "--wait",          "--json",
                                         "--cpus-per-task", "1",
                                         "--time-margin",   "5m"};
  ProcessResult first = run_harness(args, 240);
  ASSERT_EQ(first.exit_code, 0) << first.output << slurm.logs();
  const Json summary = read_json_file(runs / "slurmsmoke.batch" / "summary.json");
  EXPECT_EQ(summary["backend"], "slurm");
  EXPECT_EQ(summary["counts"]["completed"], 4);
  EXPECT_EQ(summary["counts"]["submitted"], 4);
  const Json job = read_json_file(runs / "slurmsmoke.batch" / "slurm" / "job.json");
  for (const Json& run : summary["runs"]) {
    const fs::path run_dir = run["run_dir"].get<std::string>();
    const Json result = result_of(run_dir);
    EXPECT_EQ(result["status"], "completed") << run_dir;
    EXPECT_EQ(result["suite"], "slurmsmoke");
    EXPECT_EQ(result["agent"]["label"], run["label"]);
    const double expected = run["label"] == "reference" ? 1.0 : 0.0;
    EXPECT_NEAR(result["final"]["normalized"].get<double>(), expected, 1e-9) << run_dir;
    // Each task wrote its own Slurm log, named by job and array index.
    EXPECT_TRUE(fs::exists(run["log"].get<std::string>())) << run["log"];
    EXPECT_NE(run["log"].get<std::string>().find(job["job_id"].get<std::string>() + "_"),
              std::string::npos);
  }
  EXPECT_NE(std::find(job["sbatch_argv"].begin(), job["sbatch_argv"].end(), "--cpus-per-task=1"),
            job["sbatch_argv"].end());

  // Everything completed: the next invocation submits nothing and skips all four.
  ProcessResult second = run_harness(args, 120);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const Json again = read_json_file(runs / "slurmsmoke.batch" / "summary.json");
  EXPECT_EQ(again["counts"]["skipped"], 4);
  EXPECT_EQ(read_json_file(runs / "slurmsmoke.batch" / "slurm" / "job.json")["job_id"],
            job["job_id"]);
}

}  // namespace
}  // namespace rebench::testing
