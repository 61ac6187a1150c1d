// Starting solution (CPU profile) for optimize_kernel: the original PyTorch algorithm, op by op,
// written with libtorch. This is the file you are asked to make faster.
//
// Contract (identical for every solution; do not change the signature):
//   extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* stream);
//   x, y   host pointers to n int32 values (distinct, not overlapping); n >= 1.
//   stream always nullptr on the CPU profile.
//   return 0 on success, non-zero on error.
// Result: y[i] = sum over j <= i of x[j], counting x[j] only when the number of k < j with
// x[k] > 0 is odd. Arithmetic wraps modulo 2^32 (int32 two's complement), so every correct
// implementation produces bit-identical output. Inputs are in [-10, 10).
#include <torch/torch.h>

#include <cstdint>
#include <exception>

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* /*stream*/) {
  try {
    torch::NoGradGuard no_grad;
    // from_blob wraps the caller's memory without copying; x is never written.
    torch::Tensor xt = torch::from_blob(const_cast<int32_t*>(x), {n}, torch::kInt32);
    torch::Tensor yt = torch::from_blob(y, {n}, torch::kInt32);

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
