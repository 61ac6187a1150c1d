// Validation of a submitted checkpoint before anything is loaded (torch-free): a regular file of
// bounded size, a well-formed safetensors file, exactly the expected tensors (names, shapes, F32)
// and finite values. Every rejection names the tensor and the reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "lm/gpt_config.hpp"
#include "lm/safetensors.hpp"

namespace rebench::fix_embedding {

/// A submission that cannot be scored; what() is the message for the agent.
class Rejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The tensors a checkpoint of `config` holds, all F32 (what lm::save_gpt writes).
std::vector<lm::ExpectedTensor> expected_tensors(const lm::GptConfig& config);
/// Bytes of tensor data a checkpoint of `config` holds.
std::uint64_t expected_data_bytes(const lm::GptConfig& config);

/// Reads and checks `path` (named `name` in messages); throws Rejected.
lm::SafetensorsFile check_checkpoint(const std::filesystem::path& path, const std::string& name,
                                     const lm::GptConfig& config, std::uint64_t max_bytes);

}  // namespace rebench::fix_embedding
