// AdamW (decoupled weight decay, as torch.optim.AdamW computes it) over parameter groups, using
// PyTorch's fused multi-tensor CUDA kernel when this libtorch has it and the parameters are on a
// GPU, and plain tensor ops otherwise. Our own small class because libtorch's C++ optimizers
// have no fused path and their API differs between 1.13 and 2.x.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace rebench::lm {

struct AdamWGroup {
  std::vector<torch::Tensor> params;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<AdamWGroup> groups, double beta1, double beta2, double eps = 1e-8);
  /// One update of every parameter that has a gradient, with learning rate `lr`.
  void step(double lr);
  void zero_grad();
  [[nodiscard]] bool fused() const { return fused_; }
  [[nodiscard]] std::vector<torch::Tensor> all_params() const;

 private:
  struct GroupState {
    AdamWGroup group;
    std::vector<torch::Tensor> exp_avg, exp_avg_sq, steps;
  };
  std::vector<GroupState> groups_;
  double beta1_, beta2_, eps_;
  std::int64_t step_count_ = 0;
  bool fused_ = false;
};

/// nanoGPT's grouping: matrices (dim ≥ 2: linear weights, embeddings) decay, biases and
/// LayerNorm parameters do not. Parameters with requires_grad false are left out.
std::vector<AdamWGroup> nanogpt_param_groups(
    const std::vector<std::pair<std::string, torch::Tensor>>& named, double weight_decay);

}  // namespace rebench::lm
