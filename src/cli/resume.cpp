// `rebench resume RUN_DIR`: continue an interrupted run with the budget it had left.
#include <iostream>

#include "cli/commands.hpp"
#include "rebench/session.hpp"

namespace rebench::cli {

void add_resume_command(CLI::App& app, Context& context) {
  auto* command =
      app.add_subcommand("resume", "Continue an interrupted run with its remaining budget");
  auto run_dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto gpus = std::make_shared<std::string>();
  command->add_option("RUN_DIR", *run_dir, "The run directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  command->add_option("--gpus", *gpus,
                      "GPUs to pin: auto or a list like 0,1 (default: what the run asked for)");
  command->add_flag("--json", *json, "Print result.json instead of the summary");
  const Registry* registry = context.registry;
  std::vector<std::string> argv = context.argv;
  context.actions["resume"] = [run_dir, json, gpus, registry, argv] {
    RunOutcome outcome = resume_run(*registry, *run_dir, argv, *gpus);
    print_run_outcome(outcome.result, outcome.run_dir.string(), *json);
    return outcome.exit_code;
  };
}

}  // namespace rebench::cli
