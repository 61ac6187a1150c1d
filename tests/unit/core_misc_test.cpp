// Small core pieces: SHA-256 vectors, durations, run ids and run-directory locking, atomic writes.
#include <gtest/gtest.h>

#include <set>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/process.hpp"
#include "rebench/run_dir.hpp"
#include "rebench/sha256.hpp"
#include "rebench/time_util.hpp"
#include "rebench/worker_phase.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

using testing::TempDir;

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Duration, ParsesAndRejects) {
  EXPECT_DOUBLE_EQ(parse_duration("90"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("90s"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("30m"), 1800);
  EXPECT_DOUBLE_EQ(parse_duration("8h"), 28800);
  EXPECT_DOUBLE_EQ(parse_duration("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h"), 5400);
  EXPECT_THROW(parse_duration(""), UsageError);
  EXPECT_THROW(parse_duration("soon"), UsageError);
  EXPECT_THROW(parse_duration("5d"), UsageError);
  EXPECT_EQ(format_duration(3723), "1h02m03s");
}

TEST(RunDir, UniqueIdsAndExclusiveLock) {
  TempDir dir;
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.insert(make_run_id("optimize_kernel"));
  EXPECT_EQ(ids.size(), 20u);

  RunDir run = RunDir::create(dir.path(), "test_env");
  EXPECT_TRUE(std::filesystem::is_directory(run.home()));
  EXPECT_TRUE(std::filesystem::is_directory(run.private_dir()));
  write_json_atomic(run.run_json(), {{"x", 1}});
  // A second driver of the same run directory is refused while the first holds it.
  EXPECT_THROW(RunDir::open(run.root()), Error);
  std::filesystem::path root = run.root();
  { RunDir moved = std::move(run); }
  EXPECT_NO_THROW(RunDir::open(root));
}

TEST(AtomicWrite, ReplacesWholeFileAndLeavesNoTemporaries) {
  TempDir dir;
  write_json_atomic(dir / "a.json", {{"v", 1}});
  write_json_atomic(dir / "a.json", {{"v", 2}});
  EXPECT_EQ(read_json_file(dir / "a.json")["v"], 2);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
    ++files;
  EXPECT_EQ(files, 1);
}

TEST(Process, CapturesOutputExitCodeSignalAndTimeout) {
  ProcessResult ok = run_process({"sh", "-c", "echo hello; exit 3"}, 10);
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(ok.output, "hello\n");
  ProcessResult killed = run_process({"sh", "-c", "kill -SEGV $$"}, 10);
  EXPECT_EQ(killed.signal, SIGSEGV);
  EXPECT_EQ(killed.describe(), "killed by SIGSEGV");
  ProcessResult slow = run_process({"sleep", "30"}, 0.5);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_LT(slow.duration_s, 5);
}

TEST(WorkerPhase, LastPhaseWins) {
  EXPECT_EQ(last_phase("x\n@@rebench-phase build\nnoise\n@@rebench-phase measure\n"), "measure");
  EXPECT_EQ(last_phase("nothing"), "");
}

}  // namespace
}  // namespace rebench
