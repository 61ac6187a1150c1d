// `rebench list`: the registered environments, one line each (or JSON).
#include <iostream>

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "rebench/registry.hpp"
#include "rebench/time_util.hpp"

namespace rebench::cli {

void add_list_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand("list", "List the environments built into rebench");
  auto json = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "Print JSON (an array of environment descriptions)");
  const Registry* context_registry = context.registry;
  context.actions["list"] = [json, context_registry] {
    const Registry& registry = *context_registry;
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const Environment* env : registry.all()) out.push_back(to_json(env->info()));
      print_json(out);
      return ExitCode::kOk;
    }
    // Columns as wide as their widest entry (environment ids and formulas vary in length).
    std::size_t id_width = std::string("ENVIRONMENT").size(), score_width = 5;
    for (const Environment* env : registry.all()) {
      id_width = std::max(id_width, env->info().id.size());
      score_width = std::max(score_width, env->info().transform.formula.size());
    }
    auto row = [&](const std::string& id, const std::string& score, const std::string& better,
                   const std::string& final, const std::string& gpus, const std::string& title) {
      std::cout << fmt::format("{:<{}}  {:<{}}  {:<6} {:<5} {:>4} {}\n", id, id_width, score,
                               score_width, better, final, gpus, title);
    };
    row("ENVIRONMENT", "SCORE", "BETTER", "FINAL", "GPUS", "TITLE");
    for (const Environment* env : registry.all()) {
      const EnvironmentInfo& info = env->info();
      row(info.id, info.transform.formula, to_string(info.direction), to_string(info.selection),
          std::to_string(info.resources.gpus), info.title);
    }
    return ExitCode::kOk;
  };
}

}  // namespace rebench::cli
