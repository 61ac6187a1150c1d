// Test helpers shared by the CPU and GPU tests of the fused cross-entropy: the loss and logits
// gradient of a loss function, and the float32 F::cross_entropy reference they are compared with.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace rebench::lm::cross_entropy_check {

struct LossAndGrad {
  torch::Tensor loss;
  torch::Tensor grad;  ///< d loss / d logits, in the logits' dtype
};

/// Loss and gradient of `loss_fn` on a leaf copy of `logits`; with `through_clone` the loss sees
/// a non-leaf clone (what grad_into_logits may overwrite) and the returned gradient is what
/// reached the leaf.
template <typename LossFn>
LossAndGrad run(const torch::Tensor& logits, LossFn loss_fn, bool through_clone = false) {
  auto leaf = logits.detach().clone().set_requires_grad(true);
  auto loss = loss_fn(through_clone ? leaf.clone() : leaf);
  loss.backward();
  return {loss.detach(), leaf.grad()};
}

/// The reference everything is compared with: F::cross_entropy on float32 logits.
inline LossAndGrad reference(const torch::Tensor& logits, const torch::Tensor& targets,
                             std::int64_t ignore_index = -100) {
  namespace F = torch::nn::functional;
  return run(logits.to(torch::kFloat32), [&](const torch::Tensor& x) {
    return F::cross_entropy(x, targets, F::CrossEntropyFuncOptions().ignore_index(ignore_index));
  });
}

}  // namespace rebench::lm::cross_entropy_check
