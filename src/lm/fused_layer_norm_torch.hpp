// LayerNorm of float32 activations whose result is written directly in the dtype the next layer
// reads (bf16 under autocast): on CUDA a fused kernel normalises each row from registers and
// stores y in out_dtype, instead of a float32 layer_norm followed by a separate cast kernel; its
// backward reads the incoming gradient in out_dtype. Elsewhere it is at::layer_norm + .to().
#pragma once

#include <utility>

#include <torch/torch.h>

namespace rebench::lm {

/// True when this build has the CUDA kernel (CUDA libtorch and nvcc at configure time).
bool fused_layer_norm_compiled();

/// True when fused_layer_norm(x, weight, bias, …) runs the CUDA kernels: compiled in, x CUDA
/// float32 with last dim C in [1, 1024] (and fewer than 2^31 rows), weight and bias float32 [C]
/// on the same device. The output dtype (bf16, fp16 or fp32) is checked by fused_layer_norm.
bool fused_layer_norm_supported(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias);

/// LayerNorm over the last dimension: (x - mean) / sqrt(var + eps) * weight + bias, statistics
/// in float32, result in out_dtype. Differentiable in x, weight and bias (gradients float32 like
/// the inputs; the incoming gradient is read in out_dtype). Falls back to
/// at::layer_norm(x, {C}, weight, bias, eps).to(out_dtype) where unsupported (CPU, libtorch
/// without the kernel, other dtypes).
torch::Tensor fused_layer_norm(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, double eps, torch::ScalarType out_dtype);

/// The fused autograd function itself on any device: the CUDA kernels where
/// fused_layer_norm_supported, otherwise the same formulas in torch operations (per-row float32
/// mean and rstd saved; dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight,
/// dweight = sum of dy * xhat, dbias = sum of dy). For tests of the backward formulas and the
/// autograd plumbing on the CPU. x, weight and bias must be float32; out_dtype bf16, fp16 or fp32.
torch::Tensor fused_layer_norm_function(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias, double eps,
                                        torch::ScalarType out_dtype);

// ---- residual add fused into the norm ---------------------------------------------------------
// A transformer block's `x = x + branch; h = norm(x)` as one node: the kernel reads x and the
// branch once, writes the float32 sum and y, and its backward adds the gradient arriving at the
// sum into dx (which is also the branch's gradient), instead of separate add kernels.

/// True when fused_add_layer_norm(x, branch, weight, bias, …) runs the CUDA kernels:
/// fused_layer_norm_supported(x, weight, bias) and branch of x's shape on x's device in bf16,
/// fp16 or fp32.
bool fused_add_layer_norm_supported(const torch::Tensor& x, const torch::Tensor& branch,
                                    const torch::Tensor& weight, const torch::Tensor& bias);

/// sum = x + branch (float32) and y = LayerNorm(sum) in out_dtype, as one node. Returns {sum, y}.
/// Differentiable in x, branch, weight and bias: x's gradient is float32, branch's in the
/// branch's dtype. sum is saved for the backward, so it must not be modified in place. Falls back
/// to x + branch and at::layer_norm(sum, …).to(out_dtype) where unsupported.
std::pair<torch::Tensor, torch::Tensor> fused_add_layer_norm(const torch::Tensor& x,
                                                             const torch::Tensor& branch,
                                                             const torch::Tensor& weight,
                                                             const torch::Tensor& bias, double eps,
                                                             torch::ScalarType out_dtype);

/// The fused autograd function itself on any device (the torch-op formulas off CUDA, as for
/// fused_layer_norm_function), for tests. x float32, branch of x's shape in bf16, fp16 or fp32.
std::pair<torch::Tensor, torch::Tensor> fused_add_layer_norm_function(
    const torch::Tensor& x, const torch::Tensor& branch, const torch::Tensor& weight,
    const torch::Tensor& bias, double eps, torch::ScalarType out_dtype);

}  // namespace rebench::lm
