// Suite expansion: a fixed order, deterministic run names and seeds (what resume relies on), GPU
// counts from the profile, clashes refused, and a plan file that reads back identically.
#include <gtest/gtest.h>

#include <set>

#include "batch/plan.hpp"
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

Profile profile(const std::string& name) {
  return Profile::load(configs_dir() / "profiles" / (name + ".json"));
}

Suite suite_of(const std::string& text) {
  return parse_suite(Json::parse(text), "suite.json", registry());
}

const char* const kMatrix = R"({"name": "s", "seed": 3, "runs_dir": "out",
  "environments": ["test_env"], "agents": ["noop", "reference"],
  "time_limits": ["30s", "1m30s"], "repeats": 2})";

TEST(BatchPlan, DurationTags) {
  EXPECT_EQ(duration_tag(45), "45s");
  EXPECT_EQ(duration_tag(90), "1m30s");
  EXPECT_EQ(duration_tag(1800), "30m");
  EXPECT_EQ(duration_tag(8 * 3600), "8h");
  EXPECT_EQ(duration_tag(5400), "1h30m");
  EXPECT_EQ(duration_tag(3725), "1h02m05s");
}

TEST(BatchPlan, ExpandsInAFixedOrderWithReadableNames) {
  BatchPlan plan = expand_suite(suite_of(kMatrix), registry(), profile("cpu"));
  ASSERT_EQ(plan.runs.size(), 8u);
  const std::vector<std::string> expected = {
      "s-test_env-noop-30s-r1",        "s-test_env-noop-30s-r2",
      "s-test_env-noop-1m30s-r1",      "s-test_env-noop-1m30s-r2",
      "s-test_env-reference-30s-r1",   "s-test_env-reference-30s-r2",
      "s-test_env-reference-1m30s-r1", "s-test_env-reference-1m30s-r2"};
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(plan.runs[i].name, expected[i]);
  EXPECT_EQ(plan.runs[2].time_limit_s, 90);
  EXPECT_EQ(plan.runs[3].repeat, 2);
  EXPECT_EQ(plan.runs[5].label, "reference");
  EXPECT_EQ(plan.profile, "cpu");
  EXPECT_TRUE(plan.runs_dir.is_absolute());
  EXPECT_EQ(plan.runs_dir.filename(), "out");
  EXPECT_EQ(plan.run_dir(0), plan.runs_dir / expected[0]);
  EXPECT_EQ(plan.batch_dir(), plan.runs_dir / "s.batch");
  // --runs-dir overrides the suite's.
  EXPECT_EQ(expand_suite(suite_of(kMatrix), registry(), profile("cpu"), "/elsewhere").runs_dir,
            "/elsewhere");
}

TEST(BatchPlan, SeedsAreDeterministicAndDistinct) {
  BatchPlan a = expand_suite(suite_of(kMatrix), registry(), profile("cpu"));
  BatchPlan b = expand_suite(suite_of(kMatrix), registry(), profile("cpu"));
  std::set<std::uint64_t> seeds;
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].seed, b.runs[i].seed);
    EXPECT_LT(a.runs[i].seed, 1ull << 53);  // exact as a JSON number anywhere
    seeds.insert(a.runs[i].seed);
  }
  EXPECT_EQ(seeds.size(), a.runs.size());
  Json other = Json::parse(kMatrix);
  other["seed"] = 4;
  BatchPlan c =
      expand_suite(parse_suite(other, "suite.json", registry()), registry(), profile("cpu"));
  EXPECT_NE(c.runs[0].seed, a.runs[0].seed);
  EXPECT_EQ(derive_seed(3, "x"), derive_seed(3, "x"));
}

TEST(BatchPlan, GpusComeFromTheEnvironmentUnderAGpuProfile) {
  Suite suite = suite_of(R"({"name": "k", "environments": ["optimize_kernel", "test_env"],
                             "agents": ["noop"], "time_limits": ["1h"]})");
  BatchPlan gpu = expand_suite(suite, registry(), profile("h100"));
  EXPECT_EQ(gpu.runs[0].gpus, 1);  // optimize_kernel pins one GPU
  EXPECT_EQ(gpu.runs[1].gpus, 0);  // test_env needs none
  EXPECT_GT(gpu.runs[0].memory_gb, 0);
  BatchPlan cpu = expand_suite(suite, registry(), profile("cpu"));
  EXPECT_EQ(cpu.runs[0].gpus, 0);
}

TEST(BatchPlan, DefaultTimeLimitIsTheEnvironments) {
  BatchPlan plan = expand_suite(suite_of(R"({"name": "d", "environments": ["test_env"],
                                            "agents": ["noop"]})"),
                                registry(), profile("cpu"));
  ASSERT_EQ(plan.runs.size(), 1u);
  EXPECT_EQ(plan.runs[0].time_limit_s, 60);  // test_env's default
  EXPECT_EQ(plan.runs[0].name, "d-test_env-noop-1m-r1");
}

TEST(BatchPlan, TwoBlocksMakingOneRunAreRefused) {
  Suite suite = suite_of(R"({"name": "c", "matrix": [
      {"environments": ["test_env"], "agents": ["noop"], "time_limits": ["1m"]},
      {"environments": ["test_env"], "agents": ["noop", "reference"], "time_limits": ["60s"]}]})");
  try {
    expand_suite(suite, registry(), profile("cpu"));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c-test_env-noop-1m-r1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/matrix/1"), std::string::npos) << e.what();
  }
}

TEST(BatchPlan, PlanFileRoundTripsAndMapsToRunOptions) {
  testing::TempDir dir;
  Suite suite = suite_of(R"({"name": "p", "environments": ["test_env"],
      "agents": [{"label": "mine", "spec": "cmd:echo hi", "pass_env": ["B"]}],
      "options": {"sandbox": "none", "network": "none", "pass_env": ["A"],
                  "exclude_score_time": true, "score_timeout": "2m"}})");
  BatchPlan plan = expand_suite(suite, registry(), profile("cpu"), dir.path());
  write_plan(plan);
  BatchPlan back = BatchPlan::load(plan.plan_file());
  EXPECT_EQ(back.to_json(), plan.to_json());
  RunOptions options = back.run_options(0, "0,1");
  EXPECT_EQ(options.environment_id, "test_env");
  EXPECT_EQ(options.agent.kind, AgentSpec::Kind::kCommand);
  EXPECT_EQ(options.agent.command, "echo hi");
  EXPECT_EQ(options.run_name, "p-test_env-mine-1m-r1");
  EXPECT_EQ(options.label, "mine");
  EXPECT_EQ(options.suite, "p");
  EXPECT_EQ(options.seed, plan.runs[0].seed);
  EXPECT_EQ(options.gpus, "0,1");
  EXPECT_EQ(options.sandbox, SandboxMode::kNone);
  EXPECT_FALSE(options.network);
  EXPECT_FALSE(options.count_score_time);
  EXPECT_EQ(options.score_timeout_s, 120);
  EXPECT_EQ(options.pass_env, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(options.runs_dir, dir.path());
  // A plan from another format version is refused with the file named.
  Json json = plan.to_json();
  json["version"] = 99;
  write_json_atomic(dir / "old.json", json);
  EXPECT_THROW(BatchPlan::load(dir / "old.json"), ConfigError);
}

}  // namespace
}  // namespace rebench::batch
