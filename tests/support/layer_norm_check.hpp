// Test helpers shared by the CPU and GPU tests of the fused LayerNorm: inputs, the outputs and
// gradients of a norm (or of a residual add + norm) on leaf copies of them, and the references
// they are compared with, autograd through at::layer_norm(x or x + branch).to(out_dtype).
#pragma once

#include <utility>

#include <torch/torch.h>

namespace rebench::lm::layer_norm_check {

constexpr double kEps = 1e-5;

struct Params {
  torch::Tensor x, weight, bias;
};

struct Result {
  torch::Tensor y, dx, dweight, dbias;
};

/// y = norm(x, weight, bias), then dx, dweight, dbias of sum(y * dy) (dy in y's dtype), all on
/// leaf copies of the parameters.
template <typename Norm>
Result run(const Params& p, const torch::Tensor& dy, Norm norm) {
  auto x = p.x.detach().clone().set_requires_grad(true);
  auto weight = p.weight.detach().clone().set_requires_grad(true);
  auto bias = p.bias.detach().clone().set_requires_grad(true);
  auto y = norm(x, weight, bias);
  y.backward(dy);
  return {y.detach(), x.grad(), weight.grad(), bias.grad()};
}

inline Result reference(const Params& p, const torch::Tensor& dy, torch::ScalarType out_dtype) {
  return run(p, dy, [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return at::layer_norm(x, {x.size(-1)}, w, b, kEps).to(out_dtype);
  });
}

struct AddResult {
  torch::Tensor sum, y, dx, dbranch, dweight, dbias;
};

/// {sum, y} = add_norm(x, branch, weight, bias) on leaf copies, then the gradients of
/// sum(y.float() * dy) + sum(sum * dsum); an undefined dsum leaves the sum out of the loss.
template <typename AddNorm>
AddResult run_add(const Params& p, const torch::Tensor& branch, const torch::Tensor& dy,
                  const torch::Tensor& dsum, AddNorm add_norm) {
  auto x = p.x.detach().clone().set_requires_grad(true);
  auto b = branch.detach().clone().set_requires_grad(true);
  auto weight = p.weight.detach().clone().set_requires_grad(true);
  auto bias = p.bias.detach().clone().set_requires_grad(true);
  auto [sum, y] = add_norm(x, b, weight, bias);
  auto loss = (y.to(torch::kFloat32) * dy).sum();
  if (dsum.defined()) loss = loss + (sum * dsum).sum();
  loss.backward();
  return {sum.detach(), y.detach(), x.grad(), b.grad(), weight.grad(), bias.grad()};
}

inline AddResult add_reference(const Params& p, const torch::Tensor& branch,
                               const torch::Tensor& dy, const torch::Tensor& dsum,
                               torch::ScalarType out_dtype) {
  return run_add(p, branch, dy, dsum,
                 [&](const torch::Tensor& x, const torch::Tensor& b, const torch::Tensor& w,
                     const torch::Tensor& bias) {
                   auto sum = x + b;
                   return std::make_pair(
                       sum, at::layer_norm(sum, {x.size(-1)}, w, bias, kEps).to(out_dtype));
                 });
}

}  // namespace rebench::lm::layer_norm_check
