// Profile settings of fix_embedding (configs/profiles/*.json, "environments"/"fix_embedding"):
// scoring device, held-out set size, the loss offset c, and the reference repair's recipe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lm/train_config.hpp"
#include "rebench/json_file.hpp"

namespace rebench {
class Profile;
}

namespace rebench::fix_embedding {

/// How the reference repair initialises the token embedding before training it.
enum class ReferenceInit {
  kCorrupted,  ///< start from the permuted rows (right scale and statistics, wrong tokens)
  kNormal,     ///< nanoGPT's N(0, 0.02) initialisation
};

struct ReferenceRecipe {
  ReferenceInit init = ReferenceInit::kCorrupted;
  lm::TrainConfig train;  ///< trainable is always {"transformer.wte."}: the body stays frozen
  [[nodiscard]] Json to_json() const;
};

struct Settings {
  std::string profile_file;
  bool cuda = false;                 ///< score (and train the reference) on a CUDA GPU
  std::int64_t heldout_windows = 0;  ///< evaluation windows of block_size + 1 tokens (val split)
  std::int64_t eval_batch = 16;      ///< windows per forward pass while scoring
  /// c of score = ln(loss − c); empty while not chosen for the profile (scoring then says so).
  std::optional<double> loss_offset_c;
  std::uint64_t max_checkpoint_bytes = 0;  ///< larger submitted files are refused unread
  ReferenceRecipe reference;
};

/// Reads and validates the settings of `profile`; ConfigError names the file and field.
Settings settings_of(const Profile& profile);

}  // namespace rebench::fix_embedding
