// Launchers of the fused softmax cross-entropy CUDA kernels (fused_cross_entropy_kernel.cu).
// Plain CUDA, no libtorch: fused_cross_entropy_torch.cpp checks the tensors and calls these with
// raw pointers on the current torch stream. Compiled only when REBENCH_LM_FUSED_CE_CUDA is set.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace rebench::lm::detail {

/// Element type of the logits (and of the gradient written by the backward kernel).
enum class LogitsType { kFloat32, kBFloat16, kFloat16 };

/// Per row r of `logits` [rows, vocab] (rows `vocab` elements apart, i.e. contiguous):
/// lse[r] = logsumexp(logits[r, :]) and loss[r] = lse[r] - logits[r, targets[r]], both float32,
/// computed in one read of the row. Rows whose target is `ignore_index` get loss 0 (lse is still
/// written); a target outside [0, vocab) gives loss NaN. Returns the launch error, if any.
cudaError_t cross_entropy_forward(LogitsType type, const void* logits, std::int64_t rows,
                                  std::int64_t vocab, const std::int64_t* targets,
                                  std::int64_t ignore_index, float* lse, float* loss,
                                  cudaStream_t stream);

/// grad[r, j] = (exp(logits[r, j] - lse[r]) - [j == targets[r]]) * scale[0], in the logits'
/// type; 0 on rows whose target is `ignore_index`. `grad` may be `logits` itself (in place);
/// otherwise it has the same shape and contiguous layout. `scale` points to one float on the
/// device (grad_output / number of counted rows), so no value is read back to the host.
cudaError_t cross_entropy_backward(LogitsType type, const void* logits, void* grad,
                                   std::int64_t rows, std::int64_t vocab,
                                   const std::int64_t* targets, std::int64_t ignore_index,
                                   const float* lse, const float* scale, cudaStream_t stream);

}  // namespace rebench::lm::detail
