// Run-directory inspection (what a batch skips, resumes or restarts) and the score so far shown
// while a run is in progress; a summary's counts and exit code follow from the same files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include "batch/run_state.hpp"
#include "batch/summary.hpp"
#include "rebench/score_log.hpp"
#include "support/temp_dir.hpp"

namespace rebench::batch {
namespace {

namespace fs = std::filesystem;

/// A run directory as the harness leaves it: run.json, a score log, state.json and maybe a result.
void make_run(const fs::path& dir, const std::string& state, const std::string& result_status,
              bool valid = true) {
  fs::create_directories(dir);
  write_json_atomic(dir / "run.json", {{"run_id", dir.filename().string()}});
  ScoreLogWriter log =
      ScoreLogWriter::create(dir / "score_log.jsonl", {"id", "test_env", "0", "t"});
  if (!state.empty()) write_json_atomic(dir / "state.json", {{"status", state}, {"used_s", 12.0}});
  if (!result_status.empty())
    write_json_atomic(dir / "result.json", {{"status", result_status},
                                            {"final",
                                             {{"valid", valid},
                                              {"score", valid ? Json(3.0) : Json(nullptr)},
                                              {"normalized", valid ? Json(0.875) : Json(0.0)},
                                              {"reason", valid ? "" : "no valid score"}}},
                                            {"time", {{"used_s", 12.0}}}});
}

TEST(BatchRunState, ClassifiesRunDirectories) {
  testing::TempDir dir;
  EXPECT_EQ(inspect_run(dir / "absent").state, RunState::kAbsent);

  fs::create_directories(dir / "half" / "home");  // died between mkdir and run.json
  EXPECT_EQ(inspect_run(dir / "half").state, RunState::kStale);
  fs::create_directories(dir / "unprovisioned");
  write_json_atomic(dir / "unprovisioned" / "run.json", Json::object());
  EXPECT_EQ(inspect_run(dir / "unprovisioned").state, RunState::kStale);

  make_run(dir / "done", "completed", "completed");
  RunInspection done = inspect_run(dir / "done");
  EXPECT_EQ(done.state, RunState::kCompleted);
  EXPECT_EQ(done.result["final"]["score"], 3.0);

  make_run(dir / "interrupted", "interrupted", "interrupted");
  EXPECT_EQ(inspect_run(dir / "interrupted").state, RunState::kResumable);
  make_run(dir / "crashed", "running", "");  // its process died without a word
  EXPECT_EQ(inspect_run(dir / "crashed").state, RunState::kResumable);
  make_run(dir / "no-state", "", "");  // died after the baseline, before the session
  EXPECT_EQ(inspect_run(dir / "no-state").state, RunState::kResumable);
}

TEST(BatchRunState, ALiveLockHolderMakesARunBusy) {
  testing::TempDir dir;
  make_run(dir / "held", "running", "");
  int fd = ::open((dir / "held" / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_TRUE(lock_is_held(dir / "held" / "run.lock"));
  EXPECT_EQ(inspect_run(dir / "held").state, RunState::kBusy);
  ::close(fd);  // the holder is gone: resumable again
  EXPECT_FALSE(lock_is_held(dir / "held" / "run.lock"));
  EXPECT_EQ(inspect_run(dir / "held").state, RunState::kResumable);
  EXPECT_FALSE(lock_is_held(dir / "no-such-file"));
  // A completed run stays completed whoever holds its lock.
  make_run(dir / "done", "completed", "completed");
  fd = ::open((dir / "done" / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(inspect_run(dir / "done").state, RunState::kCompleted);
  // A directory being created right now (locked, no run.json yet) is not stale.
  fs::create_directories(dir / "creating");
  int creating =
      ::open((dir / "creating" / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_EQ(::flock(creating, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(inspect_run(dir / "creating").state, RunState::kBusy);
  ::close(creating);
  ::close(fd);
}

TEST(BatchRunState, ScoreSoFarFollowsTheSelectionRule) {
  testing::TempDir dir;
  fs::create_directories(dir / "run");
  EnvironmentInfo info;
  info.direction = Direction::kLowerIsBetter;
  info.selection = Selection::kBestValid;
  EXPECT_EQ(score_so_far(dir / "run", info).entries, 0);  // no log yet
  ScoreLogWriter log =
      ScoreLogWriter::create(dir / "run" / "score_log.jsonl", {"id", "test_env", "0", "t"});
  for (double v : {10.0, 4.0, 7.0}) {
    ScoreEntry e;
    e.valid = true;
    e.raw = e.score = v;
    log.append(e);
  }
  ScoreEntry invalid;
  invalid.raw = invalid.score = std::nan("");
  log.append(invalid);
  ScoreSoFar best = score_so_far(dir / "run", info);
  EXPECT_EQ(best.entries, 4);
  ASSERT_TRUE(best.score);
  EXPECT_EQ(*best.score, 4.0);
  info.selection = Selection::kLastValid;
  EXPECT_EQ(*score_so_far(dir / "run", info).score, 7.0);
}

TEST(BatchSummary, CountsStatusesAndSetsTheExitCode) {
  testing::TempDir dir;
  BatchPlan plan;
  plan.suite = "s";
  plan.runs_dir = dir.path();
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    PlannedRun run;
    run.name = name;
    run.environment = "test_env";
    run.label = "noop";
    plan.runs.push_back(run);
  }
  make_run(dir / "a", "completed", "completed");
  make_run(dir / "b", "completed", "completed", /*valid=*/false);
  make_run(dir / "c", "completed", "completed");
  std::vector<RunRecord> records(5);
  records[0].action = "skipped";
  records[1].action = "started";
  records[1].exit_code = 4;
  records[2].action = "resumed";
  records[2].exit_code = 0;
  records[3].action = "started";
  records[3].exit_code = 1;  // crashed: no result.json
  records[4].action = "busy";
  Json summary = build_summary(plan, records, "local", false);
  const Json& c = summary["counts"];
  EXPECT_EQ(c["completed"], 3);
  EXPECT_EQ(c["invalid"], 1);
  EXPECT_EQ(c["failed"], 1);
  EXPECT_EQ(c["busy"], 1);
  EXPECT_EQ(c["skipped"], 1);
  EXPECT_EQ(c["started"], 2);
  EXPECT_EQ(c["resumed"], 1);
  EXPECT_EQ(summary["runs"][3]["status"], "failed");
  EXPECT_EQ(summary["runs"][1]["final"]["valid"], false);
  EXPECT_EQ(summary_exit_code(summary), ExitCode::kIncomplete);
  EXPECT_NE(format_summary(summary).find("1 completed without a valid score"), std::string::npos)
      << format_summary(summary);

  // Invalid final scores are data, not a failure: all completed → 0.
  plan.runs.resize(3);
  records.resize(3);
  EXPECT_EQ(summary_exit_code(build_summary(plan, records, "local", false)), ExitCode::kOk);
  EXPECT_EQ(summary_exit_code(build_summary(plan, records, "local", true)), ExitCode::kInterrupted);
}

}  // namespace
}  // namespace rebench::batch
