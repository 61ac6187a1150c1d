// LayerNorm of float32 activations whose result is written directly in the dtype the next layer
// reads (bf16 under autocast): on CUDA a fused kernel normalises each row from registers and
// stores y in out_dtype, instead of a float32 layer_norm followed by a separate cast kernel; its
// backward reads the incoming gradient in out_dtype. Elsewhere it is at::layer_norm + .to().
#pragma once

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

}  // namespace rebench::lm
