// The command-line interface as a whole: option parsing, logging setup, error → exit code.
// main() and the test harness binary both call run_cli() with their registry.
#include <exception>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "rebench/errors.hpp"
#include "rebench/logging.hpp"
#include "rebench/version.hpp"

namespace rebench::cli {

void add_all_commands(CLI::App& app, Context& context) {
  add_list_command(app, context);
  add_info_command(app, context);
  add_run_command(app, context);
  add_resume_command(app, context);
  add_check_command(app, context);
  add_calibrate_command(app, context);
  add_report_command(app, context);
  add_score_worker_command(app, context);
  add_prepare_command(app, context);
  add_batch_command(app, context);
  add_batch_task_command(app, context);
}

int run_cli(int argc, char** argv, const Registry& registry) {
  Context context;
  context.argv.assign(argv, argv + argc);
  context.registry = &registry;

  CLI::App app{"rebench: RE-Bench environments and a harness that scores agents on them."};
  app.require_subcommand(1);
  app.fallthrough();  // global flags (-v, -q) work after the subcommand too
  app.set_version_flag("--version",
                       std::string(harness_version()) + " (commit " + harness_commit() + ")");
  int verbose = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "More log detail (debug)");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");
  add_all_commands(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : to_int(ExitCode::kUsage);
  }

  setup_logging(quiet ? -1 : verbose);
  try {
    for (const CLI::App* sub : app.get_subcommands()) {
      // A nested subcommand's action is keyed by its path, e.g. "prepare corpus".
      std::string key = sub->get_name();
      for (const CLI::App* nested = sub; !nested->get_subcommands().empty();) {
        nested = nested->get_subcommands().front();
        key += " " + nested->get_name();
      }
      auto action = context.actions.find(key);
      if (action != context.actions.end()) return to_int(action->second());
    }
    spdlog::error("no action for this command");
    return to_int(ExitCode::kInternal);
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return to_int(e.code());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return to_int(ExitCode::kInternal);
  }
}

}  // namespace rebench::cli
