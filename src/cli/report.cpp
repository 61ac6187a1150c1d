// `rebench report RUN_DIRS…`: statistics over finished runs (means with bootstrap intervals,
// score@k, time budgets, score over time, human-expert percentiles) as Markdown, JSON or one
// self-contained HTML page; `--fail-under X` makes it a CI gate.
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"
#include "report/analysis.hpp"
#include "report/render.hpp"

namespace rebench::cli {

void add_report_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand(
      "report", "Statistics and charts over finished runs (Markdown, JSON or HTML)");
  struct Options {
    std::vector<std::string> paths;
    std::string format = "md";
    bool json = false;
    std::string output;
    std::optional<double> fail_under;
    std::uint64_t seed = report::BootstrapOptions{}.seed;
    int bootstrap = report::BootstrapOptions{}.resamples;
    int k_max = report::ReportOptions{}.k_max;
    std::string human_baselines;
  };
  auto o = std::make_shared<Options>();
  command->add_option("RUN_DIRS", o->paths, "Run directories, or folders searched for them")
      ->required();
  command->add_option("--format", o->format, "md (default), json or html")
      ->check(CLI::IsMember({"md", "json", "html"}));
  command->add_flag("--json", o->json, "Same as --format json");
  command->add_option("--output", o->output, "Write to FILE (atomically) instead of stdout");
  command->add_option("--fail-under", o->fail_under,
                      "Exit 7 when a group's mean normalised score is below X");
  command->add_option("--seed", o->seed, "Seed of the bootstrap (default 20241122)");
  command->add_option("--bootstrap", o->bootstrap, "Bootstrap resamples (default 10000)")
      ->check(CLI::Range(0, 10000000));
  command->add_option("--k-max", o->k_max, "Largest k of score@k (default 8)")
      ->check(CLI::Range(1, 1000));
  command->add_option("--human-baselines", o->human_baselines,
                      "Human expert table (default configs/human_baselines.json)");
  context.actions["report"] = [o] {
    std::vector<std::filesystem::path> paths(o->paths.begin(), o->paths.end());
    report::RunScan scan = report::load_runs(paths);

    std::optional<report::HumanBaselines> humans;
    const std::filesystem::path humans_file = o->human_baselines.empty()
                                                  ? configs_dir() / "human_baselines.json"
                                                  : std::filesystem::path(o->human_baselines);
    if (!o->human_baselines.empty() || std::filesystem::exists(humans_file))
      humans = report::load_human_baselines(humans_file);
    else
      scan.notes.push_back("no human baselines: " + humans_file.string() + " does not exist");

    report::ReportOptions options;
    options.bootstrap.seed = o->seed;
    options.bootstrap.resamples = o->bootstrap;
    options.k_max = o->k_max;
    const Json document = report::build_report(scan, humans ? &*humans : nullptr, options);

    const std::string format = o->json ? "json" : o->format;
    std::string text;
    if (format == "json")
      text = document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    else if (format == "html")
      text = report::render_html(document);
    else
      text = report::render_markdown(document);
    if (o->output.empty()) {
      std::cout << text << std::flush;
    } else {
      write_file_atomic(o->output, text);
      spdlog::info("report written to {}", o->output);
    }

    if (o->fail_under) {
      const std::vector<std::string> failures = report::groups_below(document, *o->fail_under);
      for (const std::string& failure : failures) spdlog::error("--fail-under: {}", failure);
      if (!failures.empty()) return ExitCode::kBelowThreshold;
    }
    return ExitCode::kOk;
  };
}

}  // namespace rebench::cli
