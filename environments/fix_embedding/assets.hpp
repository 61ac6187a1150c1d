// What fix_embedding builds on, found or made once and cached: the profile's base models and
// corpus (prepared by `rebench prepare`), the clean model's held-out loss, and the reference
// repair (content-addressed under $REBENCH_CACHE/fix_embedding/).
#pragma once

#include <filesystem>
#include <string>

#include "fix_embedding/settings.hpp"
#include "fix_embedding/task_files.hpp"
#include "lm/base_models.hpp"
#include "lm/token_corpus.hpp"

namespace rebench {
class Profile;
}

namespace rebench::fix_embedding {

struct Assets {
  lm::BaseModelPlan plan;
  lm::TokenCorpus corpus;
  lm::PreparedBaseModel large;  ///< the model whose embedding is corrupted
  lm::PreparedBaseModel small;  ///< the smaller, correctly trained model given to the agent
  [[nodiscard]] lm::GptConfig config() const { return plan.recipe("large").model; }
  /// Hashes of everything a number measured on these assets depends on.
  [[nodiscard]] Json provenance() const;
};

/// The prepared assets of `profile`; an Error naming the `rebench prepare` command when missing.
Assets load_assets(const std::string& profile);

/// $REBENCH_CACHE/fix_embedding
std::filesystem::path fix_embedding_cache_dir();

/// The clean large model's loss on `heldout`, measured once per (model, held-out set, device)
/// and cached.
/// `heldout_file` holds `heldout` (write_heldout): rebench-lm reads it from there.
double clean_heldout_loss(const Assets& assets, const HeldoutSet& heldout,
                          const std::filesystem::path& heldout_file, const Settings& settings);

/// The folder holding the reference repair's fixed_model.safetensors for `profile`: trained on
/// first use (a progress line says so), then reused from the cache.
std::filesystem::path reference_solution_folder(const Profile& profile, const Settings& settings);

}  // namespace rebench::fix_embedding
