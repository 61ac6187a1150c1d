// The Vega-Lite specs of the HTML report's charts, built from the report document.
#include <fmt/format.h>

#include "report/analysis.hpp"
#include "report/render.hpp"

namespace rebench::report {

namespace {

Json field(const std::string& name, const std::string& type, const Json& title = nullptr) {
  Json f = {{"field", name}, {"type", type}};
  if (!title.is_null()) f["title"] = title;
  return f;
}

Json agent_color() {
  return {{"field", "agent"},
          {"type", "nominal"},
          {"title", "agent"},
          {"legend", {{"orient", "bottom"}, {"labelLimit", 400}, {"columns", 1}}}};
}

Json chart(const std::string& id, const std::string& title, const std::string& description,
           Json spec) {
  spec["$schema"] = "https://vega.github.io/schema/vega-lite/v6.json";
  spec["config"] = {{"font", "sans-serif"}, {"axis", {{"labelLimit", 240}}}};
  return {{"id", id}, {"title", title}, {"description", description}, {"spec", spec}};
}

std::string agent_of(const Json& g) {
  return g.at("agent").get<std::string>() + " (" +
         short_duration(g.at("time_limit_s").get<double>()) + ")";
}

}  // namespace

Json chart_specs(const Json& report) {
  Json charts = Json::array();
  const Json& groups = report.at("groups");

  Json summary = Json::array();
  for (const Json& g : groups)
    summary.push_back({{"environment", g.at("environment")},
                       {"agent", agent_of(g)},
                       {"mean", g.at("mean").at("value")},
                       {"low", g.at("mean").at("low")},
                       {"high", g.at("mean").at("high")},
                       {"runs", g.at("counts").at("completed")}});
  const Json y_agent = field("agent", "nominal", nullptr);
  charts.push_back(chart(
      "chart-summary", "Mean normalised score",
      "Per environment and agent: mean final normalised score (clipped at 0) with its 95 % "
      "bootstrap interval. 0 = starting solution, 1 = reference solution.",
      {{"data", {{"values", summary}}},
       {"facet", {{"row", field("environment", "nominal", "environment")}}},
       {"resolve", {{"scale", {{"y", "independent"}}}}},
       {"spec",
        {{"width", 520},
         {"layer",
          Json::array({{{"mark", {{"type", "rule"}, {"strokeDash", {4, 4}}, {"color", "#999"}}},
                        {"encoding", {{"x", {{"datum", 1}, {"type", "quantitative"}}}}}},
                       {{"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
                        {"encoding",
                         {{"y", y_agent},
                          {"x", field("low", "quantitative", "mean normalised score")},
                          {"x2", {{"field", "high"}}},
                          {"color", agent_color()}}}},
                       {{"mark", {{"type", "point"}, {"filled", true}, {"size", 90}}},
                        {"encoding",
                         {{"y", y_agent},
                          {"x", field("mean", "quantitative")},
                          {"color", agent_color()},
                          {"tooltip",
                           Json::array({field("agent", "nominal"), field("mean", "quantitative"),
                                        field("low", "quantitative"), field("high", "quantitative"),
                                        field("runs", "quantitative")})}}}}})}}}}));

  Json at_k = Json::array();
  for (const Json& g : groups)
    for (const Json& item : g.at("score_at_k"))
      at_k.push_back({{"environment", g.at("environment")},
                      {"agent", agent_of(g)},
                      {"k", item.at("k")},
                      {"value", item.at("value")},
                      {"low", item.at("low")},
                      {"high", item.at("high")}});
  charts.push_back(
      chart("chart-score-at-k", "score@k",
            "Expected best of k runs drawn with replacement (a random run for last-submission "
            "environments), with 95 % bootstrap bands.",
            {{"data", {{"values", at_k}}},
             {"facet", {{"column", field("environment", "nominal", "environment")}}},
             {"spec",
              {{"width", 300},
               {"height", 220},
               {"layer", Json::array({{{"mark", {{"type", "area"}, {"opacity", 0.18}}},
                                       {"encoding",
                                        {{"x", field("k", "quantitative", "k (runs)")},
                                         {"y", field("low", "quantitative", "normalised score")},
                                         {"y2", {{"field", "high"}}},
                                         {"color", agent_color()}}}},
                                      {{"mark", {{"type", "line"}, {"point", true}}},
                                       {"encoding",
                                        {{"x", field("k", "quantitative")},
                                         {"y", field("value", "quantitative")},
                                         {"color", agent_color()}}}}})}}}}));

  Json budgets = Json::array();
  for (const Json& g : groups)
    for (const Json& b : g.at("budgets"))
      budgets.push_back({{"environment", g.at("environment")},
                         {"agent", agent_of(g)},
                         {"total", short_duration(b.at("total_s").get<double>()) + " in total"},
                         {"allocation", b.at("label")},
                         {"m", b.at("runs")},
                         {"value", b.at("value")},
                         {"low", b.at("low")},
                         {"high", b.at("high")}});
  const Json x_alloc = {{"field", "allocation"},
                        {"type", "ordinal"},
                        {"title", "runs × length (derived by cutting score logs)"},
                        {"sort", {{"field", "m"}}}};
  charts.push_back(chart(
      "chart-budgets", "Time budgets",
      "The same total time as m runs of length T, derived by cutting each run's score log at T "
      "(not real shorter runs).",
      {{"data", {{"values", budgets}}},
       {"facet",
        {{"row", field("environment", "nominal", "environment")},
         {"column", field("total", "nominal", nullptr)}}},
       {"resolve", {{"scale", {{"x", "independent"}}}}},
       {"spec",
        {{"width", 300},
         {"height", 200},
         {"layer", Json::array({{{"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
                                 {"encoding",
                                  {{"x", x_alloc},
                                   {"xOffset", {{"field", "agent"}}},
                                   {"y", field("low", "quantitative", "normalised score")},
                                   {"y2", {{"field", "high"}}},
                                   {"color", agent_color()}}}},
                                {{"mark", {{"type", "point"}, {"filled", true}, {"size", 70}}},
                                 {"encoding",
                                  {{"x", x_alloc},
                                   {"xOffset", {{"field", "agent"}}},
                                   {"y", field("value", "quantitative")},
                                   {"color", agent_color()}}}}})}}}}));

  Json curves = Json::array();
  for (const Json& g : groups) {
    for (const Json& run : g.at("curve").at("runs"))
      for (const Json& p : run.at("points"))
        curves.push_back({{"environment", g.at("environment")},
                          {"agent", agent_of(g)},
                          {"series", run.at("run_id")},
                          {"kind", "run"},
                          {"hours", p[0].get<double>() / 3600.0},
                          {"value", p[1]}});
    for (const Json& p : g.at("curve").at("mean"))
      curves.push_back({{"environment", g.at("environment")},
                        {"agent", agent_of(g)},
                        {"series", "mean " + agent_of(g)},
                        {"kind", "mean"},
                        {"hours", p[0].get<double>() / 3600.0},
                        {"value", p[1]}});
  }
  auto curve_layer = [](const std::string& kind, double width, double opacity) {
    return Json{{"transform", Json::array({{{"filter", {{"field", "kind"}, {"equal", kind}}}}})},
                {"mark",
                 {{"type", "line"},
                  {"interpolate", "step-after"},
                  {"strokeWidth", width},
                  {"opacity", opacity}}},
                {"encoding",
                 {{"x", field("hours", "quantitative", "elapsed time (h)")},
                  {"y", field("value", "quantitative", "normalised score so far")},
                  {"detail", {{"field", "series"}}},
                  {"color", agent_color()}}}};
  };
  charts.push_back(
      chart("chart-curves", "Score over time",
            "Each run's normalised score so far (thin) and the mean over runs (thick), against the "
            "elapsed time in the score log.",
            {{"data", {{"values", curves}}},
             {"facet", {{"column", field("environment", "nominal", "environment")}}},
             {"spec",
              {{"width", 300},
               {"height", 220},
               {"layer", Json::array({curve_layer("run", 1, 0.4), curve_layer("mean", 3, 1)})}}}}));

  const Json& human = report.at("human_baselines");
  if (!human.is_null() && !human.at("environments").empty()) {
    Json points = Json::array();
    for (const auto& [env, h] : human.at("environments").items())
      for (const Json& r : h.at("runs"))
        points.push_back({{"environment", env},
                          {"who", "human expert (8 h)"},
                          {"value", r.at("normalized_clipped")}});
    for (const Json& g : groups)
      if (!g.at("human").is_null() && !g.at("mean").at("value").is_null())
        points.push_back({{"environment", g.at("environment")},
                          {"who", agent_of(g)},
                          {"value", g.at("mean").at("value")}});
    charts.push_back(chart(
        "chart-humans", "Agents among human experts",
        "Human experts' 8-hour runs on the original METR task (grey ticks, from the task "
        "READMEs) and each agent's mean (points).",
        {{"data", {{"values", points}}},
         {"width", 560},
         {"layer",
          Json::array(
              {{{"transform",
                 Json::array({{{"filter", {{"field", "who"}, {"equal", "human expert (8 h)"}}}}})},
                {"mark", {{"type", "tick"}, {"color", "#888"}, {"thickness", 2}}},
                {"encoding",
                 {{"x", field("value", "quantitative", "normalised score (clipped at 0)")},
                  {"y", field("environment", "nominal", "environment")}}}},
               {{"transform",
                 Json::array({{{"filter",
                                {{"not", {{"field", "who"}, {"equal", "human expert (8 h)"}}}}}}})},
                {"mark", {{"type", "point"}, {"filled", true}, {"size", 110}}},
                {"encoding",
                 {{"x", field("value", "quantitative")},
                  {"y", field("environment", "nominal")},
                  {"color",
                   {{"field", "who"},
                    {"type", "nominal"},
                    {"title", "agent"},
                    {"legend",
                     {{"orient", "bottom"}, {"labelLimit", 400}, {"columns", 1}}}}}}}}})}}));
  }
  return charts;
}

}  // namespace rebench::report
