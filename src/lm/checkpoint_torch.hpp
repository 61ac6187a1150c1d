// GPT checkpoints as safetensors: save a model (float32, nanoGPT names, config in the metadata)
// and load one back, including GPT-2 checkpoints in Hugging Face's layout (names without the
// "transformer." prefix, Conv1D weights stored transposed). Nothing in a file is executed.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "lm/gpt_model_torch.hpp"
#include "lm/safetensors.hpp"

namespace rebench::lm {

/// Metadata key holding the GptConfig as JSON text.
inline constexpr const char* kGptConfigMetadataKey = "rebench.gpt_config";

/// Writes `model`'s parameters (as float32, on the CPU) and its config to `path`, atomically.
/// `metadata` is added to the file's __metadata__ (strings only).
void save_gpt(const std::filesystem::path& path, Gpt& model,
              const std::map<std::string, std::string>& metadata = {});

/// The config a checkpoint describes: from its metadata when present, else inferred from the
/// tensor shapes (vocab and width from the token embedding, context from the position
/// embedding, depth from the block count; heads must then be given by `n_head_hint`).
GptConfig checkpoint_config(const SafetensorsFile& file, std::int64_t n_head_hint = 12);

/// The tensors a checkpoint of `config` must hold (nanoGPT names, float32), for
/// validate_architecture.
std::vector<ExpectedTensor> expected_gpt_tensors(const GptConfig& config,
                                                 DType dtype = DType::kF32);

/// Builds a model from `file` (nanoGPT or Hugging Face GPT-2 names; F32, BF16 or F16 data), on
/// the CPU. Throws SafetensorsError naming the tensor when a name, shape or dtype does not fit,
/// or a value is NaN/infinite.
Gpt load_gpt(const SafetensorsFile& file, std::int64_t n_head_hint = 12);
Gpt load_gpt(const std::filesystem::path& path, std::int64_t n_head_hint = 12);

/// Copies a safetensors tensor into a new CPU float32 torch tensor (F32/BF16/F16 only).
torch::Tensor to_float_tensor(const SafetensorsFile& file, const TensorEntry& entry);

}  // namespace rebench::lm
