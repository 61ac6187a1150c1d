// Configuration files: the shipped ones load; malformed ones name the file and the field.
#include <gtest/gtest.h>

#include "rebench/anchors.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/registry.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

using testing::TempDir;
using testing::write_text;

TEST(Config, ShippedProfilesAndAnchorsLoad) {
  for (const std::string& name : available_profiles(configs_dir() / "profiles")) {
    Profile profile = Profile::load(configs_dir() / "profiles" / (name + ".json"));
    EXPECT_EQ(profile.name(), name);
  }
  AnchorTable table = AnchorTable::load(configs_dir() / "anchors.json");
  for (const std::string& id : builtin_registry().ids())
    EXPECT_NE(table.find(id), nullptr) << "configs/anchors.json has no entry for " << id;
}

void expect_config_error(const std::filesystem::path& file, const std::string& text,
                         const std::string& field, bool anchors) {
  write_text(file, text);
  try {
    if (anchors)
      AnchorTable::load(file);
    else
      Profile::load(file);
    FAIL() << "expected a ConfigError for field " << field;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), file.string());
    EXPECT_EQ(e.field(), field);
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
  }
}

TEST(Config, MalformedProfilesNameFileAndField) {
  TempDir dir;
  auto file = dir / "cpu.json";
  expect_config_error(file, "{ not json", "(file)", false);
  expect_config_error(file, R"({"name": "cpu", "description": "x"})", "/requires_gpu", false);
  expect_config_error(file, R"({"name": 3, "description": "x", "requires_gpu": false})", "/name",
                      false);
  expect_config_error(file, R"({"name": "gpu", "description": "x", "requires_gpu": false})",
                      "/name", false);
  expect_config_error(file,
                      R"({"name": "cpu", "description": "x", "requires_gpu": false,
                          "environments": {"optimize_kernel": 5}})",
                      "/environments/optimize_kernel", false);
}

TEST(Config, MalformedAnchorsNameFileAndField) {
  TempDir dir;
  auto file = dir / "anchors.json";
  expect_config_error(file, R"({"version": 2, "environments": {}})", "/version", true);
  expect_config_error(file,
                      R"({"version": 1, "environments": {"e": {"profiles": {"cpu": {
                          "starting": {"raw": "fast", "hardware": "h", "date": "d", "commit": "c"},
                          "reference": {"raw": 1, "hardware": "h", "date": "d", "commit": "c"}}}}}})",
                      "/environments/e/profiles/cpu/starting/raw", true);
  expect_config_error(file,
                      R"({"version": 1, "environments": {"e": {"profiles": {"cpu": {
                          "starting": {"raw": 2, "hardware": "h", "date": "d", "commit": "c"}}}}}})",
                      "/environments/e/profiles/cpu/reference", true);
}

TEST(Config, AnchorTableSaveRoundTrips) {
  TempDir dir;
  AnchorTable table;
  table.set("optimize_kernel", "cpu",
            {{12.5, "cpu x2", "2026-11-22", "abc", ""}, {4.0, "cpu x2", "2026-11-22", "abc", "n"}});
  table.save(dir / "a.json");
  AnchorTable loaded = AnchorTable::load(dir / "a.json");
  const AnchorPair* pair = loaded.find("optimize_kernel", "cpu");
  ASSERT_NE(pair, nullptr);
  EXPECT_DOUBLE_EQ(pair->starting.raw, 12.5);
  EXPECT_EQ(pair->reference.note, "n");
}

TEST(Config, UnknownProfileListsAvailable) {
  try {
    resolve_profile(configs_dir() / "profiles", "tpu");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("cpu"), std::string::npos);
  }
}

}  // namespace
}  // namespace rebench
