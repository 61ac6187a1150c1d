// Markdown rendering of a report document (see render.hpp).
#include <sstream>

#include <fmt/format.h>

#include "report/analysis.hpp"
#include "report/render.hpp"

namespace rebench::report {

namespace {

std::string num(const Json& value, int decimals = 3) {
  if (value.is_null()) return "—";
  return fmt::format("{:.{}f}", value.get<double>(), decimals);
}

/// "0.512 [0.300, 0.700]", or the value with the reason where the interval is undefined.
std::string estimate(const Json& e) {
  if (e.at("value").is_null())
    return "— (" + escape_markdown(e.at("reason").get<std::string>()) + ")";
  std::string out = num(e.at("value"));
  if (!e.at("low").is_null()) out += " [" + num(e.at("low")) + ", " + num(e.at("high")) + "]";
  const std::string reason = e.at("reason").get<std::string>();
  if (!reason.empty()) out += " (" + escape_markdown(reason) + ")";
  return out;
}

std::string group_name(const Json& g) {
  return escape_markdown(g.at("environment").get<std::string>()) + " | " +
         escape_markdown(g.at("agent").get<std::string>()) +
         (g.at("self_test").get<bool>() ? " (self-test)" : "") + " | " +
         short_duration(g.at("time_limit_s").get<double>());
}

std::string percent(const Json& value) {
  return value.is_null() ? "—" : fmt::format("{:.0f}", value.get<double>());
}

}  // namespace

std::string render_markdown(const Json& report) {
  std::ostringstream md;
  const Json& settings = report.at("settings");
  const Json& totals = report.at("totals");
  const Json& groups = report.at("groups");
  md << "# rebench report\n\n";
  md << fmt::format(
      "{} runs ({} completed, {} interrupted) of {} environment(s) and {} agent(s). Scores are "
      "final normalised scores (starting solution 0, reference 1), clipped at 0; a run without a "
      "valid score counts 0. Intervals: {:.0f} % percentile bootstrap over runs, {} resamples, "
      "seed {}.\n\n",
      totals.at("runs").get<int>(), totals.at("completed").get<int>(),
      totals.at("interrupted").get<int>(), totals.at("environments").get<int>(),
      totals.at("agents").get<int>(), settings.at("confidence").get<double>() * 100,
      settings.at("bootstrap_resamples").get<int>(), settings.at("seed").get<std::uint64_t>());

  md << "## Summary\n\n";
  md << "| environment | agent | limit | runs | invalid | interrupted | mean [95 % CI] | best | "
        "score calls / h | human percentile (mean / best) |\n";
  md << "|---|---|---|---:|---:|---:|---|---:|---:|---|\n";
  for (const Json& g : groups) {
    const Json& c = g.at("counts");
    std::string human = "no human baseline";
    if (!g.at("human").is_null())
      human = percent(g["human"]["percentile_of_mean"]) + " / " +
              percent(g["human"]["percentile_of_best"]) + " (of " +
              std::to_string(g["human"]["human_runs"].get<int>()) + ")";
    md << "| " << group_name(g) << " | " << c.at("completed").get<int>() << " | "
       << c.at("invalid").get<int>() << " | " << c.at("interrupted").get<int>() << " | "
       << estimate(g.at("mean")) << " | " << num(g.at("best")) << " | "
       << num(g.at("score_calls_per_hour"), 1) << " | " << human << " |\n";
  }

  const int k_max = settings.at("k_max").get<int>();
  md << "\n## score@k\n\n"
        "Expected best final score of k runs drawn with replacement from the group's runs "
        "(computed exactly from the runs' order statistics), with a percentile-bootstrap "
        "interval over runs. For environments scored on their last submission (hidden score), "
        "a random run instead, as in the paper.\n\n";
  md << "| environment | agent | limit |";
  for (int k = 1; k <= k_max; ++k) md << " k=" << k << " |";
  md << "\n|---|---|---|";
  for (int k = 1; k <= k_max; ++k) md << "---|";
  md << "\n";
  for (const Json& g : groups) {
    md << "| " << group_name(g) << " |";
    for (const Json& item : g.at("score_at_k")) md << " " << num(item.at("value")) << " |";
    md << "\n";
  }
  md << "\n95 % intervals:\n\n";
  for (const Json& g : groups) {
    md << "- " << group_name(g) << ":";
    for (const Json& item : g.at("score_at_k"))
      md << " k=" << item.at("k").get<int>() << " "
         << (item.at("low").is_null()
                 ? "—"
                 : "[" + num(item.at("low")) + ", " + num(item.at("high")) + "]");
    md << "\n";
  }

  md << "\n## Time budgets\n\n"
        "The same total time spent as m runs of length T. **Derived, not measured**: a run of "
        "length T is each run's score log cut at T (its best, or last, valid entry up to then); "
        "a real T-long run would have had its final score taken at T and an agent that knew its "
        "budget. Score = expected best of m such runs (a random run for last-submission "
        "environments).\n\n";
  md << "| environment | agent | limit | total | allocation | score [95 % CI] |\n"
        "|---|---|---|---|---|---|\n";
  for (const Json& g : groups)
    for (const Json& b : g.at("budgets"))
      md << "| " << group_name(g) << " | " << short_duration(b.at("total_s").get<double>()) << " | "
         << b.at("label").get<std::string>() << " | " << estimate(b) << " |\n";

  md << "\n## Score over time\n\n"
        "Mean over runs of the normalised score the run would have had at each moment (best "
        "valid entry so far, or last valid for last-submission environments), from the score "
        "logs' elapsed time.\n\n";
  md << "| environment | agent | limit | 0 | 1/16 | 1/8 | 1/4 | 1/2 | end |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const Json& g : groups) {
    const double limit = g.at("time_limit_s").get<double>();
    const Json& mean = g.at("curve").at("mean");
    md << "| " << group_name(g) << " |";
    for (double f : {0.0, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1.0}) {
      Json value = nullptr;
      for (const Json& p : mean)
        if (p[0].get<double>() <= f * limit + 1e-6) value = p[1];
      md << " " << num(value) << " |";
    }
    md << "\n";
  }

  md << "\n## Human experts\n\n";
  const Json& human = report.at("human_baselines");
  if (human.is_null()) {
    md << "No human baselines file was read.\n";
  } else {
    md << "Percentile of each group's mean (and best run) among human experts' 8-hour runs on "
          "the original METR task: 100 × (humans below + ½ × humans equal) / humans, on "
          "normalised scores clipped at 0. Human rows come from the task READMEs, which do not "
          "match the paper's human sample exactly, so these percentiles are approximate (see "
          "`configs/human_baselines.json` for provenance).\n\n";
    md << "| environment | METR task | human runs | human mean | paper runs | rows from | "
          "anchors from |\n|---|---|---:|---:|---:|---|---|\n";
    for (const auto& [env, h] : human.at("environments").items())
      md << "| " << escape_markdown(env) << " | "
         << escape_markdown(h.at("metr_family").get<std::string>()) << " | " << h.at("runs").size()
         << " | " << num(h.at("mean")) << " | " << h.at("paper_expert_runs").get<int>() << " | "
         << escape_markdown(h.at("rows_where").get<std::string>()) << " | "
         << escape_markdown(h.at("anchors_where").get<std::string>()) << " |\n";
    for (const Json& env : human.at("no_baseline"))
      md << "| " << escape_markdown(env.get<std::string>()) << " | no human baseline | | | | | |\n";
    md << "\nPaper aggregates:\n\n";
    for (const Json& a : human.at("paper_aggregates")) {
      md << "- " << escape_markdown(a.at("name").get<std::string>()) << ": "
         << (a.contains("value") ? num(a.at("value")) : escape_markdown(a.value("text", "")))
         << " (" << escape_markdown(a.value("source", "")) << ", "
         << escape_markdown(a.value("where", ""));
      if (!a.value("note", "").empty()) md << "; " << escape_markdown(a.value("note", ""));
      md << ")\n";
    }
    md << "\n";
    for (const auto& [env, h] : human.at("environments").items())
      for (const Json& note : h.at("notes"))
        md << "- " << escape_markdown(env) << ": " << escape_markdown(note.get<std::string>())
           << "\n";
  }

  md << "\n## Runs\n\n| environment | agent | limit | run | status | valid | normalised | "
        "score calls (invalid) | time used | note |\n|---|---|---|---|---|---|---:|---|---|---|\n";
  for (const Json& g : groups)
    for (const Json& r : g.at("runs"))
      md << "| " << group_name(g) << " | " << escape_markdown(r.at("run_id").get<std::string>())
         << " | " << r.at("status").get<std::string>() << " | "
         << (r.at("valid").get<bool>() ? "yes" : "no") << " | " << num(r.at("normalized")) << " | "
         << r.at("score_calls").get<int>() << " (" << r.at("invalid_score_calls").get<int>()
         << ") | " << short_duration(r.at("used_s").get<double>()) << " | "
         << escape_markdown(r.at("excluded").get<std::string>().empty()
                                ? r.at("reason").get<std::string>()
                                : "excluded: " + r.at("excluded").get<std::string>())
         << " |\n";

  std::vector<std::string> notes;
  for (const Json& g : groups)
    for (const Json& n : g.at("notes"))
      notes.push_back(group_name(g) + ": " + escape_markdown(n.get<std::string>()));
  for (const Json& n : report.at("notes")) notes.push_back(escape_markdown(n.get<std::string>()));
  if (!notes.empty()) {
    md << "\n## Notes\n\n";
    for (const std::string& n : notes) md << "- " << n << "\n";
  }
  return md.str();
}

}  // namespace rebench::report
