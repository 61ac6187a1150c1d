// Base models: the pretrained GPTs environments start from (fix_embedding's "large" and "small",
// …). rebench trains them itself, seeded, from recipes in configs/base_models.json (reruns on a
// GPU differ slightly: its kernels use atomics), and caches them content-addressed under
// $REBENCH_CACHE/base-models/. Torch-free: environments and the CLI find prepared models here;
// the training lives in base_models_torch.cpp.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lm/gpt_config.hpp"
#include "lm/train_config.hpp"

namespace rebench::lm {

/// Bumped when the training code changes in a way that changes the weights it produces.
inline constexpr int kBaseModelRecipeVersion = 1;

struct BaseModelRecipe {
  std::string name;  ///< "large", "small"
  GptConfig model;
  TrainConfig train;
};

/// Every base model of one profile, and how to train them.
struct BaseModelPlan {
  std::string profile;
  std::string corpus;       ///< corpus spec (lm::resolve_corpus), e.g. "prose"
  std::string device;       ///< "cuda" or "cpu"
  double peak_flops = 0.0;  ///< device peak [FLOP/s] for MFU lines; 0 = unknown
  std::vector<BaseModelRecipe> models;
  std::string file;  ///< where the plan was read from
  [[nodiscard]] const BaseModelRecipe& recipe(const std::string& name) const;
};

/// Reads the plan of `profile` from `file` (default configs/base_models.json); ConfigError naming
/// the file and field when malformed or when the profile has no plan.
BaseModelPlan load_base_model_plan(const std::string& profile,
                                   const std::filesystem::path& file = {});

struct PreparedBaseModel {
  std::string name;
  std::filesystem::path dir;
  std::filesystem::path weights;  ///< model.safetensors
  nlohmann::json info;            ///< info.json: config, recipe, corpus, val loss, provenance
  [[nodiscard]] double val_loss() const { return info.at("val_loss").get<double>(); }
  [[nodiscard]] std::string weights_sha256() const {
    return info.at("weights_sha256").get<std::string>();
  }
};

/// $REBENCH_CACHE/base-models
std::filesystem::path base_models_cache_dir();
/// The content address of a recipe trained on a corpus: sha256 over the canonical JSON of
/// (recipe version, profile, device, name, model config, training config, corpus manifest hash).
std::string base_model_key(const BaseModelPlan& plan, const BaseModelRecipe& recipe,
                           const std::string& corpus_manifest_sha256);
/// The cache folder of a recipe: base-models/<profile>-<name>-<first 16 hex of the key>.
std::filesystem::path base_model_dir(const BaseModelPlan& plan, const BaseModelRecipe& recipe,
                                     const std::string& corpus_manifest_sha256);

/// The prepared model, if its folder is complete and its weights match the recorded sha256.
std::optional<PreparedBaseModel> find_prepared_base_model(
    const BaseModelPlan& plan, const std::string& name, const std::string& corpus_manifest_sha256);
/// As find_prepared_base_model for the plan of `profile` and its corpus; an Error telling the
/// user to run `rebench prepare base-models --profile …` when it is not there.
PreparedBaseModel require_base_model(const std::string& profile, const std::string& name);

struct PrepareBaseModelsOptions {
  bool force = false;                               ///< retrain even when cached
  std::function<void(const std::string&)> on_line;  ///< progress lines (default: log at info)
};

/// Trains every model of `plan` that is not cached (libtorch; defined in base_models_torch.cpp).
/// Idempotent: cached, verified models are returned without training.
std::vector<PreparedBaseModel> prepare_base_models(const BaseModelPlan& plan,
                                                   const PrepareBaseModelsOptions& options);

}  // namespace rebench::lm
