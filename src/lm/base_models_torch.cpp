// Training of base models (see base_models.hpp): seeded init, deterministic data order, the
// recipe's schedule; weights and provenance written to a temporary folder and renamed into the
// cache, so an interrupted preparation never leaves a folder that looks complete.
#include <ftw.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "lm/base_models.hpp"
#include "lm/checkpoint_torch.hpp"
#include "lm/token_corpus.hpp"
#include "lm/trainer_torch.hpp"
#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/sha256.hpp"
#include "rebench/time_util.hpp"
#include "rebench/version.hpp"

namespace rebench::lm {
namespace {

/// Removes a folder tree. Not std::filesystem::remove_all: PyTorch 2.x exports its own copy, and
/// a call bound to it crashed (H100 host).
void remove_tree(const std::filesystem::path& dir) {
  ::nftw(
      dir.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) {
        std::remove(path);
        return 0;
      },
      32, FTW_DEPTH | FTW_PHYS);
}

torch::Device plan_device(const BaseModelPlan& plan) {
  if (plan.device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw Error(fmt::format("profile {} trains its base models on a CUDA GPU, and this libtorch "
                              "sees none (use --profile cpu on a machine without a GPU)",
                              plan.profile),
                  ExitCode::kUsage);
    }
    return torch::Device(torch::kCUDA, 0);
  }
  return torch::kCPU;
}

PreparedBaseModel train_one(const BaseModelPlan& plan, const BaseModelRecipe& recipe,
                            const TokenCorpus& corpus, const std::filesystem::path& dir,
                            torch::Device device, const PrepareBaseModelsOptions& options) {
  if (corpus.vocab_size() > static_cast<std::uint32_t>(recipe.model.vocab_size)) {
    throw Error(
        fmt::format("{}: base model '{}' has vocab_size {} but corpus {} has {} tokens", plan.file,
                    recipe.name, recipe.model.vocab_size, plan.corpus, corpus.vocab_size()),
        ExitCode::kUsage);
  }
  auto say = [&](const std::string& line) {
    if (options.on_line)
      options.on_line(line);
    else
      spdlog::info("{}", line);
  };
  say(
      fmt::format("training base model '{}' ({:.2f}M parameters, {} layers × {} wide, context {}) "
                  "on {} for {} steps of {} tokens",
                  recipe.name, recipe.model.parameter_count() / 1e6, recipe.model.n_layer,
                  recipe.model.n_embd, recipe.model.block_size, device.str(), recipe.train.steps,
                  recipe.train.tokens_per_step(recipe.model.block_size)));
  torch::manual_seed(recipe.train.seed);
  Gpt model(recipe.model);
  model->to(device);
  TrainOptions train_options;
  train_options.device = device;
  train_options.peak_flops = plan.peak_flops;
  train_options.on_progress = [&](const TrainProgress& p) {
    say(fmt::format("  {}: {}", recipe.name, format_progress(p)));
  };
  const auto result = train_model(model, corpus.tokens(Split::kTrain), corpus.tokens(Split::kVal),
                                  recipe.train, train_options);
  say(fmt::format("  {}: val loss {:.4f} after {:.0f}s ({:.0f} tok/s{})", recipe.name,
                  result.val_loss, result.seconds, result.tokens_per_s,
                  result.mfu ? fmt::format(", MFU {:.1f}%", *result.mfu * 100) : ""));

  const auto partial = std::filesystem::path(dir.string() + ".partial");
  remove_tree(partial);
  std::filesystem::create_directories(partial);
  const auto weights = partial / "model.safetensors";
  save_gpt(weights, model,
           {{"rebench.base_model", recipe.name}, {"rebench.profile", plan.profile}});
  Json history = Json::array();
  for (const auto& [step, loss] : result.val_history)
    history.push_back({{"step", step}, {"val_loss", loss}});
  Json info = {{"format", "rebench-base-model"},
               {"version", "1.0"},
               {"name", recipe.name},
               {"profile", plan.profile},
               {"recipe_version", kBaseModelRecipeVersion},
               {"key", base_model_key(plan, recipe, corpus.manifest_sha256())},
               {"model", recipe.model.to_json()},
               {"train", recipe.train.to_json()},
               {"parameters", recipe.model.parameter_count()},
               {"corpus", {{"spec", plan.corpus}, {"manifest_sha256", corpus.manifest_sha256()}}},
               {"val_loss", result.val_loss},
               {"final_train_loss", result.final_train_loss},
               {"val_history", history},
               {"eval",
                {{"windows", recipe.train.eval_windows},
                 {"length", recipe.model.block_size},
                 {"split", "val"}}},
               {"tokens", result.tokens},
               {"train_seconds", result.seconds},
               {"tokens_per_s", result.tokens_per_s},
               {"device", device.str()},
               {"torch_version", TORCH_VERSION},
               {"torch_threads", torch::get_num_threads()},
               {"harness", {{"version", harness_version()}, {"commit", harness_commit()}}},
               {"created", utc_timestamp()},
               {"weights_sha256", sha256_file(weights)}};
  if (result.mfu) info["mfu"] = *result.mfu;
  write_json_atomic(partial / "info.json", info);
  remove_tree(dir);
  std::filesystem::rename(partial, dir);
  return PreparedBaseModel{recipe.name, dir, dir / "model.safetensors", info};
}

}  // namespace

std::vector<PreparedBaseModel> prepare_base_models(const BaseModelPlan& plan,
                                                   const PrepareBaseModelsOptions& options) {
  const auto corpus = TokenCorpus::open(resolve_corpus(plan.corpus));
  const std::string manifest = corpus.manifest_sha256();
  std::vector<PreparedBaseModel> prepared;
  std::optional<torch::Device> device;
  for (const auto& recipe : plan.models) {
    if (!options.force) {
      if (auto cached = find_prepared_base_model(plan, recipe.name, manifest)) {
        const std::string line =
            fmt::format("base model '{}' ({}): cached at {} (val loss {:.4f})", recipe.name,
                        plan.profile, cached->dir.string(), cached->val_loss());
        if (options.on_line)
          options.on_line(line);
        else
          spdlog::info("{}", line);
        prepared.push_back(*cached);
        continue;
      }
    }
    if (!device) device = plan_device(plan);
    std::filesystem::create_directories(base_models_cache_dir());
    prepared.push_back(
        train_one(plan, recipe, corpus, base_model_dir(plan, recipe, manifest), *device, options));
  }
  return prepared;
}

}  // namespace rebench::lm
