// `rebench prepare base-models --profile h100|cpu`: trains the profile's base models (or finds
// them verified in the cache) and prints where they are, their val loss and their hashes. The
// training runs in `rebench-lm` next to this executable, so rebench itself never loads libtorch
// (see src/tools/lm_tool.cpp for why).
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "lm/base_models.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/torch_tool.hpp"

namespace rebench::cli {
namespace {

struct PrepareBaseModelsOptions {
  std::string profile;
  std::string plan_file;
  bool force = false;
  bool json = false;
};

ExitCode run(const PrepareBaseModelsOptions& o) {
  const std::string profile = o.profile.empty() ? detect_profile_name() : o.profile;
  const lm::BaseModelPlan plan = lm::load_base_model_plan(profile, o.plan_file);
  std::vector<std::string> args = {"base-models", "--profile", profile};
  if (!o.plan_file.empty()) args.insert(args.end(), {"--plan", o.plan_file});
  if (o.force) args.push_back("--force");
  run_torch_tool(args, "training the base models");
  const auto corpus = lm::TokenCorpus::open(lm::resolve_corpus(plan.corpus));
  std::vector<lm::PreparedBaseModel> prepared;
  for (const auto& recipe : plan.models) {
    auto model = lm::find_prepared_base_model(plan, recipe.name, corpus.manifest_sha256());
    if (!model)
      throw Error("rebench-lm finished but base model '" + recipe.name + "' is not in the cache");
    prepared.push_back(*model);
  }
  nlohmann::json out = {{"profile", profile}, {"models", nlohmann::json::array()}};
  for (const auto& model : prepared) {
    out["models"].push_back(
        {{"name", model.name},
         {"dir", model.dir.string()},
         {"weights", model.weights.string()},
         {"weights_sha256", model.weights_sha256()},
         {"val_loss", model.val_loss()},
         {"parameters", model.info.at("parameters")},
         {"corpus_manifest_sha256", model.info.at("corpus").at("manifest_sha256")},
         {"train_seconds", model.info.at("train_seconds")}});
  }
  if (o.json) {
    print_json(out);
    return ExitCode::kOk;
  }
  for (const auto& m : out["models"]) {
    std::cout << fmt::format("base model {} ({}, {:.2f}M parameters): val loss {:.4f}\n",
                             m["name"].get<std::string>(), profile,
                             m["parameters"].get<double>() / 1e6, m["val_loss"].get<double>());
    std::cout << fmt::format("  weights  {}\n  sha256   {}\n", m["weights"].get<std::string>(),
                             m["weights_sha256"].get<std::string>());
  }
  return ExitCode::kOk;
}

}  // namespace

void add_prepare_base_models(CLI::App& prepare, Context& context) {
  auto o = std::make_shared<PrepareBaseModelsOptions>();
  auto* command = prepare.add_subcommand(
      "base-models",
      "Train the profile's pretrained base models (configs/base_models.json, seeded), or find "
      "them verified in the cache");
  command->add_option("--profile", o->profile, "h100 | cpu (default: detected)");
  command->add_option("--plan", o->plan_file,
                      "Base-model recipes to use instead of configs/base_models.json");
  command->add_flag("--force", o->force, "Retrain even when verified models are cached");
  command->add_flag("--json", o->json, "Print JSON");
  context.actions["prepare base-models"] = [o] { return run(*o); };
}

}  // namespace rebench::cli
