// `rebench list`: the registered environments, one line each (or JSON).
#include <iostream>

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
    std::cout << fmt::format("{:<18} {:<9} {:<6} {:<5} {:>4} {}\n", "ENVIRONMENT", "SCORE",
                             "BETTER", "FINAL", "GPUS", "TITLE");
    for (const Environment* env : registry.all()) {
      const EnvironmentInfo& info = env->info();
      std::cout << fmt::format("{:<18} {:<9} {:<6} {:<5} {:>4} {}\n", info.id,
                               info.transform.formula, to_string(info.direction),
                               to_string(info.selection), info.resources.gpus, info.title);
    }
    return ExitCode::kOk;
  };
}

}  // namespace rebench::cli
