// Entry point of the rebench executable: builds the CLI, runs one subcommand, maps errors to
// the documented exit codes. The only top-level try/catch.
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "rebench/errors.hpp"
#include "rebench/logging.hpp"
#include "rebench/version.hpp"

int main(int argc, char** argv) {
  using namespace rebench;
  cli::Context context;
  context.argv.assign(argv, argv + argc);

  CLI::App app{"rebench: RE-Bench environments and a harness that scores agents on them."};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string(harness_version()) + " (commit " + harness_commit() + ")");
  int verbose = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "More log detail (debug)");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");

  cli::add_list_command(app, context);
  cli::add_info_command(app, context);
  // cli::add_run_command(app, context);
  // cli::add_resume_command(app, context);
  // cli::add_check_command(app, context);
  // cli::add_calibrate_command(app, context);
  // cli::add_score_worker_command(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : to_int(ExitCode::kUsage);
  }

  setup_logging(quiet ? -1 : verbose);
  try {
    for (const CLI::App* sub : app.get_subcommands()) {
      auto action = context.actions.find(sub->get_name());
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
