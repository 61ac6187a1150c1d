// Score log: round trip, torn last line, version refusal (file untouched), append after repair.
#include <gtest/gtest.h>

#include <cmath>

#include "rebench/errors.hpp"
#include "rebench/score_log.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::write_text;

ScoreLogHeader header() {
  ScoreLogHeader h;
  h.run_id = "run-1";
  h.environment = "test_env";
  h.environment_version = "0.0.1";
  h.created = "2026-11-22T00:00:00.000Z";
  return h;
}

ScoreEntry entry(bool valid, double score) {
  ScoreEntry e;
  e.kind = EntryKind::kAgent;
  e.timestamp = "2026-11-22T00:00:01.000Z";
  e.elapsed_s = 12.5;
  e.scorer_duration_s = 0.25;
  e.metrics = {{"runtime", score, "ms"}};
  e.raw = valid ? score : std::nan("");
  e.score = valid ? score : std::nan("");
  e.valid = valid;
  e.message = valid ? "ok" : "wrong answer";
  e.details = {{"k", 1}};
  e.snapshot_id = "abc";
  e.device = {{"name", "cpu"}};
  return e;
}

TEST(ScoreLog, RoundTripKeepsEveryField) {
  TempDir dir;
  auto writer = ScoreLogWriter::create(dir / "log.jsonl", header());
  writer.append(entry(true, 1.5));
  writer.append(entry(false, 0));
  ScoreLogContents log = read_score_log(dir / "log.jsonl");
  EXPECT_EQ(log.header.run_id, "run-1");
  EXPECT_EQ(log.header.major, 1);
  ASSERT_EQ(log.entries.size(), 2u);
  EXPECT_FALSE(log.torn_tail);
  const ScoreEntry& first = log.entries[0];
  EXPECT_EQ(first.index, 0);
  EXPECT_EQ(first.kind, EntryKind::kAgent);
  EXPECT_DOUBLE_EQ(first.score, 1.5);
  EXPECT_DOUBLE_EQ(first.elapsed_s, 12.5);
  EXPECT_DOUBLE_EQ(first.scorer_duration_s, 0.25);
  EXPECT_EQ(first.metrics.at(0).unit, "ms");
  EXPECT_EQ(first.details["k"], 1);
  EXPECT_EQ(first.snapshot_id, "abc");
  EXPECT_EQ(first.device["name"], "cpu");
  EXPECT_EQ(log.entries[1].index, 1);
  EXPECT_FALSE(log.entries[1].valid);
  EXPECT_TRUE(std::isnan(log.entries[1].score));  // NaN stored as null, read back as NaN
}

TEST(ScoreLog, CreateRefusesExistingFile) {
  TempDir dir;
  write_text(dir / "log.jsonl", "keep me");
  EXPECT_THROW(ScoreLogWriter::create(dir / "log.jsonl", header()), Error);
  EXPECT_EQ(read_text(dir / "log.jsonl"), "keep me");
}

TEST(ScoreLog, TornLastLineIsIgnoredAndRepairedOnAppend) {
  TempDir dir;
  {
    auto writer = ScoreLogWriter::create(dir / "log.jsonl", header());
    writer.append(entry(true, 3.0));
  }
  std::string before = read_text(dir / "log.jsonl");
  write_text(dir / "log.jsonl", before + R"({"index": 1, "kind": "ag)");
  ScoreLogContents log = read_score_log(dir / "log.jsonl");
  EXPECT_TRUE(log.torn_tail);
  ASSERT_EQ(log.entries.size(), 1u);

  auto writer = ScoreLogWriter::open(dir / "log.jsonl");
  EXPECT_EQ(writer.next_index(), 1);
  writer.append(entry(true, 2.0));
  ScoreLogContents repaired = read_score_log(dir / "log.jsonl");
  EXPECT_FALSE(repaired.torn_tail);
  ASSERT_EQ(repaired.entries.size(), 2u);
  EXPECT_DOUBLE_EQ(repaired.entries[1].score, 2.0);
  EXPECT_NE(read_text(dir.path() / "log.jsonl.torn").find("\"kind\": \"ag"), std::string::npos);
}

TEST(ScoreLog, CorruptionBeforeTheLastLineIsAnError) {
  TempDir dir;
  write_text(dir / "log.jsonl",
             header().to_json().dump() + "\nnot json\n" + entry(true, 1).to_json().dump() + "\n");
  EXPECT_THROW(read_score_log(dir / "log.jsonl"), Error);
}

TEST(ScoreLog, UnknownMajorVersionIsRefusedAndFileUntouched) {
  TempDir dir;
  std::string text = R"({"format": "rebench-score-log", "version": "2.0", "run_id": "x"})"
                     "\n";
  write_text(dir / "log.jsonl", text);
  try {
    read_score_log(dir / "log.jsonl");
    FAIL() << "a version-2 log must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 2.0"), std::string::npos);
  }
  EXPECT_THROW(ScoreLogWriter::open(dir / "log.jsonl"), Error);
  EXPECT_EQ(read_text(dir / "log.jsonl"), text);
}

TEST(ScoreLog, NewerMinorVersionIsRead) {
  TempDir dir;
  write_text(dir / "log.jsonl", R"({"format": "rebench-score-log", "version": "1.7"})"
                                "\n" +
                                    entry(true, 4).to_json().dump() + "\n");
  ScoreLogContents log = read_score_log(dir / "log.jsonl");
  EXPECT_EQ(log.header.minor, 7);
  EXPECT_EQ(log.entries.size(), 1u);
}

TEST(ScoreLog, EveryAppendIsOnDiskAsACompleteLine) {
  // The fsync path: after append() returns, an independent reader sees the whole entry.
  TempDir dir;
  auto writer = ScoreLogWriter::create(dir / "log.jsonl", header());
  for (int i = 0; i < 5; ++i) {
    writer.append(entry(true, i));
    std::string text = read_text(dir / "log.jsonl");
    ASSERT_EQ(text.back(), '\n');
    EXPECT_EQ(read_score_log(dir / "log.jsonl").entries.size(), static_cast<size_t>(i + 1));
  }
}

TEST(ScoreLog, MissingNewlineAfterCompleteEntryIsTerminatedBeforeAppend) {
  TempDir dir;
  write_text(dir / "log.jsonl", header().to_json().dump() + "\n" + entry(true, 1).to_json().dump());
  auto writer = ScoreLogWriter::open(dir / "log.jsonl");
  writer.append(entry(true, 0.5));
  ScoreLogContents log = read_score_log(dir / "log.jsonl");
  ASSERT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(log.entries[1].index, 1);
}

TEST(ScoreLog, InvalidUtf8InAMessageIsReplacedNotFatal) {
  // Messages carry solution output; bytes that are not UTF-8 must not abort the append.
  TempDir dir;
  auto writer = ScoreLogWriter::create(dir / "log.jsonl", header());
  ScoreEntry e = entry(false, 0);
  e.message = "crashed; last output: \xff\xfe";
  EXPECT_NO_THROW(writer.append(e));
  ScoreLogContents log = read_score_log(dir / "log.jsonl");
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_NE(log.entries[0].message.find("crashed"), std::string::npos);
}

TEST(ScoreLog, CompleteButUnknownLastEntryIsRefusedNotTruncated) {
  TempDir dir;
  std::string text = header().to_json().dump() + "\n" + entry(true, 1).to_json().dump() + "\n" +
                     R"({"index": 1, "kind": "from-the-future"})" + "\n";
  write_text(dir / "log.jsonl", text);
  EXPECT_THROW(read_score_log(dir / "log.jsonl"), Error);
  EXPECT_THROW(ScoreLogWriter::open(dir / "log.jsonl"), Error);
  EXPECT_EQ(read_text(dir / "log.jsonl"), text);
}

}  // namespace
}  // namespace rebench
