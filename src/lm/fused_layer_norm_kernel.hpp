// Launchers of the fused LayerNorm CUDA kernels (fused_layer_norm_kernel.cu). Plain CUDA, no
// libtorch: fused_layer_norm_torch.cpp checks the tensors and calls these with raw pointers on
// the current torch stream. Compiled only when REBENCH_LM_FUSED_LN_CUDA is set.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace rebench::lm::detail {

/// Element type of the LayerNorm output y (and of the gradient dy the backward reads).
enum class NormOutputType { kFloat32, kBFloat16, kFloat16 };

/// Element type of the residual branch added before the norm (add_layer_norm_*): the same three.
using BranchType = NormOutputType;

/// Widest row the kernels take: each of a warp's 32 lanes keeps its share of a row (at most 32
/// values) in registers.
constexpr std::int64_t kLayerNormMaxWidth = 1024;

/// Per row r of the contiguous float32 `x` [rows, width]: mean[r], rstd[r] = 1 / sqrt(var + eps)
/// (variance of the row about its mean, float32) and y[r, :] = (x - mean) * rstd * weight + bias
/// in `type`, y contiguous like x. weight and bias are float32 [width]. rows == 0 launches
/// nothing. Returns the launch error, or cudaErrorInvalidValue for a width outside
/// [1, kLayerNormMaxWidth] or rows outside [0, INT_MAX].
cudaError_t layer_norm_forward(NormOutputType type, const float* x, const float* weight,
                               const float* bias, std::int64_t rows, std::int64_t width, float eps,
                               void* y, float* mean, float* rstd, cudaStream_t stream);

/// layer_norm_forward of sum = x + branch: also reads `branch` [rows, width] (in branch_type,
/// contiguous) and writes the float32 sum to `sum_out` [rows, width] (x + float(branch), as
/// torch's float32 + bf16 add rounds it); mean, rstd and y are those of the sum.
cudaError_t add_layer_norm_forward(NormOutputType out_type, BranchType branch_type, const float* x,
                                   const void* branch, const float* weight, const float* bias,
                                   std::int64_t rows, std::int64_t width, float eps, float* sum_out,
                                   void* y, float* mean, float* rstd, cudaStream_t stream);

/// Blocks the backward runs for `rows` rows of `width` on the current device (a few per SM, at
/// least 1); its `partial` workspace holds 2 * blocks * width floats. The same arguments on the
/// same device always give the same count, which keeps dweight and dbias bitwise reproducible.
cudaError_t layer_norm_backward_blocks(std::int64_t rows, std::int64_t width, int* blocks);

/// Gradients of layer_norm_forward, or of add_layer_norm_forward, given dy [rows, width] in
/// `type` and the forward's input (x, or the saved `sum`), mean, rstd and weight:
/// dx [rows, width] = rstd * (g - mean(g) - xhat * mean(g * xhat)) + dsum_in with g = dy * weight
/// and xhat = (input - mean) * rstd, where dsum_in [rows, width] float32 is the gradient reaching
/// the input from its other users (nullptr: none); dweight = sum over rows of dy * xhat and
/// dbias = sum over rows of dy; all float32. After an add, dx is the gradient of both x and
/// branch (the add passes it through): for a bf16 or fp16 branch the same values are also
/// written to `dbranch` in branch_type; for a float32 branch (and for a plain norm, which passes
/// kFloat32) dbranch is not touched (may be nullptr). dweight and dbias are summed without
/// atomics, in a fixed order: each of `blocks` blocks (layer_norm_backward_blocks) writes its
/// partial sums to `partial` [blocks, 2, width], a second kernel adds them up. rows == 0 gives
/// zero dweight and dbias. Returns the launch error, if any.
cudaError_t add_layer_norm_backward(NormOutputType type, BranchType branch_type, const void* dy,
                                    const float* dsum_in, const float* sum, const float* mean,
                                    const float* rstd, const float* weight, std::int64_t rows,
                                    std::int64_t width, float* dx, void* dbranch, float* dweight,
                                    float* dbias, float* partial, int blocks, cudaStream_t stream);

}  // namespace rebench::lm::detail
