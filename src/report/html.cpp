// The self-contained HTML report: tables, notes and Vega-Lite charts, with Vega and Vega-Lite
// inlined (compiled into the binary), so the page renders offline from a single file.
#include <algorithm>
#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "report/analysis.hpp"
#include "report/js_bundle.hpp"
#include "report/render.hpp"

namespace rebench::report {

namespace {

std::string num(const Json& value, int decimals = 3) {
  if (value.is_null()) return "—";
  return fmt::format("{:.{}f}", value.get<double>(), decimals);
}

std::string estimate(const Json& e) {
  if (e.at("value").is_null()) return "— (" + escape_html(e.at("reason").get<std::string>()) + ")";
  std::string out = num(e.at("value"));
  if (!e.at("low").is_null()) out += " [" + num(e.at("low")) + ", " + num(e.at("high")) + "]";
  const std::string reason = e.at("reason").get<std::string>();
  if (!reason.empty()) out += " <small>(" + escape_html(reason) + ")</small>";
  return out;
}

/// A table from already-escaped cells.
std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table><thead><tr>";
  for (const std::string& h : head) out += "<th>" + h + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const std::string& cell : row) out += "<td>" + cell + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::vector<std::string> group_cells(const Json& g) {
  return {escape_html(g.at("environment").get<std::string>()),
          escape_html(g.at("agent").get<std::string>()) +
              (g.at("self_test").get<bool>() ? " (self-test)" : ""),
          short_duration(g.at("time_limit_s").get<double>())};
}

/// Inline <script> content must not contain "</script" (any case): it would end the element.
std::string script_safe(const std::string& js) {
  std::string out;
  out.reserve(js.size());
  for (std::size_t i = 0; i < js.size(); ++i) {
    if (js[i] == '<' && i + 1 < js.size() && js[i + 1] == '/') {
      std::string next = js.substr(i + 2, 6);
      std::transform(next.begin(), next.end(), next.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (next == "script") {
        out += "<\\/";  // same string or regex in JavaScript, no end tag in HTML
        ++i;
        continue;
      }
    }
    out += js[i];
  }
  return out;
}

const char* kStyle = R"(
body { font-family: sans-serif; margin: 2em auto; max-width: 1400px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.chart { margin: 1em 0 2em 0; overflow-x: auto; }
.muted { color: #666; font-size: 0.9em; }
)";

const char* kRenderScript = R"(
(function () {
  var charts = JSON.parse(document.getElementById('rebench-charts').textContent);
  var rendered = 0, failed = 0;
  function settle() {
    if (rendered + failed < charts.length) return;
    document.body.setAttribute('data-charts-rendered', String(rendered));
    document.body.setAttribute('data-charts-failed', String(failed));
  }
  function fail(element, error) {
    element.textContent = 'chart failed: ' + error;
    failed++;
    settle();
  }
  charts.forEach(function (chart) {
    var element = document.getElementById(chart.id);
    try {
      var spec = vegaLite.compile(chart.spec).spec;
      new vega.View(vega.parse(spec), {renderer: 'svg', container: element, hover: true})
        .runAsync()
        .then(function () { rendered++; settle(); })
        .catch(function (error) { fail(element, error); });
    } catch (error) {
      fail(element, error);
    }
  });
  settle();
})();
)";

}  // namespace

std::string render_html(const Json& report) {
  const JsBundle& js = js_bundle();
  if (!js.available)
    throw Error(std::string("HTML reports are unavailable in this build: ") + js.missing_reason,
                ExitCode::kUsage);
  const Json& groups = report.at("groups");
  const Json& totals = report.at("totals");
  const Json& settings = report.at("settings");
  const Json charts = chart_specs(report);
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<title>rebench report</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  html << "<h1>rebench report</h1>\n<p class=\"muted\">"
       << fmt::format(
              "{} runs ({} completed, {} interrupted) of {} environment(s) and {} "
              "agent(s). Final normalised scores (starting solution 0, reference 1), "
              "clipped at 0; a run without a valid score counts 0. Intervals: {:.0f} % "
              "percentile bootstrap over runs ({} resamples, seed {}). Charts: Vega {} "
              "and Vega-Lite {}, inlined.",
              totals.at("runs").get<int>(), totals.at("completed").get<int>(),
              totals.at("interrupted").get<int>(), totals.at("environments").get<int>(),
              totals.at("agents").get<int>(), settings.at("confidence").get<double>() * 100,
              settings.at("bootstrap_resamples").get<int>(),
              settings.at("seed").get<std::uint64_t>(), js.vega_version, js.vega_lite_version)
       << "</p>\n";

  std::vector<std::vector<std::string>> rows;
  for (const Json& g : groups) {
    std::vector<std::string> row = group_cells(g);
    const Json& c = g.at("counts");
    row.push_back(std::to_string(c.at("completed").get<int>()));
    row.push_back(std::to_string(c.at("invalid").get<int>()));
    row.push_back(std::to_string(c.at("interrupted").get<int>()));
    row.push_back(estimate(g.at("mean")));
    row.push_back(num(g.at("best")));
    row.push_back(num(g.at("score_calls_per_hour"), 1));
    const Json& h = g.at("human");
    row.push_back(h.is_null() ? "no human baseline"
                              : num(h.at("percentile_of_mean"), 0) + " / " +
                                    num(h.at("percentile_of_best"), 0) + " (of " +
                                    std::to_string(h.at("human_runs").get<int>()) + ")");
    rows.push_back(row);
  }
  html << "<h2>Summary</h2>\n"
       << table({"environment", "agent", "limit", "runs", "invalid", "interrupted",
                 "mean [95 % CI]", "best", "score calls / h", "human percentile (mean / best)"},
                rows);

  for (const Json& c : charts)
    html << "<h2>" << escape_html(c.at("title").get<std::string>()) << "</h2>\n<p class=\"muted\">"
         << escape_html(c.at("description").get<std::string>())
         << "</p>\n<div class=\"chart\" id=\"" << escape_html(c.at("id").get<std::string>())
         << "\"></div>\n";

  rows.clear();
  for (const Json& g : groups)
    for (const Json& b : g.at("budgets")) {
      std::vector<std::string> row = group_cells(g);
      row.push_back(short_duration(b.at("total_s").get<double>()));
      row.push_back(escape_html(b.at("label").get<std::string>()));
      row.push_back(estimate(b));
      rows.push_back(row);
    }
  html << "<h2>Time budgets (table)</h2>\n<p class=\"muted\">Derived, not measured: a run of "
          "length T is each run's score log cut at T.</p>\n"
       << table({"environment", "agent", "limit", "total", "allocation", "score [95 % CI]"}, rows);

  const Json& human = report.at("human_baselines");
  if (!human.is_null()) {
    rows.clear();
    for (const auto& [env, h] : human.at("environments").items())
      rows.push_back({escape_html(env), escape_html(h.at("metr_family").get<std::string>()),
                      std::to_string(h.at("runs").size()), num(h.at("mean")),
                      std::to_string(h.at("paper_expert_runs").get<int>()),
                      escape_html(h.at("rows_where").get<std::string>())});
    for (const Json& env : human.at("no_baseline"))
      rows.push_back({escape_html(env.get<std::string>()), "no human baseline", "", "", "", ""});
    html << "<h2>Human experts</h2>\n<p class=\"muted\">Percentiles are mid-rank among the "
            "human rows of the task READMEs (approximate: they are not the paper's exact "
            "sample).</p>\n"
         << table(
                {"environment", "METR task", "human runs", "human mean", "paper runs", "rows from"},
                rows);
    html << "<ul>\n";
    for (const Json& a : human.at("paper_aggregates"))
      html << "<li>" << escape_html(a.at("name").get<std::string>()) << ": "
           << (a.contains("value") ? num(a.at("value")) : escape_html(a.value("text", "")))
           << " <small>(" << escape_html(a.value("source", "")) << ", "
           << escape_html(a.value("where", "")) << ")</small></li>\n";
    html << "</ul>\n";
  }

  std::vector<std::string> notes;
  for (const Json& g : groups)
    for (const Json& n : g.at("notes"))
      notes.push_back(escape_html(g.at("environment").get<std::string>() + " · " +
                                  g.at("agent").get<std::string>() + ": " + n.get<std::string>()));
  for (const Json& n : report.at("notes")) notes.push_back(escape_html(n.get<std::string>()));
  if (!notes.empty()) {
    html << "<h2>Notes</h2>\n<ul>\n";
    for (const std::string& n : notes) html << "<li>" << n << "</li>\n";
    html << "</ul>\n";
  }

  html << "<script type=\"application/json\" id=\"rebench-charts\">" << json_for_script(charts)
       << "</script>\n<script>" << script_safe(js.vega) << "</script>\n<script>"
       << script_safe(js.vega_lite) << "</script>\n<script>" << kRenderScript
       << "</script>\n</body>\n</html>\n";
  return html.str();
}

}  // namespace rebench::report
