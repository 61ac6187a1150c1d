// Mean softmax cross-entropy of [rows, vocab] logits without a float32 copy of them: on CUDA a
// fused kernel reads bf16/fp16/fp32 logits once in the forward (keeping one float32 logsumexp
// per row) and once in the backward (writing the gradient in the logits' dtype, optionally into
// their own storage). Elsewhere it is the reference: logits.to(float32) + F::cross_entropy.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace rebench::lm {

struct CrossEntropyOptions {
  /// Rows with this target contribute no loss and no gradient and are not counted in the mean
  /// (torch's default, -100; nanoGPT uses -1).
  std::int64_t ignore_index = -100;
  /// The backward writes the logits' gradient into the logits' own storage instead of a new
  /// tensor (saves one logits-sized allocation). Only for logits nothing else reads after the
  /// backward; a second backward through the same graph is refused.
  bool grad_into_logits = false;
};

/// The reference path: mean of F::cross_entropy(logits.to(float32), targets), ignore_index as
/// given. What the model used before the fused kernel, and what it uses without one.
torch::Tensor reference_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                      std::int64_t ignore_index = -100);

/// True when this build has the CUDA kernel (CUDA libtorch and nvcc at configure time).
bool fused_cross_entropy_compiled();

/// True when fused_cross_entropy(logits, …) runs the CUDA kernel: compiled in, logits on a CUDA
/// device, 2-D, float32, bfloat16 or float16, vocabulary below 2^31.
bool fused_cross_entropy_supported(const torch::Tensor& logits);

/// Mean cross-entropy (float32 scalar) of `logits` [rows, vocab] against `targets` [rows]
/// (integer class ids): the fused kernel where supported, else reference_cross_entropy. Equal to
/// F::cross_entropy(logits.float(), targets) up to float32 rounding; the gradient is rounded to
/// the logits' dtype (as the reference's is when it flows back through .to(float32)).
torch::Tensor fused_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                  const CrossEntropyOptions& options = {});

/// The fused autograd function itself on any device: the CUDA kernel for CUDA logits when
/// compiled in, otherwise the same formulas in torch operations (per-row float32 logsumexp
/// saved, gradient (softmax - one_hot) * grad / count written in the logits' dtype). For tests
/// of the autograd plumbing (counting, ignore_index, in-place gradient) on the CPU.
torch::Tensor fused_cross_entropy_function(const torch::Tensor& logits,
                                           const torch::Tensor& targets,
                                           const CrossEntropyOptions& options = {});

}  // namespace rebench::lm
