// Base-model plans and the cache of prepared models (see base_models.hpp).
#include "lm/base_models.hpp"

#include <fmt/format.h>

#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

const BaseModelRecipe& BaseModelPlan::recipe(const std::string& name) const {
  for (const auto& r : models) {
    if (r.name == name) return r;
  }
  std::string known;
  for (const auto& r : models) known += (known.empty() ? "" : ", ") + r.name;
  throw Error(fmt::format("profile {} has no base model '{}' (it has: {})", profile, name, known),
              ExitCode::kUsage);
}

BaseModelPlan load_base_model_plan(const std::string& profile, const std::filesystem::path& file) {
  const std::filesystem::path path = file.empty() ? configs_dir() / "base_models.json" : file;
  const Json root = read_json_file(path);
  if (!root.is_object()) throw ConfigError(path.string(), "/", "an object");
  ConfigReader top(path.string(), root, "");
  ConfigReader profiles = top.object("profiles");
  if (!profiles.has(profile)) {
    std::string known;
    for (const auto& item : profiles.json().items())
      known += (known.empty() ? "" : ", ") + item.key();
    profiles.fail(profile, "a base-model plan for this profile (plans exist for: " + known + ")");
  }
  ConfigReader entry = profiles.object(profile);
  BaseModelPlan plan;
  plan.profile = profile;
  plan.file = path.string();
  plan.corpus = entry.string("corpus");
  plan.device = entry.string("device");
  if (plan.device != "cuda" && plan.device != "cpu") entry.fail("device", "\"cuda\" or \"cpu\"");
  if (entry.has("peak_flops")) plan.peak_flops = entry.number("peak_flops");
  ConfigReader models = entry.object("models");
  for (const auto& item : models.json().items()) {
    ConfigReader model = models.object(item.key());
    BaseModelRecipe recipe;
    recipe.name = item.key();
    recipe.model = GptConfig::from_json(model.raw("model"), path.string(), model.path_of("model"));
    recipe.train =
        TrainConfig::from_json(model.raw("train"), path.string(), model.path_of("train"));
    plan.models.push_back(std::move(recipe));
  }
  if (plan.models.empty()) entry.fail("models", "at least one model");
  return plan;
}

std::filesystem::path base_models_cache_dir() { return cache_dir() / "base-models"; }

std::string base_model_key(const BaseModelPlan& plan, const BaseModelRecipe& recipe,
                           const std::string& corpus_manifest_sha256) {
  const Json canonical = {{"recipe_version", kBaseModelRecipeVersion},
                          {"profile", plan.profile},
                          {"device", plan.device},
                          {"name", recipe.name},
                          {"model", recipe.model.to_json()},
                          {"train", recipe.train.to_json()},
                          {"corpus_manifest_sha256", corpus_manifest_sha256}};
  return sha256_hex(canonical.dump());
}

std::filesystem::path base_model_dir(const BaseModelPlan& plan, const BaseModelRecipe& recipe,
                                     const std::string& corpus_manifest_sha256) {
  const std::string key = base_model_key(plan, recipe, corpus_manifest_sha256);
  return base_models_cache_dir() /
         fmt::format("{}-{}-{}", plan.profile, recipe.name, key.substr(0, 16));
}

std::optional<PreparedBaseModel> find_prepared_base_model(
    const BaseModelPlan& plan, const std::string& name, const std::string& corpus_manifest_sha256) {
  const auto& recipe = plan.recipe(name);
  const auto dir = base_model_dir(plan, recipe, corpus_manifest_sha256);
  const auto info_file = dir / "info.json";
  const auto weights = dir / "model.safetensors";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(info_file, ec) ||
      !std::filesystem::is_regular_file(weights, ec)) {
    return std::nullopt;
  }
  PreparedBaseModel prepared{name, dir, weights, read_json_file(info_file)};
  if (!prepared.info.contains("weights_sha256") || !prepared.info.contains("val_loss") ||
      prepared.info["weights_sha256"] != sha256_file(weights)) {
    return std::nullopt;  // incomplete or altered: prepare again
  }
  return prepared;
}

PreparedBaseModel require_base_model(const std::string& profile, const std::string& name) {
  const auto plan = load_base_model_plan(profile);
  const auto corpus = TokenCorpus::open(resolve_corpus(plan.corpus));
  auto prepared = find_prepared_base_model(plan, name, corpus.manifest_sha256());
  if (!prepared) {
    throw Error(fmt::format("base model '{}' of profile {} is not prepared (or its cache entry is "
                            "damaged): run `rebench prepare base-models --profile {}`",
                            name, profile, profile),
                ExitCode::kUsage);
  }
  return *prepared;
}

}  // namespace rebench::lm
