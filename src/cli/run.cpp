// `rebench run ENV (--agent SPEC | --human)`: one whole run, with its result printed at the end.
#include <iostream>

#include "cli/commands.hpp"
#include "rebench/errors.hpp"
#include "rebench/session.hpp"
#include "rebench/time_util.hpp"

namespace rebench::cli {

/// Options shared by `run` (and bound the same way wherever a run is configured).
void add_run_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand("run", "Run an agent or a human on one environment");
  struct Options {
    std::string environment, agent, time_limit, network = "on";
    std::string runs_dir = "runs", agent_dir, anchors, score_timeout;
    MachineOptions machine;
    std::vector<std::string> pass_env;
    bool human = false, json = false, exclude_score_time = false;
    std::optional<std::uint64_t> seed;
  };
  auto o = std::make_shared<Options>();
  command->add_option("ENV", o->environment, "Environment id (see `rebench list`)")->required();
  auto* agent =
      command->add_option("--agent", o->agent, "noop | reference | replay:RUN_DIR | cmd:COMMAND");
  auto* human = command->add_flag("--human", o->human, "An interactive shell for a human");
  agent->excludes(human);
  human->excludes(agent);
  command->add_option("--time-limit", o->time_limit,
                      "Budget, e.g. 30m, 8h (default: the environment's)");
  add_machine_options(command, o->machine);
  command->add_option("--network", o->network, "Agent network: on | none")
      ->check(CLI::IsMember({"on", "none"}))
      ->capture_default_str();
  command->add_option("--runs-dir", o->runs_dir, "Where run directories go")->capture_default_str();
  command->add_option("--seed", o->seed,
                      "Seed passed to the agent as REBENCH_SEED and recorded (default: random); "
                      "scoring inputs always come from a CSPRNG");
  command->add_option("--agent-dir", o->agent_dir, "Folder bound read-only at /opt/agent");
  command->add_option("--pass-env", o->pass_env,
                      "Environment variable passed to the agent (repeatable)");
  command->add_flag("--exclude-score-time", o->exclude_score_time,
                    "Do not charge time spent in score calls to the budget");
  command->add_option("--score-timeout", o->score_timeout,
                      "Limit of one score call (default: the environment's)");
  command->add_option("--anchors", o->anchors,
                      "Anchor table for normalisation (default: configs/anchors.json)");
  command->add_flag("--json", o->json, "Print result.json instead of the summary");
  const Registry* registry = context.registry;
  std::vector<std::string> argv = context.argv;
  context.actions["run"] = [o, registry, argv] {
    if (o->agent.empty() && !o->human) throw UsageError("run: give --agent SPEC or --human");
    RunOptions options;
    options.environment_id = o->environment;
    if (o->human)
      options.agent.kind = AgentSpec::Kind::kHuman;
    else
      options.agent = parse_agent_spec(o->agent);
    if (!o->time_limit.empty()) options.time_limit_s = parse_duration(o->time_limit);
    if (!o->score_timeout.empty()) options.score_timeout_s = parse_duration(o->score_timeout);
    options.profile = o->machine.profile;
    options.gpus = o->machine.gpus;
    options.network = o->network == "on";
    options.runs_dir = o->runs_dir;
    options.seed = o->seed;
    options.sandbox = o->machine.sandbox_mode();
    options.agent_dir = o->agent_dir;
    options.pass_env = o->pass_env;
    options.count_score_time = !o->exclude_score_time;
    options.anchors_file = o->anchors;
    options.argv = argv;
    RunOutcome outcome = run_environment(*registry, options);
    print_run_outcome(outcome.result, outcome.run_dir.string(), o->json);
    return outcome.exit_code;
  };
}

}  // namespace rebench::cli
