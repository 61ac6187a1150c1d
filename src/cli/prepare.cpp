// `rebench prepare`: builds assets into the cache. Each asset kind is a nested subcommand
// (`prepare corpus`, ...) registered here by one add_prepare_* call.
#include "cli/commands.hpp"

namespace rebench::cli {

void add_prepare_command(CLI::App& app, Context& context) {
  auto* prepare = app.add_subcommand(
      "prepare", "Build assets into the cache ($REBENCH_CACHE): token corpora, base models");
  prepare->require_subcommand(1);
  add_prepare_corpus(*prepare, context);
  add_prepare_base_models(*prepare, context);
}

}  // namespace rebench::cli
