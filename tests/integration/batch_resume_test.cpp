// `rebench batch` end to end on the test harness: Ctrl-C stops a batch half way (the run in
// progress ends interrupted, the rest never starts, exit 130); the second invocation skips the
// finished run, resumes the interrupted one, restarts one whose directory was left half made,
// starts the rest, and reports it all in its JSON summary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "rebench/errors.hpp"
#include "support/harness_runner.hpp"
#include "support/temp_dir.hpp"

namespace rebench::testing {
namespace {

namespace fs = std::filesystem;

fs::path write_suite(const TempDir& dir) {
  Json suite = {{"name", "resume"},
                {"profile", "cpu"},
                {"runs_dir", (dir / "runs").string()},
                {"time_limits", {"60s"}},
                {"environments", {"test_env"}},
                {"agents",
                 {"noop",
                  {{"label", "sleeper"}, {"spec", "cmd:sleep 3; echo 3 > solution/value.txt"}},
                  "reference",
                  {{"label", "late"}, {"spec", "cmd:echo 5 > solution/value.txt"}}}},
                {"options", {{"anchors", REBENCH_TEST_ANCHORS}}}};
  write_json_atomic(dir / "suite.json", suite);
  return dir / "suite.json";
}

/// Waits until `file` exists and holds JSON with status == `status`.
bool wait_for_status(const fs::path& file, const std::string& status, double timeout_s) {
  for (double waited = 0; waited < timeout_s; waited += 0.05) {
    try {
      if (fs::exists(file) && read_json_file(file).value("status", "") == status) return true;
    } catch (const Error&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(BatchResume, InterruptedBatchResumesOnTheNextInvocation) {
  TempDir dir;
  const fs::path suite = write_suite(dir);
  const fs::path runs = dir / "runs";
  const fs::path noop = runs / "resume-test_env-noop-1m-r1";
  const fs::path sleeper = runs / "resume-test_env-sleeper-1m-r1";
  const fs::path reference = runs / "resume-test_env-reference-1m-r1";
  const fs::path late = runs / "resume-test_env-late-1m-r1";

  pid_t batch = start_process({REBENCH_TEST_HARNESS, "batch", suite.string(), "--parallel", "1"});
  ASSERT_TRUE(wait_for_status(sleeper / "state.json", "running", 120))
      << "the sleeper run never reached its session";
  ASSERT_TRUE(wait_for_status(noop / "result.json", "completed", 1));
  ::kill(batch, SIGINT);
  int status = 0;
  ::waitpid(batch, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_EQ(result_of(sleeper)["status"], "interrupted");
  EXPECT_FALSE(fs::exists(reference)) << "a run started after Ctrl-C";
  const Json first_summary = read_json_file(runs / "resume.batch" / "summary.json");
  EXPECT_EQ(first_summary["interrupted"], true);
  EXPECT_EQ(first_summary["counts"]["not_started"], 2);

  // A run directory left half made (its process died before run.json): started again.
  fs::create_directories(late / "home");

  ProcessResult second = run_harness({"batch", suite.string(), "--json"}, 300);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const Json summary = read_json_file(runs / "resume.batch" / "summary.json");
  EXPECT_EQ(summary["counts"]["completed"], 4);
  EXPECT_EQ(summary["counts"]["skipped"], 1);
  EXPECT_EQ(summary["counts"]["resumed"], 1);
  EXPECT_EQ(summary["counts"]["started"], 2);
  EXPECT_EQ(summary["runs"][0]["action"], "skipped");
  EXPECT_EQ(summary["runs"][1]["action"], "resumed");
  EXPECT_EQ(summary["runs"][2]["action"], "started");
  EXPECT_EQ(summary["runs"][3]["action"], "started");

  const Json resumed = result_of(sleeper);
  EXPECT_EQ(resumed["status"], "completed");
  EXPECT_EQ(resumed["final"]["raw"], 3.0);  // the agent ran again in the remaining budget
  EXPECT_LT(resumed["time"]["used_s"].get<double>(), 60.0);
  EXPECT_EQ(resumed["agent"]["label"], "sleeper");
  EXPECT_EQ(resumed["suite"], "resume");
  EXPECT_NEAR(result_of(reference)["final"]["normalized"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(result_of(late)["final"]["raw"], 5.0);
  const Json record = read_json_file(sleeper / "run.json");
  EXPECT_EQ(record["options"]["label"], "sleeper");
  EXPECT_EQ(record["options"]["suite"], "resume");
  EXPECT_EQ(record["options"]["seed"], summary["runs"][1]["seed"]);
  EXPECT_TRUE(fs::exists(runs / "resume.batch" / "logs" / "resume-test_env-sleeper-1m-r1.log"));

  // Everything is done: a third invocation only skips, and --dry-run says so too.
  ProcessResult third = run_harness({"batch", suite.string(), "--json"}, 120);
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_EQ(read_json_file(runs / "resume.batch" / "summary.json")["counts"]["skipped"], 4);
  ProcessResult dry = run_harness({"batch", suite.string(), "--dry-run"}, 60);
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("resume-test_env-late-1m-r1"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("completed"), std::string::npos) << dry.output;
}

TEST(BatchResume, BusyAndFailingRunsMakeTheBatchIncomplete) {
  TempDir dir;
  const fs::path runs = dir / "runs";
  Json suite = {{"name", "fails"},
                {"profile", "cpu"},
                {"runs_dir", runs.string()},
                {"environments", {"test_env"}},
                {"agents", {"noop", "reference", {{"label", "other"}, {"spec", "cmd:true"}}}},
                {"time_limits", {"10s"}},
                {"options", {{"anchors", REBENCH_TEST_ANCHORS}}}};
  write_json_atomic(dir / "suite.json", suite);
  ProcessResult first = run_harness({"batch", (dir / "suite.json").string()}, 120);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // "reference": as if interrupted, and held by another live process (this test) → busy, left
  // alone.
  const fs::path busy = runs / "fails-test_env-reference-10s-r1";
  write_json_atomic(busy / "state.json", {{"status", "interrupted"}, {"used_s", 1.0}});
  Json interrupted = result_of(busy);
  interrupted["status"] = "interrupted";
  write_json_atomic(busy / "result.json", interrupted);
  int lock = ::open((busy / "run.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);
  // "other": its state says completed but result.json is gone (damaged by hand): resuming it
  // fails, and the batch reports the child's exit code and log.
  fs::remove(runs / "fails-test_env-other-10s-r1" / "result.json");

  ProcessResult result = run_harness({"batch", (dir / "suite.json").string(), "--json"}, 120);
  ::close(lock);
  EXPECT_EQ(result.exit_code, 6) << result.output;
  const Json summary = read_json_file(runs / "fails.batch" / "summary.json");
  EXPECT_EQ(summary["complete"], false);
  EXPECT_EQ(summary["counts"]["completed"], 1);
  EXPECT_EQ(summary["counts"]["skipped"], 1);
  EXPECT_EQ(summary["counts"]["busy"], 1);
  EXPECT_EQ(summary["counts"]["failed"], 1);
  EXPECT_EQ(summary["runs"][1]["status"], "busy");
  EXPECT_EQ(summary["runs"][2]["status"], "failed");
  EXPECT_EQ(summary["runs"][2]["exit_code"], 2);
  EXPECT_NE(read_text(summary["runs"][2]["log"].get<std::string>()).find("nothing to resume"),
            std::string::npos);

  // A bad suite is refused before anything runs (exit 2, file and field named).
  Json bad = suite;
  bad["environments"] = {"test_envv"};
  write_json_atomic(dir / "bad.json", bad);
  ProcessResult refused = run_harness({"batch", (dir / "bad.json").string()}, 60);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("did you mean 'test_env'"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("bad.json: field '/environments/0'"), std::string::npos)
      << refused.output;
}

}  // namespace
}  // namespace rebench::testing
