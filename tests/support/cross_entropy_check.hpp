// Test helpers shared by the CPU and GPU tests of the fused cross-entropy: the loss and logits
// gradient of a loss function (and the hidden/weight gradients of an output layer + loss), and
// the float32 F::cross_entropy references they are compared with.
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

struct LinearLossAndGrads {
  torch::Tensor loss;
  torch::Tensor grad_hidden;  ///< d loss / d hidden, in hidden's dtype
  torch::Tensor grad_weight;  ///< d loss / d weight, in weight's dtype
};

/// Loss and gradients of `loss_fn(hidden, weight)` on leaf copies of both.
template <typename LossFn>
LinearLossAndGrads run_linear(const torch::Tensor& hidden, const torch::Tensor& weight,
                              LossFn loss_fn) {
  auto h = hidden.detach().clone().set_requires_grad(true);
  auto w = weight.detach().clone().set_requires_grad(true);
  auto loss = loss_fn(h, w);
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

/// F::cross_entropy(F::linear(hidden, weight), targets) with everything in float32.
inline LinearLossAndGrads linear_reference(const torch::Tensor& hidden, const torch::Tensor& weight,
                                           const torch::Tensor& targets,
                                           std::int64_t ignore_index = -100) {
  namespace F = torch::nn::functional;
  return run_linear(hidden.to(torch::kFloat32), weight.to(torch::kFloat32),
                    [&](const torch::Tensor& h, const torch::Tensor& w) {
                      return F::cross_entropy(
                          F::linear(h, w), targets,
                          F::CrossEntropyFuncOptions().ignore_index(ignore_index));
                    });
}

/// max |got - want| / max |want| over all elements, in float32 (0 when both are all zero).
inline double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  auto g = got.to(torch::kFloat32), w = want.to(torch::kFloat32);
  const double scale = w.abs().max().item<double>();
  const double diff = (g - w).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

}  // namespace rebench::lm::cross_entropy_check
