// The analysis behind `rebench report` (see analysis.hpp).
#include "report/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "rebench/normalize.hpp"

namespace rebench::report {

namespace {

/// Numbers in the report are rounded to 6 decimals: enough for any figure it shows, and golden
/// files do not depend on the last bits of a libm.
double rounded(double value) { return std::round(value * 1e6) / 1e6; }
Json number(double value) { return std::isfinite(value) ? Json(rounded(value)) : Json(nullptr); }
Json number(const std::optional<double>& value) { return value ? number(*value) : Json(nullptr); }

Json to_json(const Estimate& e) {
  return {{"value", number(e.value)},
          {"low", number(e.low)},
          {"high", number(e.high)},
          {"reason", e.reason}};
}

/// Step value of a curve (sorted points) at time t: the last point at or before t, else 0.
double step_at(const std::vector<std::pair<double, double>>& points, double t) {
  double value = 0.0;
  for (const auto& [time, v] : points) {
    if (time > t) break;
    value = v;
  }
  return value;
}

/// The run's normalised selection after each entry: one point per entry, in log order.
std::vector<std::pair<double, double>> run_curve(const LoadedRun& run) {
  std::vector<std::pair<double, double>> points;
  std::vector<ScoreEntry> prefix;
  for (const ScoreEntry& entry : run.entries) {
    prefix.push_back(entry);
    const FinalScore f = final_score(prefix, run.selection, run.direction, *run.starting_score,
                                     *run.reference_score);
    // The final entry is scored after the agent stopped: it belongs at the time the agent ended.
    const double t = std::min(entry.elapsed_s, run.limit_s);
    points.emplace_back(t, f.normalized_clipped);
  }
  return points;
}

struct GroupKey {
  std::string environment, label;
  double limit_s;
  bool operator<(const GroupKey& o) const {
    return std::tie(environment, label, limit_s) < std::tie(o.environment, o.label, o.limit_s);
  }
};

/// Budget allocations derived from runs of length `limit`: for totals L and 4L, m runs of
/// T = total/m for m = 1, 2, 4, … while L/16 ≤ T ≤ L (a run can only be cut shorter, never made
/// longer; the paper compared 30 min to 8 h).
struct Allocation {
  double total_s;
  int runs;
  double run_length_s;
};
std::vector<Allocation> allocations_for(double limit) {
  std::vector<Allocation> out;
  for (double factor : {1.0, 4.0}) {
    const double total = limit * factor;
    for (int m = 1; m <= 64; m *= 2) {
      const double t = total / m;
      if (t > limit * (1 + 1e-9)) continue;
      if (t < limit / 16 * (1 - 1e-9)) break;
      out.push_back({total, m, t});
    }
  }
  return out;
}

Json build_group(const std::vector<const LoadedRun*>& runs, const HumanBaselines* humans,
                 const ReportOptions& options, int index) {
  const LoadedRun& first = *runs.front();
  const bool take_max = first.selection == Selection::kBestValid;
  const std::string key =
      fmt::format("{}|{}|{}", first.environment, first.label, short_duration(first.limit_s));
  Json group = {{"id", fmt::format("g{}", index)},
                {"environment", first.environment},
                {"environment_version", first.environment_version},
                {"direction", to_string(first.direction)},
                {"selection", to_string(first.selection)},
                {"agent", first.label},
                {"agent_spec", first.agent_spec},
                {"self_test", first.self_test},
                {"time_limit_s", number(first.limit_s)}};
  Json notes = Json::array();
  std::set<std::string> profiles, versions;
  std::vector<const LoadedRun*> included;
  int interrupted = 0, without_anchors = 0;
  Json run_list = Json::array();
  for (const LoadedRun* run : runs) {
    profiles.insert(run->profile);
    versions.insert(run->environment_version);
    std::string excluded;
    if (run->status == "interrupted") {
      ++interrupted;
      excluded = "interrupted";
    } else if (!run->has_anchors() || !run->normalized_clipped) {
      ++without_anchors;
      excluded = "no anchors (not normalised)";
    } else {
      included.push_back(run);
    }
    run_list.push_back({{"run_id", run->run_id},
                        {"status", run->status},
                        {"valid", run->final_valid},
                        {"normalized", number(run->normalized)},
                        {"normalized_clipped", number(run->normalized_clipped)},
                        {"reason", run->final_reason},
                        {"score_calls", run->score_calls},
                        {"invalid_score_calls", run->invalid_score_calls},
                        {"used_s", number(run->used_s)},
                        {"excluded", excluded}});
  }
  group["profiles"] = profiles;
  if (versions.size() > 1)
    notes.push_back("runs of different environment versions are pooled: " + Json(versions).dump());
  if (interrupted > 0)
    notes.push_back(fmt::format(
        "{} interrupted run(s) excluded from every statistic (resume them to count them)",
        interrupted));
  if (without_anchors > 0)
    notes.push_back(
        fmt::format("{} run(s) without anchors (not normalised) excluded from every statistic",
                    without_anchors));
  group["runs"] = run_list;

  std::vector<RunValue> values;
  std::vector<double> finals;
  double calls = 0, hours = 0;
  for (const LoadedRun* run : included) {
    values.push_back({run->final_valid, *run->normalized_clipped});
    finals.push_back(run->final_valid ? *run->normalized_clipped : 0.0);
    calls += run->score_calls;
    hours += run->used_s / 3600.0;
  }
  BootstrapOptions boot = options.bootstrap;
  boot.seed = derive_seed(options.bootstrap.seed, key + "|mean");
  const GroupSummary summary = summarize_runs(values, boot);
  group["counts"] = {{"runs", runs.size()},
                     {"completed", summary.runs},
                     {"invalid", summary.invalid},
                     {"interrupted", interrupted},
                     {"without_anchors", without_anchors}};
  group["mean"] = to_json(summary.mean);
  group["best"] = number(summary.best);
  group["median"] = number(summary.median);
  group["score_calls_per_hour"] = hours > 0 ? number(calls / hours) : Json(nullptr);

  Json at_k = Json::array();
  for (int k = 1; k <= options.k_max; ++k) {
    boot.seed = derive_seed(options.bootstrap.seed, fmt::format("{}|k{}", key, k));
    Json item = to_json(bootstrap_score_at_k(finals, k, take_max, boot));
    item["k"] = k;
    at_k.push_back(item);
  }
  group["score_at_k"] = at_k;
  if (!take_max)
    notes.push_back(
        "last-submission environment: score@k and budgets take a random run, not the best "
        "(its score is hidden from the agent, so a best-of-k pick would need the hidden score)");

  Json budgets = Json::array();
  for (const Allocation& a : allocations_for(first.limit_s)) {
    std::vector<double> cut;
    for (const LoadedRun* run : included) cut.push_back(normalized_at(*run, a.run_length_s));
    boot.seed = derive_seed(options.bootstrap.seed,
                            fmt::format("{}|budget{}x{}", key, a.runs, a.run_length_s));
    Json item = to_json(bootstrap_score_at_k(cut, a.runs, take_max, boot));
    item["total_s"] = number(a.total_s);
    item["runs"] = a.runs;
    item["run_length_s"] = number(a.run_length_s);
    item["label"] = fmt::format("{} × {}", a.runs, short_duration(a.run_length_s));
    budgets.push_back(item);
  }
  group["budgets"] = budgets;

  Json curve_runs = Json::array();
  std::vector<std::vector<std::pair<double, double>>> curves;
  std::set<double> grid = {0.0, first.limit_s};
  for (const LoadedRun* run : included) {
    curves.push_back(run_curve(*run));
    Json points = Json::array();
    for (const auto& [t, v] : curves.back()) {
      points.push_back({number(t), number(v)});
      grid.insert(t);
    }
    curve_runs.push_back({{"run_id", run->run_id}, {"points", points}});
  }
  Json mean_curve = Json::array();
  if (!curves.empty()) {
    for (double t : grid) {
      double sum = 0;
      for (const auto& c : curves) sum += step_at(c, t);
      mean_curve.push_back({number(t), number(sum / static_cast<double>(curves.size()))});
    }
  }
  group["curve"] = {{"runs", curve_runs}, {"mean", mean_curve}};

  const HumanEnvironment* human = humans ? humans->find(first.environment) : nullptr;
  if (human == nullptr) {
    group["human"] = nullptr;
  } else {
    const std::vector<double> population = human->normalized_values();
    Json h = {{"metr_family", human->metr_family},
              {"human_runs", population.size()},
              {"human_mean", number(mean(population))},
              {"human_best", number(*std::max_element(population.begin(), population.end()))},
              {"percentile_of_mean", nullptr},
              {"percentile_of_best", nullptr},
              {"note", ""}};
    if (summary.mean.value)
      h["percentile_of_mean"] = number(percentile_rank(population, *summary.mean.value));
    if (summary.best) h["percentile_of_best"] = number(percentile_rank(population, *summary.best));
    if (std::fabs(first.limit_s - 8 * 3600.0) > 1.0)
      h["note"] =
          fmt::format("human runs had 8 h; these agent runs had {}", short_duration(first.limit_s));
    group["human"] = h;
  }
  group["notes"] = notes;
  return group;
}

}  // namespace

std::string short_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  if (seconds < 60) {
    const double whole = std::round(seconds);
    return std::fabs(seconds - whole) < 1e-6 ? fmt::format("{}s", static_cast<long long>(whole))
                                             : fmt::format("{:.3g}s", seconds);
  }
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = (total % 3600) / 60, s = total % 60;
  std::string out;
  if (h > 0) out += fmt::format("{}h", h);
  if (m > 0) out += fmt::format("{}m", m);
  if (s > 0) out += fmt::format("{}s", s);
  return out;
}

double normalized_at(const LoadedRun& run, double budget_s) {
  std::vector<ScoreEntry> prefix;
  for (const ScoreEntry& entry : run.entries)
    if (entry.elapsed_s <= budget_s + 1e-9) prefix.push_back(entry);
  return final_score(prefix, run.selection, run.direction, *run.starting_score,
                     *run.reference_score)
      .normalized_clipped;
}

Json build_report(const RunScan& scan, const HumanBaselines* humans, const ReportOptions& options) {
  std::map<GroupKey, std::vector<const LoadedRun*>> groups;
  std::set<std::string> environments, agents;
  int completed = 0, interrupted = 0;
  for (const LoadedRun& run : scan.runs) {
    groups[{run.environment, run.label, run.limit_s}].push_back(&run);
    environments.insert(run.environment);
    agents.insert(run.label);
    (run.status == "interrupted" ? interrupted : completed) += 1;
  }
  Json report = {{"format", kReportFormat}, {"version", kReportVersion}};
  report["settings"] = {{"seed", options.bootstrap.seed},
                        {"bootstrap_resamples", options.bootstrap.resamples},
                        {"confidence", options.bootstrap.confidence},
                        {"k_max", options.k_max},
                        {"score",
                         "final normalised score, clipped at 0 (a run without a valid "
                         "score counts 0)"},
                        {"interval", "percentile bootstrap over runs"},
                        {"score_at_k",
                         "expected best of k runs drawn with replacement (exact); "
                         "a random run for last-submission environments"},
                        {"budgets",
                         "shorter runs derived by cutting each run's score log at the "
                         "run length (not real shorter runs)"}};
  report["totals"] = {{"runs", scan.runs.size()},   {"completed", completed},
                      {"interrupted", interrupted}, {"environments", environments.size()},
                      {"agents", agents.size()},    {"groups", groups.size()}};
  Json group_list = Json::array();
  int index = 1;
  for (const auto& [key, runs] : groups)
    group_list.push_back(build_group(runs, humans, options, index++));
  report["groups"] = group_list;

  Json human = nullptr;
  if (humans != nullptr) {
    human = {{"file", std::filesystem::path(humans->file).filename().string()},
             {"sources", humans->sources},
             {"paper_aggregates", humans->paper_aggregates}};
    Json envs = Json::object();
    for (const std::string& env : environments) {
      const HumanEnvironment* h = humans->find(env);
      if (h == nullptr) continue;
      const std::vector<double> values = h->normalized_values();
      Json runs = Json::array();
      for (const HumanRun& r : h->runs)
        runs.push_back({{"time", r.time},
                        {"score", number(r.score)},
                        {"normalized_clipped", number(r.normalized_clipped)}});
      envs[env] = {{"metr_family", h->metr_family},
                   {"metr_version", h->metr_version},
                   {"starting_score", number(h->starting_score)},
                   {"reference_score", number(h->reference_score)},
                   {"anchors_where", h->anchors_where},
                   {"rows_where", h->rows_where},
                   {"paper_expert_runs", h->paper_expert_runs},
                   {"mean", number(mean(values))},
                   {"runs", runs},
                   {"notes", h->notes}};
    }
    human["environments"] = envs;
    Json missing = Json::array();
    for (const std::string& env : environments)
      if (humans->find(env) == nullptr) missing.push_back(env);
    human["no_baseline"] = missing;
  }
  report["human_baselines"] = human;
  report["notes"] = scan.notes;
  return report;
}

std::vector<std::string> groups_below(const Json& report, double threshold) {
  std::vector<std::string> failures;
  for (const Json& g : report.at("groups")) {
    const std::string name = fmt::format("{} × {} ({})", g.at("environment").get<std::string>(),
                                         g.at("agent").get<std::string>(),
                                         short_duration(g.at("time_limit_s").get<double>()));
    const Json& value = g.at("mean").at("value");
    if (value.is_null())
      failures.push_back(name + ": no mean normalised score (" +
                         g.at("mean").at("reason").get<std::string>() + ")");
    else if (value.get<double>() < threshold)
      failures.push_back(fmt::format("{}: mean normalised score {:.3f} is below {}", name,
                                     value.get<double>(), threshold));
  }
  return failures;
}

}  // namespace rebench::report
