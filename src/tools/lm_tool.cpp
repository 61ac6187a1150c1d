// rebench-lm: the harness's libtorch side, as its own executable. The main `rebench` binary stays
// free of libtorch: PyTorch 2.x wheels export copies of libstdc++ symbols
// (std::filesystem::remove_all among them) that took precedence over libstdc++'s in a process
// linking both, and crashed the harness on the H100 host. rebench runs this program next to
// itself (rebench/torch_tool.hpp): `base-models` for `rebench prepare base-models`, and the
// subcommands of environments built on the LM substrate (their torch_commands.cpp).
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "lm/base_models.hpp"
#include "rebench/errors.hpp"
#include "rebench/logging.hpp"

#ifdef REBENCH_WITH_FIX_EMBEDDING
#include "fix_embedding/torch_commands.hpp"
#endif

namespace {

struct BaseModelsOptions {
  std::string profile, plan_file;
  bool force = false;
};

void add_base_models_command(CLI::App& app) {
  auto o = std::make_shared<BaseModelsOptions>();
  auto* command =
      app.add_subcommand("base-models", "Train the profile's base models, or find them cached");
  command->add_option("--profile", o->profile, "h100 | cpu")->required();
  command->add_option("--plan", o->plan_file, "Recipes instead of configs/base_models.json");
  command->add_flag("--force", o->force, "Retrain even when cached");
  command->callback([o] {
    const auto plan = rebench::lm::load_base_model_plan(o->profile, o->plan_file);
    rebench::lm::PrepareBaseModelsOptions options;
    options.force = o->force;
    rebench::lm::prepare_base_models(plan, options);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rebench-lm: the libtorch side of rebench (run by rebench itself)"};
  app.require_subcommand(1);
  add_base_models_command(app);
#ifdef REBENCH_WITH_FIX_EMBEDDING
  rebench::fix_embedding::add_torch_commands(app);
#endif
  rebench::setup_logging(0);
  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
    return 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const rebench::Error& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return 1;
  }
}
