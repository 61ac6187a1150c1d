// Starting solution (GPU profile) for optimize_kernel: the original PyTorch algorithm, op by op,
// written with libtorch. This is the file you are asked to make faster.
//
// Contract (identical for every solution; do not change the signature):
//   extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* stream);
//   x, y    device pointers (cudaMalloc'd, distinct, not overlapping) to n int32 values; n >= 1.
//   stream  the cudaStream_t to enqueue ALL work on. The caller times the call with CUDA events
//           on this stream and synchronises afterwards, so work on other streams is not timed
//           correctly and may race. Temporary memory is allowed (cudaMallocAsync on the stream, or
//           a cached buffer).
//   return  0 on success, non-zero (e.g. a cudaError_t) on error.
// Result: y[i] = sum over j <= i of x[j], counting x[j] only when the number of k < j with
// x[k] > 0 is odd. Arithmetic wraps modulo 2^32 (int32 two's complement), so every correct
// implementation produces bit-identical output. Inputs are in [-10, 10); n is up to 1e8.
// You may drop libtorch entirely (plain CUDA, CUB, ...).
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/torch.h>

#include <cstdint>
#include <exception>

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* stream) {
  try {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return 1;
    // Make every libtorch op below run on the caller's stream.
    c10::cuda::CUDAStreamGuard stream_guard(
        c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream), device));
    torch::NoGradGuard no_grad;

    // from_blob wraps the caller's device memory without copying; x is never written.
    const auto options = torch::TensorOptions().dtype(torch::kInt32).device(torch::kCUDA, device);
    torch::Tensor xt = torch::from_blob(const_cast<int32_t*>(x), {n}, options);
    torch::Tensor yt = torch::from_blob(y, {n}, options);

    torch::Tensor is_positive = xt > 0;
    torch::Tensor positive_count = is_positive.cumsum(0);
    torch::Tensor is_positive_count_odd = (positive_count % 2).to(torch::kBool);
    torch::Tensor prefix_sum = torch::zeros_like(xt);
    // Element j is included when the count of positives strictly before it (i.e. up to j-1)
    // is odd; element 0 never is. cumsum promotes to int64; the cast back wraps to int32.
    prefix_sum.slice(0, 1) =
        torch::where(is_positive_count_odd.slice(0, 0, n - 1), xt.slice(0, 1), 0)
            .cumsum(0)
            .to(torch::kInt32);
    yt.copy_(prefix_sum);
    return 0;
  } catch (const std::exception&) {
    return 1;
  }
}
