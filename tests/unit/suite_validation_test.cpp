// Suite files: valid ones parse (shipped examples included); every kind of mistake is a
// ConfigError that names the file and the JSON path of the bad field.
#include <gtest/gtest.h>

#include "batch/suite.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "support/temp_dir.hpp"
#include "support/test_environment.hpp"

namespace rebench::batch {
namespace {

const Registry& registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    add_builtin_environments(*reg);
    reg->add(testing::make_test_environment("/nonexistent"));
    return reg;
  }();
  return *r;
}

Json minimal() {
  return Json::parse(R"({"name": "s", "environments": ["test_env"], "agents": ["noop"]})");
}

/// The ConfigError message for `json`, or "" when it parsed.
std::string error_of(const Json& json) {
  try {
    parse_suite(json, "suite.json", registry());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SuiteValidation, MinimalSuiteGetsDefaults) {
  Suite suite = parse_suite(minimal(), "suite.json", registry());
  EXPECT_EQ(suite.name, "s");
  ASSERT_EQ(suite.blocks.size(), 1u);
  EXPECT_EQ(suite.blocks[0].repeats, 1);
  EXPECT_TRUE(suite.blocks[0].time_limits_s.empty());  // the environment's default
  ASSERT_EQ(suite.blocks[0].agents.size(), 1u);
  EXPECT_EQ(suite.blocks[0].agents[0].label, "noop");
  EXPECT_EQ(suite.settings.sandbox, "bubblewrap");
  EXPECT_TRUE(suite.settings.network);
}

TEST(SuiteValidation, FullSuiteParses) {
  Json json = Json::parse(R"({
    "name": "full", "description": "d", "profile": "cpu", "runs_dir": "r", "seed": 7,
    "repeats": 3, "time_limits": ["30m", 90],
    "matrix": [
      {"environments": ["test_env"], "agents": ["noop", {"label": "mine", "spec": "cmd:true",
                                                         "pass_env": ["API_KEY"]}]},
      {"environments": ["optimize_kernel"], "agents": ["reference"], "time_limits": "8h",
       "repeats": 1}
    ],
    "options": {"sandbox": "none", "network": "none", "pass_env": ["HOME"],
                "exclude_score_time": true, "score_timeout": "5m"}})");
  Suite suite = parse_suite(json, "suite.json", registry());
  ASSERT_EQ(suite.blocks.size(), 2u);
  EXPECT_EQ(suite.blocks[0].time_limits_s, (std::vector<double>{1800, 90}));
  EXPECT_EQ(suite.blocks[0].repeats, 3);
  EXPECT_EQ(suite.blocks[0].agents[1].label, "mine");
  EXPECT_EQ(suite.blocks[0].agents[1].pass_env, (std::vector<std::string>{"API_KEY"}));
  EXPECT_EQ(suite.blocks[1].time_limits_s, (std::vector<double>{8 * 3600}));
  EXPECT_EQ(suite.blocks[1].repeats, 1);
  EXPECT_EQ(suite.seed, 7u);
  EXPECT_EQ(suite.settings.sandbox, "none");
  EXPECT_FALSE(suite.settings.network);
  EXPECT_TRUE(suite.settings.exclude_score_time);
  EXPECT_EQ(suite.settings.score_timeout_s, 300);
}

TEST(SuiteValidation, UnknownEnvironmentSuggestsTheClosest) {
  Json json = minimal();
  json["environments"] = {"test_env", "optimise_kernel"};
  const std::string message = error_of(json);
  EXPECT_NE(message.find("suite.json: field '/environments/1'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'optimize_kernel'"), std::string::npos) << message;
}

TEST(SuiteValidation, BadDurationNamesItsPath) {
  Json json = minimal();
  json["time_limits"] = {"30m", "half an hour"};
  EXPECT_NE(error_of(json).find("'/time_limits/1'"), std::string::npos) << error_of(json);
  json["time_limits"] = {-5};
  EXPECT_NE(error_of(json).find("positive"), std::string::npos) << error_of(json);
  json["time_limits"] = {"30m", "30m"};
  EXPECT_NE(error_of(json).find("duplicate"), std::string::npos) << error_of(json);
}

TEST(SuiteValidation, BadAgentSpecsAndLabels) {
  Json json = minimal();
  json["agents"] = {"noop", "bogus"};
  EXPECT_NE(error_of(json).find("'/agents/1'"), std::string::npos) << error_of(json);
  json["agents"] = {{{"label", "x"}, {"spec", "bogus:thing"}}};
  EXPECT_NE(error_of(json).find("'/agents/0/spec'"), std::string::npos) << error_of(json);
  json["agents"] = {"cmd:my-agent"};
  EXPECT_NE(error_of(json).find("needs a label"), std::string::npos) << error_of(json);
  json["agents"] = {{{"label", "a b"}, {"spec", "noop"}}};
  EXPECT_NE(error_of(json).find("'/agents/0/label'"), std::string::npos) << error_of(json);
  json["agents"] = {"noop", {{"label", "noop"}, {"spec", "reference"}}};
  EXPECT_NE(error_of(json).find("used twice"), std::string::npos) << error_of(json);
  json["agents"] = {"replay:/nonexistent/run"};
  EXPECT_NE(error_of(json).find("not a run directory"), std::string::npos) << error_of(json);
  json["agents"] = Json::array();
  EXPECT_NE(error_of(json).find("non-empty"), std::string::npos) << error_of(json);
}

TEST(SuiteValidation, RepeatsMustBePositiveIntegers) {
  Json json = minimal();
  for (const Json& bad : {Json(0), Json(-1), Json(1.5), Json("2")}) {
    json["repeats"] = bad;
    EXPECT_NE(error_of(json).find("'/repeats'"), std::string::npos)
        << bad << ": " << error_of(json);
  }
  json = Json::parse(R"({"name": "s", "matrix": [{"environments": ["test_env"],
                         "agents": ["noop"], "repeats": 0}]})");
  EXPECT_NE(error_of(json).find("'/matrix/0/repeats'"), std::string::npos) << error_of(json);
}

TEST(SuiteValidation, UnknownKeysAreErrorsWithASuggestion) {
  Json json = minimal();
  json["agnets"] = {"noop"};
  std::string message = error_of(json);
  EXPECT_NE(message.find("'/agnets'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'agents'"), std::string::npos) << message;
  json = minimal();
  json["options"] = {{"sandbx", "none"}};
  EXPECT_NE(error_of(json).find("'/options/sandbx'"), std::string::npos) << error_of(json);
  json = minimal();
  json["agents"] = {{{"label", "x"}, {"spec", "noop"}, {"dir", "/tmp"}}};
  EXPECT_NE(error_of(json).find("'/agents/0/dir'"), std::string::npos) << error_of(json);
}

TEST(SuiteValidation, StructuralMistakes) {
  Json json = minimal();
  json.erase("name");
  EXPECT_NE(error_of(json).find("'/name'"), std::string::npos) << error_of(json);
  json = minimal();
  json["name"] = "has space";
  EXPECT_NE(error_of(json).find("'/name'"), std::string::npos) << error_of(json);
  json = minimal();
  json["matrix"] = Json::array({minimal()});
  EXPECT_NE(error_of(json).find("not both"), std::string::npos) << error_of(json);
  json = minimal();
  json["profile"] = "a100";
  EXPECT_NE(error_of(json).find("unknown profile 'a100'"), std::string::npos) << error_of(json);
  json = minimal();
  json["options"] = {{"network", "off"}};
  EXPECT_NE(error_of(json).find("'/options/network'"), std::string::npos) << error_of(json);
  json = minimal();
  json["environments"] = {"test_env", "test_env"};
  EXPECT_NE(error_of(json).find("twice"), std::string::npos) << error_of(json);
  json = minimal();
  json["options"] = {{"agent_dir", "/nonexistent/agent"}};
  EXPECT_NE(error_of(json).find("'/options/agent_dir'"), std::string::npos) << error_of(json);
}

TEST(SuiteValidation, FilesAreNamedInMessages) {
  testing::TempDir dir;
  testing::write_text(dir / "bad.json", R"({"name": "s", "environments": ["nope"],
                                           "agents": ["noop"]})");
  try {
    load_suite(dir / "bad.json", registry());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "bad.json").string()), std::string::npos);
  }
  testing::write_text(dir / "broken.json", "{\"name\": ");
  EXPECT_THROW(load_suite(dir / "broken.json", registry()), ConfigError);
  EXPECT_THROW(load_suite(dir / "missing.json", registry()), UsageError);
}

TEST(SuiteValidation, ShippedSuitesAreValid) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs_dir() / "suites")) {
    if (entry.path().extension() != ".json") continue;
    ++count;
    EXPECT_NO_THROW(load_suite(entry.path(), builtin_registry())) << entry.path();
  }
  EXPECT_GE(count, 2);
  EXPECT_EQ(resolve_suite_path("smoke"), configs_dir() / "suites" / "smoke.json");
  try {
    resolve_suite_path("smok");
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'smoke'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rebench::batch
