// CUDA autocast in both libtorch APIs (1.13's global switch, 2.4's per-device one): a scope
// that turns bf16 autocast on, and the dtype autocast currently gives CUDA matmuls.
#pragma once

#include <optional>

#include <torch/torch.h>

namespace rebench::lm {

/// bf16 autocast for CUDA ops while alive (no effect when disabled); restores the previous state.
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool enabled);
  ~Bf16Autocast();
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

/// The dtype CUDA matmuls run in under the current autocast state, or nullopt when autocast is
/// off for CUDA. Custom kernels use it to write what the next matmul would cast to anyway.
std::optional<torch::ScalarType> cuda_autocast_dtype();

}  // namespace rebench::lm
