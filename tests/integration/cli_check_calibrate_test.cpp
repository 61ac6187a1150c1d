// `calibrate` writes anchors with provenance; `check` passes against them (exit 0) and fails with
// exit 5 when the anchors have drifted; missing anchors are an anchor-check failure too.
#include <gtest/gtest.h>

#include "rebench/anchors.hpp"
#include "support/harness_runner.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

using testing::run_harness;
using testing::TempDir;

TEST(CheckAndCalibrate, CalibrateThenCheckPassesAndDriftFails) {
  TempDir dir;
  const std::string anchors = (dir / "anchors.json").string();
  ProcessResult calibrate = run_harness({"calibrate", "test_env", "--profile", "cpu", "--repeats",
                                         "2", "--write", anchors, "--json"});
  ASSERT_EQ(calibrate.exit_code, 0) << calibrate.output;
  AnchorTable table = AnchorTable::load(anchors);
  const AnchorPair* pair = table.find("test_env", "cpu");
  ASSERT_NE(pair, nullptr);
  EXPECT_DOUBLE_EQ(pair->starting.raw, 10.0);
  EXPECT_DOUBLE_EQ(pair->reference.raw, 2.0);
  EXPECT_FALSE(pair->reference.hardware.empty());
  EXPECT_FALSE(pair->reference.commit.empty());

  ProcessResult check =
      run_harness({"check", "test_env", "--profile", "cpu", "--anchors", anchors, "--json"});
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("\"passed\": true"), std::string::npos) << check.output;

  // Anchors that no longer match this machine: the reference normalises far from 1.
  table.set(
      "test_env", "cpu",
      {{10.0, "elsewhere", "2026-01-01", "old", ""}, {6.0, "elsewhere", "2026-01-01", "old", ""}});
  table.save(anchors);
  ProcessResult drift =
      run_harness({"check", "test_env", "--profile", "cpu", "--anchors", anchors});
  EXPECT_EQ(drift.exit_code, 5) << drift.output;
  EXPECT_NE(drift.output.find("OUT OF TOLERANCE"), std::string::npos) << drift.output;
}

TEST(CheckAndCalibrate, MissingAnchorsIsAnAnchorCheckFailure) {
  TempDir dir;
  AnchorTable().save(dir / "empty.json");
  ProcessResult check = run_harness(
      {"check", "test_env", "--profile", "cpu", "--anchors", (dir / "empty.json").string()});
  EXPECT_EQ(check.exit_code, 5) << check.output;
  EXPECT_NE(check.output.find("rebench calibrate"), std::string::npos) << check.output;
}

TEST(CheckAndCalibrate, MalformedAnchorFileIsAUsageErrorNamingTheField) {
  TempDir dir;
  testing::write_text(
      dir / "bad.json",
      R"({"version": 1, "environments": {"test_env": {"check_tolerance": "wide"}}})");
  ProcessResult check = run_harness(
      {"check", "test_env", "--profile", "cpu", "--anchors", (dir / "bad.json").string()});
  EXPECT_EQ(check.exit_code, 2) << check.output;
  EXPECT_NE(check.output.find("/environments/test_env/check_tolerance"), std::string::npos)
      << check.output;
}

}  // namespace
}  // namespace rebench
