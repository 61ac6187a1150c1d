// Sessions end to end with the test environment: built-in agents, cmd agents, the score door,
// the sandbox's walls, deadlines, crashes and hangs (of agents and of scorers), resume.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "rebench/score_log.hpp"
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
using testing::test_run_args;

TEST(Session, NoopNormalisesToZero) {
  TempDir dir;
  ProcessResult run = run_harness(test_run_args(dir.path(), "noop", "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_EQ(result["status"], "completed");
  EXPECT_TRUE(result["final"]["valid"].get<bool>());
  EXPECT_DOUBLE_EQ(result["final"]["raw"].get<double>(), 10.0);
  EXPECT_NEAR(result["final"]["normalized"].get<double>(), 0.0, 1e-9);
  EXPECT_EQ(result["schema_version"], "1.0");
  EXPECT_TRUE(result["sandbox"]["protected"].get<bool>());
}

TEST(Session, ReferenceAgentNormalisesToOneAndIsMarkedSelfTest) {
  TempDir dir;
  ProcessResult run = run_harness(test_run_args(dir.path(), "reference", "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_NEAR(result["final"]["normalized"].get<double>(), 1.0, 1e-9);
  EXPECT_TRUE(result["agent"]["self_test"].get<bool>());
  EXPECT_EQ(result["score_calls"], 1);
}

TEST(Session, CommandAgentScoresThroughTheDoorAndBestEntryCounts) {
  TempDir dir;
  // Two improvements and one regression; the best (4) must count, with its entry index.
  std::string agent =
      "cmd:cd $HOME && test -r \"$REBENCH_INSTRUCTIONS\" && echo 6 > solution/value.txt && score "
      "&& "
      "echo 4 > solution/value.txt && score --json > last.json && echo 8 > solution/value.txt && "
      "score && score-log > log.txt && time-left > left.txt";
  ProcessResult run = run_harness(test_run_args(dir.path(), agent, "2m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path run_dir = only_run(dir.path());
  Json result = result_of(run_dir);
  EXPECT_EQ(result["score_calls"], 3);
  EXPECT_DOUBLE_EQ(result["final"]["raw"].get<double>(), 4.0);
  EXPECT_EQ(result["final"]["entry_index"], 2);
  EXPECT_NEAR(result["final"]["normalized"].get<double>(), (10.0 - 4.0) / 8.0, 1e-9);
  Json last = Json::parse(read_text(run_dir / "home" / "last.json"));
  EXPECT_EQ(last["entry"]["score"], 4.0);
  EXPECT_NE(read_text(run_dir / "home" / "log.txt").find("scored 6"), std::string::npos);
  EXPECT_NE(read_text(run_dir / "home" / "left.txt").find("left"), std::string::npos);
  // Every call left a snapshot of what was scored.
  ScoreLogContents log = read_score_log(run_dir / "score_log.jsonl");
  ASSERT_EQ(log.entries.size(), 5u);  // baseline, 3 agent calls, final
  for (const ScoreEntry& e : log.entries)
    EXPECT_TRUE(fs::exists(run_dir / "snapshots" / e.snapshot_id));
  EXPECT_EQ(read_text(run_dir / "snapshots" / log.entries[2].snapshot_id / "value.txt"), "4\n");
}

TEST(Session, AgentCannotSeeHarnessFilesNorWriteTheScoreLog) {
  TempDir dir;
  fs::path runs = dir / "runs";
  fs::create_directories(runs);
  // The agent tries every path it must not reach, from inside the sandbox, and records what it
  // managed. Paths are the host's real ones.
  std::string probe = "cmd:cd $HOME; for p in " + runs.string() + " " +
                      std::string(REBENCH_SOURCE_ROOT) +
                      " /root/.cache/rebench /tmp/rebench-gpu-locks; do "
                      "if ls \"$p\" >/dev/null 2>&1; then echo \"SEEN $p\"; fi; done > probe.txt; "
                      "find / -name score_log.jsonl 2>/dev/null >> probe.txt; "
                      "find / -name secret.txt 2>/dev/null >> probe.txt; "
                      "find / -path '*test_reference*' 2>/dev/null >> probe.txt; "
                      "echo forged >> /run/rebench/../score_log.jsonl 2>/dev/null; "
                      "id -u > uid.txt; true";
  ProcessResult run = run_harness(test_run_args(runs, probe, "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path run_dir = only_run(runs);
  EXPECT_EQ(read_text(run_dir / "home" / "probe.txt"), "") << "the agent reached harness files";
  if (::geteuid() == 0) EXPECT_EQ(read_text(run_dir / "home" / "uid.txt"), "65534\n");
  ScoreLogContents log = read_score_log(run_dir / "score_log.jsonl");  // still well-formed
  EXPECT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(read_text(run_dir / "score_log.jsonl").find("forged"), std::string::npos);
}

TEST(Session, LinksInTheSolutionAreRefusedAndHarnessDescriptorsDoNotLeak) {
  TempDir dir;
  std::string agent =
      "cmd:cd $HOME; ls -l /proc/self/fd > fds.txt; "
      "ln -s ../instructions.md solution/value.txt.link; score --json > inner.json; "
      "rm solution/value.txt.link; mv solution real; ln -s real solution; score --json > "
      "outer.json; "
      "rm solution; mv real solution; echo 4 > solution/value.txt";
  ProcessResult run = run_harness(test_run_args(dir.path(), agent, "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path run_dir = only_run(dir.path());
  Json inner = Json::parse(read_text(run_dir / "home" / "inner.json"));
  EXPECT_FALSE(inner["entry"]["valid"].get<bool>());
  EXPECT_NE(inner["entry"]["message"].get<std::string>().find("symbolic link"), std::string::npos)
      << inner;
  Json outer = Json::parse(read_text(run_dir / "home" / "outer.json"));
  EXPECT_FALSE(outer["entry"]["valid"].get<bool>());
  EXPECT_NE(outer["entry"]["message"].get<std::string>().find("link"), std::string::npos) << outer;
  EXPECT_EQ(result_of(run_dir)["final"]["raw"], 4.0);
  // Only stdio and the listing's own directory descriptor: no harness log, no sockets.
  std::string fds = read_text(run_dir / "home" / "fds.txt");
  EXPECT_EQ(fds.find("harness.log"), std::string::npos) << fds;
  EXPECT_EQ(fds.find("socket:"), std::string::npos) << fds;
}

TEST(Session, DaemonsAndDoubleForksDieAtTheDeadlineWhichHoldsWithinTwoSeconds) {
  TempDir dir;
  // Heartbeats are written to a temporary file and renamed, so a SIGKILL mid-write never leaves
  // an empty heartbeat behind.
  std::string agent =
      "cmd:cd $HOME; date +%s.%N > start; "
      "setsid sh -c 'trap \"\" TERM; while true; do date +%s.%N > hb_setsid.t && mv hb_setsid.t "
      "hb_setsid; sleep 0.1; done' & "
      "( sh -c 'trap \"\" TERM; while true; do date +%s.%N > hb_double.t && mv hb_double.t "
      "hb_double; sleep 0.1; done' & ) ; "
      "trap '' TERM; while true; do date +%s.%N > hb_main.t && mv hb_main.t hb_main; sleep 0.1; "
      "done";
  ProcessResult run = run_harness(test_run_args(dir.path(), agent, "3s"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path home = only_run(dir.path()) / "home";
  Json result = result_of(home.parent_path());
  EXPECT_EQ(result["agent"]["ended_by"], "deadline");
  const double start = std::stod(read_text(home / "start"));
  std::string before_setsid = read_text(home / "hb_setsid"),
              before_double = read_text(home / "hb_double");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(read_text(home / "hb_setsid"), before_setsid)
      << "a setsid daemon survived the deadline";
  EXPECT_EQ(read_text(home / "hb_double"), before_double) << "a double-forked process survived";
  for (const char* hb : {"hb_main", "hb_setsid", "hb_double"}) {
    std::string text = read_text(home / hb);
    ASSERT_FALSE(text.empty()) << hb;
    EXPECT_LE(std::stod(text) - start, 3.0 + 2.0) << hb << " kept running past the deadline";
  }
}

TEST(Session, CrashingAgentStillGetsAResult) {
  TempDir dir;
  ProcessResult run = run_harness(
      test_run_args(dir.path(), "cmd:echo 3 > $HOME/solution/value.txt; kill -SEGV $$", "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_EQ(result["agent"]["ended_by"], "agent exited");
  EXPECT_EQ(result["final"]["raw"], 3.0);  // the final score saw the agent's last work
}

TEST(Session, ForkBombIsContainedAndTheRunCompletes) {
  TempDir dir;
  ProcessResult run =
      run_harness(test_run_args(dir.path(), "cmd:b() { b | b & }; b; sleep 100", "4s"), 120);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_EQ(result["status"], "completed");
  EXPECT_TRUE(result["final"]["valid"].get<bool>());
}

TEST(Session, ScorerCrashAndHangBecomeInvalidEntriesWithReasons) {
  TempDir dir;
  std::string agent =
      "cmd:cd $HOME; echo crash > solution/value.txt; score --json > crash.json; "
      "echo hang > solution/value.txt; score --json > hang.json; "
      "echo nonsense > solution/value.txt; score --json > bad.json; echo 5 > solution/value.txt";
  std::vector<std::string> args = test_run_args(dir.path(), agent, "1m");
  args.insert(args.end(), {"--score-timeout", "3s"});
  ProcessResult run = run_harness(args);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path run_dir = only_run(dir.path());
  Json crash = Json::parse(read_text(run_dir / "home" / "crash.json"));
  EXPECT_FALSE(crash["entry"]["valid"].get<bool>());
  EXPECT_NE(crash["entry"]["message"].get<std::string>().find("SIGABRT"), std::string::npos)
      << crash;
  Json hang = Json::parse(read_text(run_dir / "home" / "hang.json"));
  EXPECT_FALSE(hang["entry"]["valid"].get<bool>());
  EXPECT_NE(hang["entry"]["message"].get<std::string>().find("timed out"), std::string::npos)
      << hang;
  Json bad = Json::parse(read_text(run_dir / "home" / "bad.json"));
  EXPECT_FALSE(bad["entry"]["valid"].get<bool>());
  Json result = result_of(run_dir);
  EXPECT_EQ(result["invalid_score_calls"], 3);
  EXPECT_EQ(result["final"]["raw"], 5.0);
}

TEST(Session, BrokenFinalSolutionFallsBackToTheBestValidEntry) {
  TempDir dir;
  ProcessResult run =
      run_harness(test_run_args(dir.path(), "cmd:echo nonsense > $HOME/solution/value.txt", "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_EQ(result["final"]["raw"], 10.0);
  EXPECT_EQ(result["final"]["normalized"], 0.0);
}

TEST(Session, ConcurrentScoreCallsQueue) {
  TempDir dir;
  std::string agent =
      "cmd:cd $HOME; echo 7 > solution/value.txt; (score > a.txt 2>&1 &); (score > b.txt 2>&1 &); "
      "score > c.txt 2>&1; sleep 1; wait";
  ProcessResult run = run_harness(test_run_args(dir.path(), agent, "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path run_dir = only_run(dir.path());
  ScoreLogContents log = read_score_log(run_dir / "score_log.jsonl");
  int agent_entries = 0;
  for (const ScoreEntry& e : log.entries) agent_entries += e.kind == EntryKind::kAgent ? 1 : 0;
  EXPECT_EQ(agent_entries, 3);
  std::string all = read_text(run_dir / "home" / "a.txt") + read_text(run_dir / "home" / "b.txt") +
                    read_text(run_dir / "home" / "c.txt");
  EXPECT_NE(all.find("waiting"), std::string::npos) << all;
}

TEST(Session, InterruptThenResumeContinuesWithTheRemainingBudget) {
  TempDir dir;
  std::vector<std::string> argv = {REBENCH_TEST_HARNESS};
  for (const std::string& a :
       test_run_args(dir.path(), "cmd:echo 6 > $HOME/solution/value.txt; score; sleep 100", "8s"))
    argv.push_back(a);
  pid_t pid = testing::start_process(argv);
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  fs::path run_dir = only_run(dir.path());
  Json interrupted = result_of(run_dir);
  EXPECT_EQ(interrupted["status"], "interrupted");
  const double used = read_json_file(run_dir / "state.json")["used_s"].get<double>();
  EXPECT_GT(used, 1.0);
  EXPECT_LT(used, 5.0);

  ProcessResult resumed = run_harness({"resume", run_dir.string()}, 60);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  Json result = result_of(run_dir);
  EXPECT_EQ(result["status"], "completed");
  EXPECT_EQ(result["agent"]["ended_by"], "deadline");
  EXPECT_NEAR(result["time"]["used_s"].get<double>(), 8.0, 2.0);
  ScoreLogContents log = read_score_log(run_dir / "score_log.jsonl");
  int baselines = 0;
  for (const ScoreEntry& e : log.entries) baselines += e.kind == EntryKind::kBaseline ? 1 : 0;
  EXPECT_EQ(baselines, 1);
  EXPECT_DOUBLE_EQ(result["final"]["raw"].get<double>(), 6.0);
  // A completed run cannot be resumed again.
  EXPECT_EQ(run_harness({"resume", run_dir.string()}, 30).exit_code, 2);
}

TEST(Session, ReplayReproducesTheRecordedScoreCurve) {
  TempDir dir;
  fs::path first = dir / "first", second = dir / "second";
  fs::create_directories(first);
  fs::create_directories(second);
  ProcessResult run = run_harness(test_run_args(first,
                                                "cmd:cd $HOME; echo 7 > solution/value.txt; score; "
                                                "sleep 1; echo 3 > solution/value.txt; score",
                                                "1m"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  fs::path recorded = only_run(first);
  ProcessResult replay = run_harness(test_run_args(second, "replay:" + recorded.string(), "1m"));
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  ScoreLogContents a = read_score_log(recorded / "score_log.jsonl");
  ScoreLogContents b = read_score_log(only_run(second) / "score_log.jsonl");
  std::vector<double> original, replayed;
  for (const ScoreEntry& e : a.entries)
    if (e.kind == EntryKind::kAgent) original.push_back(e.score);
  for (const ScoreEntry& e : b.entries)
    if (e.kind == EntryKind::kReplay) replayed.push_back(e.score);
  EXPECT_EQ(original, replayed);
  EXPECT_EQ(original, (std::vector<double>{7.0, 3.0}));
}

TEST(Session, UnchargedScoreTimeExtendsTheWallClockNotTheBudget) {
  TempDir dir;
  // The first score call hangs until the 2 s scoring limit; with --exclude-score-time those 2 s
  // are not charged, and the agent is frozen while they pass.
  std::vector<std::string> args = test_run_args(
      dir.path(),
      "cmd:cd $HOME; echo hang > solution/value.txt; score; echo 5 > solution/value.txt; sleep 100",
      "4s");
  args.insert(args.end(), {"--exclude-score-time", "--score-timeout", "2s"});
  const auto start = std::chrono::steady_clock::now();
  ProcessResult run = run_harness(args);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_EQ(result["agent"]["ended_by"], "deadline");
  EXPECT_NEAR(result["time"]["used_s"].get<double>(), 4.0, 0.5);
  EXPECT_FALSE(result["time"]["score_time_counted"].get<bool>());
  EXPECT_GT(wall, 5.5);  // 4 s of budget + 2 s of uncharged scoring
  EXPECT_EQ(result["final"]["raw"], 5.0);
}

TEST(Session, RebuildingRebenchDuringARunDoesNotBreakItsScoring) {
  TempDir dir;
  // Run a private copy of the harness, and replace that file mid-run the way a build does
  // (write a new file, rename it over the old one).
  fs::path harness = dir / "rebench-test-harness";
  fs::copy_file(REBENCH_TEST_HARNESS, harness);
  fs::create_directory_symlink(fs::path(REBENCH_TEST_HARNESS).parent_path() / "sandbox-tools",
                               dir / "sandbox-tools");
  fs::create_directories(dir / "runs");
  std::vector<std::string> argv = {harness.string()};
  for (const std::string& a : test_run_args(
           dir / "runs",
           "cmd:cd $HOME; score; sleep 3; echo 3 > solution/value.txt; score --json > second.json",
           "1m"))
    argv.push_back(a);
  pid_t pid = testing::start_process(argv);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  fs::copy_file(REBENCH_TEST_HARNESS, dir / "rebuilt");
  fs::rename(dir / "rebuilt", harness);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  fs::path run_dir = only_run(dir / "runs");
  Json second = Json::parse(read_text(run_dir / "home" / "second.json"));
  EXPECT_TRUE(second["entry"]["valid"].get<bool>()) << second;
  EXPECT_EQ(result_of(run_dir)["final"]["raw"], 3.0);
}

TEST(Session, UnsandboxedRunIsRecordedAsUnprotected) {
  TempDir dir;
  std::vector<std::string> args = test_run_args(dir.path(), "noop", "1m");
  args.insert(args.end(), {"--sandbox", "none"});
  ProcessResult run = run_harness(args);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Json result = result_of(only_run(dir.path()));
  EXPECT_FALSE(result["sandbox"]["protected"].get<bool>());
  EXPECT_NE(run.output.find("UNPROTECTED"), std::string::npos);
}

TEST(Session, BadAgentSpecIsAUsageError) {
  TempDir dir;
  EXPECT_EQ(run_harness(test_run_args(dir.path(), "telepathy", "1m")).exit_code, 2);
  EXPECT_EQ(run_harness({"run", "test_env", "--runs-dir", dir.path().string()}).exit_code, 2);
  EXPECT_EQ(run_harness({"run", "tset_env", "--agent", "noop", "--runs-dir", dir.path().string()})
                .exit_code,
            3);
}

}  // namespace
}  // namespace rebench
