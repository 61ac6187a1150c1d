// `rebench batch-task PLAN [INDEX]` (internal, hidden): one run of a batch plan, skipped when
// completed, resumed when interrupted, started otherwise. Started by `rebench batch` (a child
// per run) and by Slurm array tasks (INDEX from SLURM_ARRAY_TASK_ID).
#include <cstdlib>

#include "batch/task.hpp"
#include "cli/commands.hpp"
#include "rebench/errors.hpp"
#include "rebench/session.hpp"

namespace rebench::cli {

void add_batch_task_command(CLI::App& app, Context& context) {
  auto* command =
      app.add_subcommand("batch-task", "internal: one run of a batch plan (started by batch)");
  command->group("");  // hidden from --help: users run `rebench batch`
  struct Options {
    std::string plan, gpus = "auto";
    std::optional<std::size_t> index;
  };
  auto o = std::make_shared<Options>();
  command->add_option("PLAN", o->plan)->required();
  command->add_option("INDEX", o->index);
  command->add_option("--gpus", o->gpus);
  const Registry* registry = context.registry;
  std::vector<std::string> argv = context.argv;
  context.actions["batch-task"] = [o, registry, argv] {
    std::size_t index = 0;
    if (o->index) {
      index = *o->index;
    } else {
      const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
      if (task == nullptr)
        throw UsageError("batch-task: give INDEX (or run as a Slurm array task)");
      index = std::stoul(task);
    }
    batch::BatchPlan plan = batch::BatchPlan::load(o->plan);
    batch::TaskOutcome outcome = batch::execute_task(*registry, plan, index, o->gpus, argv);
    print_run_outcome(outcome.result, outcome.run_dir.string(), false);
    return outcome.exit_code;
  };
}

}  // namespace rebench::cli
