// `rebench batch SUITE`: a suite's runs on this host (GPUs pinned, resumable) or as a Slurm job
// array; a live progress table and a summary. The logic is in src/batch/runner.cpp.
#include "batch/runner.hpp"
#include "cli/commands.hpp"
#include "rebench/time_util.hpp"

namespace rebench::cli {

void add_batch_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand(
      "batch", "Run a suite (environments x agents x repeats) here or through Slurm");
  struct Options {
    batch::BatchRequest request;
    std::string runs_dir, margin = "15m";
  };
  auto o = std::make_shared<Options>();
  command
      ->add_option("SUITE", o->request.suite,
                   "Suite file, or the name of one in configs/suites/ (e.g. smoke)")
      ->required();
  command->add_option("--parallel", o->request.parallel,
                      "Runs at once (local default 1; slurm: array throttle, default none)");
  command->add_option("--backend", o->request.backend, "local | slurm")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  command->add_option("--runs-dir", o->runs_dir,
                      "Where run directories go (default: the suite's runs_dir, else runs)");
  command->add_option("--profile", o->request.profile,
                      "Hardware profile for every run (default: the suite's, else detected)");
  command
      ->add_option("--gpus", o->request.gpus,
                   "local: GPUs the batch may pin, auto (all visible) or a list like 0,1")
      ->capture_default_str();
  command->add_flag("--dry-run", o->request.dry_run,
                    "Print the expanded runs and where each stands; run nothing");
  command->add_flag("--wait", o->request.wait, "slurm: follow the job array to its end");
  command->add_option("--partition", o->request.slurm.partition, "slurm: partition (-p)");
  command->add_option("--account", o->request.slurm.account, "slurm: account (-A)");
  command
      ->add_option("--sbatch-arg", o->request.slurm.sbatch_args,
                   "slurm: extra sbatch argument, e.g. --sbatch-arg=--qos=high (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--cpus-per-task", o->request.slurm.cpus_per_task,
                      "slurm: CPUs per run (default: the cluster's)");
  command
      ->add_option("--time-margin", o->margin,
                   "slurm: added to the time limit for setup and scoring")
      ->capture_default_str();
  command->add_flag("--json", o->request.json,
                    "Print the summary (or the plan, or the submission) as JSON");
  const Registry* registry = context.registry;
  std::vector<std::string> argv = context.argv;
  context.actions["batch"] = [o, registry, argv] {
    batch::BatchRequest request = o->request;
    request.runs_dir = o->runs_dir;
    request.slurm.margin_s = parse_duration(o->margin);
    request.argv = argv;
    return batch::run_batch(*registry, request);
  };
}

}  // namespace rebench::cli
