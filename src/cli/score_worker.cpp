// `rebench score-worker` (internal, hidden): the process that scores one snapshot inside the
// scoring sandbox. Started only by the harness; see scoring_worker.hpp.
#include "cli/commands.hpp"
#include "rebench/profile.hpp"
#include "rebench/scoring_worker.hpp"

namespace rebench::cli {

void add_score_worker_command(CLI::App& app, Context& context) {
  auto* command =
      app.add_subcommand("score-worker", "internal: score one snapshot (started by the harness)");
  command->group("");  // hidden from --help: users never call it
  struct Options {
    std::string environment, profile_file, solution, scratch, private_dir, result;
    std::uint64_t seed = 0;
  };
  auto o = std::make_shared<Options>();
  command->add_option("--env", o->environment)->required();
  command->add_option("--profile-file", o->profile_file)->required();
  command->add_option("--solution", o->solution)->required();
  command->add_option("--scratch", o->scratch)->required();
  command->add_option("--private", o->private_dir);
  command->add_option("--seed", o->seed)->required();
  command->add_option("--result", o->result)->required();
  const Registry* registry = context.registry;
  context.actions["score-worker"] = [o, registry] {
    const Environment& env = registry->get(o->environment);
    Profile profile = Profile::load(o->profile_file);
    run_worker(env, profile, o->solution, o->private_dir, o->scratch, o->seed, o->result);
    return ExitCode::kOk;
  };
}

}  // namespace rebench::cli
