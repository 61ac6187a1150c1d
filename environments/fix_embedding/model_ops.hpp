// What fix_embedding asks of a model, from the torch-free rebench process: each call runs one
// `rebench-lm fix-embedding-…` command (torch_commands.cpp), which does the work with libtorch
// (model_ops_torch.cpp) and hands back a small JSON result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "fix_embedding/settings.hpp"
#include "lm/gpt_config.hpp"

namespace rebench {
class Profile;
}

namespace rebench::fix_embedding {

/// Where a held-out loss is measured and how.
struct LossRequest {
  std::filesystem::path checkpoint;  ///< any file: rebench-lm checks it before loading
  lm::GptConfig config;              ///< the architecture it must have
  std::filesystem::path heldout;     ///< written by write_heldout
  std::int64_t windows = 0;
  std::uint64_t max_bytes = 0;  ///< larger files are refused unread
  bool cuda = false;
  std::int64_t batch = 16;
  std::filesystem::path work_dir;  ///< writable: rebench-lm's result file goes here
  bool report_phases = false;      ///< print the scoring worker's phase markers (check, evaluate)
};

/// Mean next-token loss [nats/token] of the checkpoint over the held-out windows (float32).
/// Throws Rejected (checkpoint_check.hpp) with rebench-lm's message when the checkpoint is
/// missing, malformed, of another architecture or not finite; Error when rebench-lm fails.
double measure_heldout_loss(const LossRequest& request);

struct ReferenceRun {
  double final_train_loss = 0.0;
  double val_loss = 0.0;  ///< on the recipe's fixed val windows (monitoring only)
  double seconds = 0.0;
  std::int64_t tokens = 0;
  std::string device;
};

/// Trains the reference repair of `corrupted` per `profile`'s recipe on the corpus in
/// `corpus_dir` and saves it to `out` (progress lines go to stderr).
ReferenceRun run_reference_repair(const std::filesystem::path& corrupted,
                                  const std::filesystem::path& out, const Profile& profile,
                                  const std::filesystem::path& corpus_dir,
                                  const std::filesystem::path& work_dir);

}  // namespace rebench::fix_embedding
