// rebench-lm: the libtorch side of `rebench prepare base-models`, as its own executable. The main
// `rebench` binary stays free of libtorch: PyTorch 2.x wheels export copies of libstdc++ symbols
// (std::filesystem::remove_all among them) that took precedence over libstdc++'s in a process
// linking both, and crashed the harness on the H100 host. `rebench prepare base-models` runs this
// program next to itself and reads the prepared models back from the cache.
#include <cstdio>
#include <exception>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "lm/base_models.hpp"
#include "rebench/errors.hpp"
#include "rebench/logging.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "rebench-lm: trains the base models of a profile (run by `rebench prepare base-models`)"};
  app.require_subcommand(1);
  std::string profile, plan_file;
  bool force = false;
  auto* base_models =
      app.add_subcommand("base-models", "Train the profile's base models, or find them cached");
  base_models->add_option("--profile", profile, "h100 | cpu")->required();
  base_models->add_option("--plan", plan_file, "Recipes instead of configs/base_models.json");
  base_models->add_flag("--force", force, "Retrain even when cached");
  CLI11_PARSE(app, argc, argv);
  rebench::setup_logging(0);
  try {
    const auto plan = rebench::lm::load_base_model_plan(profile, plan_file);
    rebench::lm::PrepareBaseModelsOptions options;
    options.force = force;
    rebench::lm::prepare_base_models(plan, options);
    return 0;
  } catch (const rebench::Error& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return 1;
  }
}
