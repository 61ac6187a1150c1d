// The libtorch side of fix_embedding, linked only into rebench-lm (torch_commands.cpp): the
// held-out loss of a checked checkpoint (scoring) and the reference repair (train the token
// embedding with the body frozen). Declarations are torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "fix_embedding/model_ops.hpp"
#include "fix_embedding/settings.hpp"
#include "fix_embedding/task_files.hpp"
#include "lm/gpt_config.hpp"
#include "lm/safetensors.hpp"
#include "lm/token_corpus.hpp"

namespace rebench::fix_embedding {

/// Mean next-token loss [nats/token] of `file` (already through check_checkpoint) loaded as a GPT
/// of exactly `config`, over every held-out window, in float32 (no autocast) on the CPU or the
/// first visible CUDA device. Throws Rejected when the checkpoint's metadata describes another
/// model (e.g. a different n_head, which no tensor shape shows).
double heldout_loss(const lm::SafetensorsFile& file, const lm::GptConfig& config,
                    const HeldoutSet& heldout, bool cuda, std::int64_t batch);

/// heldout_loss of a trusted checkpoint file (the clean base model).
double heldout_loss(const std::filesystem::path& checkpoint, const lm::GptConfig& config,
                    const HeldoutSet& heldout, bool cuda, std::int64_t batch);

/// The reference repair: loads `corrupted`, initialises the token embedding per `recipe`,
/// trains only transformer.wte (the body frozen) on the corpus's train split, and saves the
/// result to `out`.
ReferenceRun train_reference(const std::filesystem::path& corrupted,
                             const std::filesystem::path& out, const lm::TokenCorpus& corpus,
                             const ReferenceRecipe& recipe, bool cuda,
                             const std::function<void(const std::string&)>& say);

}  // namespace rebench::fix_embedding
