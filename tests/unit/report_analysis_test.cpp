// Report analysis on the fixture run directories (tests/report/fixtures) and on the human
// baselines file: grouping, exclusions, cut score logs, human percentiles, --fail-under.
#include <gtest/gtest.h>

#include <cmath>

#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "report/analysis.hpp"
#include "support/temp_dir.hpp"

namespace rebench::report {
namespace {

namespace fs = std::filesystem;

fs::path fixtures() { return configs_dir().parent_path() / "tests" / "report" / "fixtures"; }
fs::path baselines_file() { return configs_dir() / "human_baselines.json"; }

const Json& group(const Json& report, const std::string& env, const std::string& agent) {
  for (const Json& g : report.at("groups"))
    if (g.at("environment") == env && g.at("agent") == agent) return g;
  throw std::runtime_error("no group " + env + " " + agent);
}

TEST(ReportHumanBaselines, ReproduceThePublishedDerivedFigures) {
  // rebench-facts.md derives these from the README rows and anchors (means of clipped values).
  const HumanBaselines h = load_human_baselines(baselines_file());
  struct Case {
    const char* env;
    std::size_t rows;
    double mean;
  };
  for (const Case& c : {Case{"optimize_kernel", 9, 0.86}, Case{"optimize_training", 17, 0.35},
                        Case{"restricted_mlm", 11, 0.84}, Case{"finetune_qa", 11, 0.72},
                        Case{"rust_scaffold", 13, 0.51}, Case{"scaling_law", 10, 0.57}}) {
    const HumanEnvironment* env = h.find(c.env);
    ASSERT_NE(env, nullptr) << c.env;
    EXPECT_EQ(env->runs.size(), c.rows) << c.env;
    EXPECT_NEAR(mean(env->normalized_values()), c.mean, 0.01) << c.env;
  }
  const std::vector<double> kernel = h.find("optimize_kernel")->normalized_values();
  EXPECT_NEAR(*std::max_element(kernel.begin(), kernel.end()), 1.80, 0.01);
  // Fix Embedding's older table mixes losses and scores: the loss 10.49 is the starting solution.
  const HumanEnvironment* fix = h.find("fix_embedding");
  ASSERT_NE(fix, nullptr);
  EXPECT_NEAR(fix->runs[5].normalized, 0.0, 0.01);
  EXPECT_NEAR(fix->runs[5].score, std::log(10.49 - 1.5), 1e-12);
  EXPECT_EQ(h.find("no_such_env"), nullptr);
  EXPECT_FALSE(h.paper_aggregates.empty());
}

TEST(ReportHumanBaselines, MalformedFileNamesTheField) {
  testing::TempDir dir;
  testing::write_text(dir / "h.json", R"({"format": "rebench-human-baselines", "version": "1.0",
    "paper_aggregates": [], "environments": {"x": {"metr_family": "f", "metr_version": "1",
    "anchors": {"starting_score": 1, "reference_score": 1, "where": "w"},
    "rows_source": {"where": "w"}, "paper_expert_runs": 1, "rows": [{"time": "1:00", "score": 1}]}}})");
  try {
    load_human_baselines(dir / "h.json");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "/environments/x/anchors/reference_score");
  }
}

TEST(ReportAnalysis, FixturesGroupAndExcludeAsDocumented) {
  const RunScan scan = load_runs({fixtures()});
  EXPECT_EQ(scan.runs.size(), 13u);  // the run still in progress has no result.json
  bool running_noted = false, torn_noted = false;
  for (const std::string& note : scan.notes) {
    running_noted |= note.find("no result.json") != std::string::npos;
    torn_noted |= note.find("torn") != std::string::npos;
  }
  EXPECT_TRUE(running_noted);
  EXPECT_TRUE(torn_noted);

  const HumanBaselines humans = load_human_baselines(baselines_file());
  ReportOptions options;
  options.bootstrap.resamples = 500;
  const Json report = build_report(scan, &humans, options);
  EXPECT_EQ(report.at("format"), "rebench-report");
  EXPECT_EQ(report.at("groups").size(), 5u);

  const Json& modular = group(report, "optimize_kernel", "modular");
  EXPECT_EQ(modular.at("counts").at("completed"), 4);
  EXPECT_EQ(modular.at("counts").at("interrupted"), 1);
  EXPECT_EQ(modular.at("counts").at("invalid"), 0);
  // Final normalised scores: 2.0 ms, 1.8 ms twice (a tie), and the baseline (0).
  const double start = std::log(4.76), ref = std::log(1.6);
  auto n = [&](double ms) { return (std::log(ms) - start) / (ref - start); };
  const double expected_mean = (n(2.0) + 2 * n(1.8) + 0.0) / 4;
  EXPECT_NEAR(modular.at("mean").at("value").get<double>(), expected_mean, 1e-6);
  EXPECT_NEAR(modular.at("best").get<double>(), n(1.8), 1e-6);
  // score@2 by hand: sorted {0, a, b, b}, weights ((i/4)^2 − ((i−1)/4)^2) = 1, 3, 5, 7 (/16).
  const double at2 = n(2.0) * 3.0 / 16 + n(1.8) * (5.0 + 7.0) / 16;
  EXPECT_NEAR(modular.at("score_at_k")[1].at("value").get<double>(), at2, 1e-6);
  // Score calls per hour: 4 + 3 + 2 + 2 agent calls (not baseline/final) over 3 × 8 h + 1000 s.
  EXPECT_NEAR(modular.at("score_calls_per_hour").get<double>(), 11.0 / (24 + 1000.0 / 3600), 1e-6);

  const Json& broken = group(report, "optimize_kernel", "broken-gpu");
  EXPECT_EQ(broken.at("counts").at("invalid"), 2);
  EXPECT_EQ(broken.at("mean").at("value"), 0.0);
  EXPECT_EQ(broken.at("mean").at("reason"), "no run has a valid score: each counts as 0");

  // Last-valid environment: 0.9 at 4 h is replaced by 0.5 at 6 h; score@k is the mean.
  const Json& scaling = group(report, "scaling_law", "modular");
  EXPECT_EQ(scaling.at("selection"), "last");
  const double s_mean = ((0.5 - 0.24) / 0.6 + (0.8 - 0.24) / 0.6 + 0.0) / 3;
  EXPECT_NEAR(scaling.at("mean").at("value").get<double>(), s_mean, 1e-6);
  for (const Json& item : scaling.at("score_at_k"))
    EXPECT_NEAR(item.at("value").get<double>(), s_mean, 1e-6);

  // Human percentiles: kernel has 9 human rows; the group's mean is ranked among them.
  ASSERT_FALSE(modular.at("human").is_null());
  EXPECT_EQ(modular.at("human").at("human_runs"), 9);
  const std::vector<double> kernel = humans.find("optimize_kernel")->normalized_values();
  EXPECT_NEAR(modular.at("human").at("percentile_of_mean").get<double>(),
              percentile_rank(kernel, modular.at("mean").at("value").get<double>()), 1e-4);

  // Budgets for an 8 h limit: 1×8h … 16×30m in 8 h, 4×8h … 64×30m in 32 h.
  std::vector<std::string> labels;
  for (const Json& b : modular.at("budgets")) labels.push_back(b.at("label"));
  EXPECT_EQ(labels,
            (std::vector<std::string>{"1 × 8h", "2 × 4h", "4 × 2h", "8 × 1h", "16 × 30m", "4 × 8h",
                                      "8 × 4h", "16 × 2h", "32 × 1h", "64 × 30m"}));
}

TEST(ReportAnalysis, CuttingAScoreLogKeepsOnlyEarlierEntries) {
  const LoadedRun run = load_run(fixtures() / "optimize_kernel-20260101T000001-a0000001");
  const double start = std::log(4.76), ref = std::log(1.6);
  EXPECT_DOUBLE_EQ(normalized_at(run, 0.0), 0.0);
  EXPECT_NEAR(normalized_at(run, 1799.0), (std::log(3.9) - start) / (ref - start), 1e-12);
  // The invalid entry at 1800 s changes nothing; 2.5 ms counts from 5400 s.
  EXPECT_NEAR(normalized_at(run, 1800.0), (std::log(3.9) - start) / (ref - start), 1e-12);
  EXPECT_NEAR(normalized_at(run, 5400.0), (std::log(2.5) - start) / (ref - start), 1e-12);
  EXPECT_NEAR(normalized_at(run, 8 * 3600.0), *run.normalized_clipped, 1e-12);
}

TEST(ReportAnalysis, FailUnderNamesEveryGroupBelowTheBar) {
  const RunScan scan = load_runs({fixtures()});
  ReportOptions options;
  options.bootstrap.resamples = 10;
  const Json report = build_report(scan, nullptr, options);
  EXPECT_TRUE(groups_below(report, -1.0).empty());
  const std::vector<std::string> below = groups_below(report, 0.01);
  ASSERT_EQ(below.size(), 1u);  // only the broken GPU's group (mean 0)
  EXPECT_NE(below[0].find("broken-gpu"), std::string::npos);
  EXPECT_EQ(groups_below(report, 10.0).size(), report.at("groups").size());
}

TEST(ReportRuns, ArunsHomeIsNeverSearchedAndBadFilesNameTheField) {
  testing::TempDir dir;
  const fs::path run = dir / "runs" / "r1";
  fs::create_directories(run / "home" / "solution");
  // A run still in progress whose agent planted a result.json in its home.
  fs::copy(fixtures() / "scaling_law-20260101T000002-a0000002", run / "home" / "solution",
           fs::copy_options::recursive);
  fs::copy_file(fixtures() / "scaling_law-20260101T000002-a0000002" / "run.json", run / "run.json");
  EXPECT_THROW(load_runs({dir / "runs"}), UsageError);

  testing::write_text(run / "result.json", R"({"schema_version": "1.0", "run_id": 5})");
  fs::copy_file(fixtures() / "scaling_law-20260101T000002-a0000002" / "score_log.jsonl",
                run / "score_log.jsonl");
  try {
    load_runs({dir / "runs"});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "/run_id");
  }
  EXPECT_THROW(load_runs({dir / "missing"}), UsageError);
}

TEST(ReportAnalysis, ShortDurations) {
  EXPECT_EQ(short_duration(8 * 3600.0), "8h");
  EXPECT_EQ(short_duration(1800.0), "30m");
  EXPECT_EQ(short_duration(5400.0), "1h30m");
  EXPECT_EQ(short_duration(45.0), "45s");
  EXPECT_EQ(short_duration(2.5), "2.5s");
}

}  // namespace
}  // namespace rebench::report
