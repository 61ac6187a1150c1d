// Cached assets of fix_embedding (see assets.hpp). Every cache entry is written to a .partial
// folder or file and renamed into place, so an interrupted preparation is never mistaken for a
// finished one, and two processes preparing the same entry cannot see half of it.
#include "fix_embedding/assets.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "fix_embedding/model_ops.hpp"
#include "rebench/errors.hpp"
#include "rebench/logging.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/sha256.hpp"
#include "rebench/time_util.hpp"
#include "rebench/version.hpp"

namespace rebench::fix_embedding {

namespace fs = std::filesystem;

namespace {

/// Bumped when the reference repair's code changes what it produces.
constexpr int kReferenceRecipeVersion = 3;

std::string partial_suffix() { return fmt::format(".partial-{}", ::getpid()); }

}  // namespace

Json Assets::provenance() const {
  return {
      {"corpus", {{"spec", plan.corpus}, {"manifest_sha256", corpus.manifest_sha256()}}},
      {"large_model", {{"weights_sha256", large.weights_sha256()}, {"val_loss", large.val_loss()}}},
      {"small_model", {{"weights_sha256", small.weights_sha256()}, {"val_loss", small.val_loss()}}},
      {"base_models_plan", plan.file},
      {"profile", plan.profile}};
}

Assets load_assets(const std::string& profile) {
  lm::BaseModelPlan plan = lm::load_base_model_plan(profile);
  lm::TokenCorpus corpus = lm::TokenCorpus::open(lm::resolve_corpus(plan.corpus));
  lm::PreparedBaseModel large = lm::require_base_model(profile, "large");
  lm::PreparedBaseModel small = lm::require_base_model(profile, "small");
  const lm::GptConfig config = plan.recipe("large").model;
  if (config.vocab_size != plan.recipe("small").model.vocab_size)
    throw Error(fmt::format("{}: fix_embedding needs base models 'large' and 'small' with one "
                            "vocabulary (profile {})",
                            plan.file, profile),
                ExitCode::kUsage);
  return {std::move(plan), std::move(corpus), std::move(large), std::move(small)};
}

fs::path fix_embedding_cache_dir() { return cache_dir() / "fix_embedding"; }

double clean_heldout_loss(const Assets& assets, const HeldoutSet& heldout,
                          const fs::path& heldout_file, const Settings& settings) {
  const Json key_json = {{"large_sha256", assets.large.weights_sha256()},
                         {"heldout_sha256", heldout_sha256(heldout)},
                         {"windows", heldout.windows},
                         {"device", settings.cuda ? "cuda" : "cpu"}};
  const std::string key = sha256_hex(key_json.dump());
  const fs::path file =
      fix_embedding_cache_dir() / fmt::format("clean-loss-{}.json", key.substr(0, 16));
  std::error_code ec;
  if (fs::is_regular_file(file, ec)) {
    const Json cached = read_json_file(file);
    if (cached.value("key", "") == key && cached.contains("clean_loss"))
      return cached["clean_loss"].get<double>();
  }
  double loss = 0.0;
  {
    Progress progress("measuring the clean model's held-out loss (cached after this)");
    LossRequest request;
    request.checkpoint = assets.large.weights;
    request.config = assets.config();
    request.heldout = heldout_file;
    request.windows = heldout.windows;
    request.max_bytes = std::uint64_t{1} << 40;  // our own model: no size limit
    request.cuda = settings.cuda;
    request.batch = settings.eval_batch;
    request.work_dir = file.parent_path();
    try {
      loss = measure_heldout_loss(request);
    } catch (const std::runtime_error& rejected) {  // our own model failing its check is a bug
      throw Error(std::string("the clean base model failed the checkpoint check: ") +
                  rejected.what());
    }
    progress.finish(fmt::format("{:.4f} nats/token", loss));
  }
  fs::create_directories(file.parent_path());
  Json record = key_json;
  record.update({{"key", key}, {"clean_loss", loss}, {"created", utc_timestamp()}});
  write_json_atomic(file, record);
  return loss;
}

fs::path reference_solution_folder(const Profile& profile_config, const Settings& settings) {
  const std::string& profile = profile_config.name();
  const Assets assets = load_assets(profile);
  const Json key_json = {{"recipe_version", kReferenceRecipeVersion},
                         {"profile", profile},
                         {"large_sha256", assets.large.weights_sha256()},
                         {"corpus_manifest_sha256", assets.corpus.manifest_sha256()},
                         {"recipe", settings.reference.to_json()},
                         {"device", settings.cuda ? "cuda" : "cpu"}};
  const std::string key = sha256_hex(key_json.dump());
  const fs::path dir =
      fix_embedding_cache_dir() / fmt::format("reference-{}-{}", profile, key.substr(0, 16));
  const fs::path solution = dir / "solution";
  const fs::path weights = solution / kSubmissionFile;
  auto complete = [&] {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "info.json", ec) || !fs::is_regular_file(weights, ec))
      return false;
    const Json info = read_json_file(dir / "info.json");
    return info.value("key", "") == key && info.value("weights_sha256", "") == sha256_file(weights);
  };
  if (complete()) return solution;

  const fs::path partial = fs::path(dir.string() + partial_suffix());
  fs::remove_all(partial);
  fs::create_directories(partial / "solution");
  // A fixed permutation (derived from the key, not secret): the reference never meets an agent.
  const fs::path corrupted = partial / "corrupted.safetensors";
  write_corrupted_model(
      assets.large.weights, corrupted,
      permutation_from_seed(sha256_hex("reference " + key), assets.config().vocab_size));
  // No live progress line here: rebench-lm prints the training's own progress lines.
  spdlog::info(
      "training the fix_embedding reference repair for profile {} ({} steps; cached after this)",
      profile, settings.reference.train.steps);
  const ReferenceRun run = run_reference_repair(corrupted, partial / "solution" / kSubmissionFile,
                                                profile_config, assets.corpus.dir(), partial);
  spdlog::info("reference repair trained: train loss {:.4f}, val loss {:.4f}, {:.0f} s",
               run.final_train_loss, run.val_loss, run.seconds);
  fs::remove(corrupted);
  Json info = key_json;
  info.update({{"format", "rebench-fix-embedding-reference"},
               {"key", key},
               {"provenance", assets.provenance()},
               {"final_train_loss", run.final_train_loss},
               {"val_loss", run.val_loss},
               {"train_seconds", run.seconds},
               {"tokens", run.tokens},
               {"train_device", run.device},
               {"harness", {{"version", harness_version()}, {"commit", harness_commit()}}},
               {"created", utc_timestamp()},
               {"weights_sha256", sha256_file(partial / "solution" / kSubmissionFile)}});
  write_json_atomic(partial / "info.json", info);
  if (!complete()) {  // another process may have finished the same entry meanwhile
    fs::remove_all(dir);
    std::error_code ec;
    fs::rename(partial, dir, ec);
    if (ec && !complete())
      throw Error("cannot store the reference in " + dir.string() + ": " + ec.message());
  }
  fs::remove_all(partial);
  return solution;
}

}  // namespace rebench::fix_embedding
