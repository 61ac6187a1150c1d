// `rebench info ENV`: what an environment asks, how it is scored, its budgets and anchors.
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "rebench/anchors.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/registry.hpp"
#include "rebench/time_util.hpp"

namespace rebench::cli {

namespace {

nlohmann::json anchors_json(const EnvironmentInfo& info, const EnvironmentAnchors* anchors) {
  nlohmann::json out = nlohmann::json::object();
  if (anchors == nullptr) return out;
  auto scored = [&](double raw) {
    double score = info.transform.apply(raw);
    return nlohmann::json{
        {"raw", raw}, {"score", std::isfinite(score) ? nlohmann::json(score) : nlohmann::json()}};
  };
  for (const auto& [profile, pair] : anchors->profiles) {
    nlohmann::json starting = to_json(pair.starting);
    starting["score"] = scored(pair.starting.raw)["score"];
    nlohmann::json reference = to_json(pair.reference);
    reference["score"] = scored(pair.reference.raw)["score"];
    out[profile] = {{"starting", starting}, {"reference", reference}};
  }
  if (anchors->paper_starting_raw && anchors->paper_reference_raw)
    out["paper"] = {{"starting", scored(*anchors->paper_starting_raw)},
                    {"reference", scored(*anchors->paper_reference_raw)}};
  return out;
}

}  // namespace

void add_info_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand("info", "Describe one environment: task, scoring, anchors");
  struct Options {
    std::string environment;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command->add_option("ENV", options->environment, "Environment id (see `rebench list`)")
      ->required();
  command->add_flag("--json", options->json, "Print JSON");
  const Registry* context_registry = context.registry;
  context.actions["info"] = [options, context_registry] {
    const Environment& env = context_registry->get(options->environment);
    const EnvironmentInfo& info = env.info();
    AnchorTable table = AnchorTable::load(configs_dir() / "anchors.json");
    const EnvironmentAnchors* anchors = table.find(info.id);
    nlohmann::json out = to_json(info);
    out["anchors"] = anchors_json(info, anchors);
    nlohmann::json profiles = nlohmann::json::object();
    for (const std::string& name : available_profiles(configs_dir() / "profiles"))
      profiles[name] =
          Profile::load(configs_dir() / "profiles" / (name + ".json")).settings_for(info.id);
    out["profile_settings"] = profiles;
    if (options->json) {
      print_json(out);
      return ExitCode::kOk;
    }
    std::cout << fmt::format("{} ({} v{})\n\n{}\n\n", info.title, info.id, info.version,
                             info.summary);
    std::cout << fmt::format("  metric        {} [{}]\n", info.metric_name, info.metric_unit);
    std::cout << fmt::format("  score         {} ({} is better; {} valid entry counts)\n",
                             info.transform.formula, to_string(info.direction),
                             to_string(info.selection));
    std::cout << fmt::format("  agent sees    scores {}\n", to_string(info.visibility));
    std::cout << fmt::format("  time limit    {} (default)\n",
                             format_duration(info.default_time_limit_s));
    std::cout << fmt::format("  score call    at most {}\n", format_duration(info.score_timeout_s));
    std::cout << fmt::format("  resources     {} GPU(s), {} GiB, {} processes\n",
                             info.resources.gpus, info.resources.memory_gb,
                             info.resources.max_processes);
    std::cout << "  anchors (raw -> score):\n";
    for (const auto& [profile, pair] : out["anchors"].items()) {
      std::string where = pair["starting"].contains("hardware")
                              ? " measured on " + pair["starting"]["hardware"].get<std::string>() +
                                    ", " + pair["starting"]["date"].get<std::string>()
                              : "";
      std::cout << fmt::format(
          "    {:<8} starting {:.5g} -> {:.4f}   reference {:.5g} -> {:.4f}{}\n", profile,
          pair["starting"]["raw"].get<double>(), pair["starting"]["score"].get<double>(),
          pair["reference"]["raw"].get<double>(), pair["reference"]["score"].get<double>(), where);
    }
    std::cout << fmt::format(
        "  normalised    (score - starting) / (reference - starting) on this profile's anchors\n");
    return ExitCode::kOk;
  };
}

}  // namespace rebench::cli
