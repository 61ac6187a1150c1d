// Registration functions of the CLI subcommands: one file each in src/cli/.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "rebench/exit_code.hpp"
#include "rebench/registry.hpp"
#include "rebench/sandbox.hpp"

namespace rebench::cli {

/// Shared state of one invocation: the argv (for provenance) and, per subcommand name, the
/// action to run after parsing (so logging is set up first and errors reach main's handler).
/// Nested subcommands are keyed by their path: "prepare corpus".
struct Context {
  std::vector<std::string> argv;
  const Registry* registry = nullptr;  ///< the environments this binary knows
  std::map<std::string, std::function<ExitCode()>> actions;
};

/// Prints JSON to stdout (pretty, newline-terminated): the machine-readable output of --json.
void print_json(const nlohmann::json& value);

/// --profile, --sandbox and --gpus: shared by the commands that score on this machine.
struct MachineOptions {
  std::string profile;  ///< "" = detected from the hardware
  std::string sandbox = "bubblewrap";
  std::string gpus = "auto";
  [[nodiscard]] SandboxMode sandbox_mode() const;
};
void add_machine_options(CLI::App* command, MachineOptions& options);

/// Prints a finished run: result.json with --json, else the summary and the run directory.
void print_run_outcome(const nlohmann::json& result, const std::string& run_dir, bool json);

/// Builds the whole command-line interface over `context` (shared by main and test binaries).
void add_all_commands(CLI::App& app, Context& context);
/// Parses argv and runs the chosen command; returns the process exit code.
int run_cli(int argc, char** argv, const Registry& registry);

void add_list_command(CLI::App& app, Context& context);
void add_info_command(CLI::App& app, Context& context);
void add_run_command(CLI::App& app, Context& context);
void add_resume_command(CLI::App& app, Context& context);
void add_check_command(CLI::App& app, Context& context);
void add_calibrate_command(CLI::App& app, Context& context);
void add_report_command(CLI::App& app, Context& context);
void add_score_worker_command(CLI::App& app, Context& context);
void add_prepare_command(CLI::App& app, Context& context);
/// Nested subcommands of `prepare` (actions keyed "prepare <name>").
void add_prepare_corpus(CLI::App& prepare, Context& context);
void add_prepare_base_models(CLI::App& prepare, Context& context);
void add_batch_command(CLI::App& app, Context& context);
void add_batch_task_command(CLI::App& app, Context& context);

}  // namespace rebench::cli
