// Fused softmax cross-entropy: the autograd function, its CUDA launches and the torch-op
// formulas used off CUDA (see fused_cross_entropy_torch.hpp).
#include "lm/fused_cross_entropy_torch.hpp"

#include <limits>
#include <utility>

#ifdef REBENCH_LM_FUSED_CE_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "lm/fused_cross_entropy_kernel.hpp"
#endif

namespace rebench::lm {
namespace F = torch::nn::functional;

namespace {

bool kernel_dtype(torch::ScalarType type) {
  return type == torch::kFloat32 || type == torch::kBFloat16 || type == torch::kFloat16;
}

#ifdef REBENCH_LM_FUSED_CE_CUDA
detail::LogitsType logits_type(torch::ScalarType type) {
  switch (type) {
    case torch::kBFloat16:
      return detail::LogitsType::kBFloat16;
    case torch::kFloat16:
      return detail::LogitsType::kFloat16;
    default:
      return detail::LogitsType::kFloat32;
  }
}

void check_launch(cudaError_t status, const char* what) {
  TORCH_CHECK(status == cudaSuccess, what, " failed: ", cudaGetErrorString(status));
}
#endif

/// Per row of the contiguous 2-D `x`: (logsumexp, loss) in float32, loss 0 on ignored rows.
std::pair<torch::Tensor, torch::Tensor> rows_forward(const torch::Tensor& x,
                                                     const torch::Tensor& targets,
                                                     std::int64_t ignore_index) {
#ifdef REBENCH_LM_FUSED_CE_CUDA
  if (fused_cross_entropy_supported(x)) {
    const c10::cuda::CUDAGuard guard(x.device());
    const auto options = x.options().dtype(torch::kFloat32);
    auto lse = torch::empty({x.size(0)}, options);
    auto loss = torch::empty({x.size(0)}, options);
    check_launch(
        detail::cross_entropy_forward(logits_type(x.scalar_type()), x.data_ptr(), x.size(0),
                                      x.size(1), targets.data_ptr<std::int64_t>(), ignore_index,
                                      lse.data_ptr<float>(), loss.data_ptr<float>(),
                                      c10::cuda::getCurrentCUDAStream(x.get_device()).stream()),
        "fused cross-entropy forward");
    return {lse, loss};
  }
#endif
  const auto xf = x.to(torch::kFloat32);
  const auto ignored = targets == ignore_index;
  auto lse = xf.logsumexp(1);
  auto picked = xf.gather(1, targets.masked_fill(ignored, 0).unsqueeze(1)).squeeze(1);
  return {lse, (lse - picked).masked_fill(ignored, 0.0)};
}

/// Writes (softmax(x) - one_hot(targets)) * scale into `grad` (may be `x`), zero on ignored rows.
void rows_backward(const torch::Tensor& x, torch::Tensor& grad, const torch::Tensor& targets,
                   std::int64_t ignore_index, const torch::Tensor& lse,
                   const torch::Tensor& scale) {
#ifdef REBENCH_LM_FUSED_CE_CUDA
  if (fused_cross_entropy_supported(x)) {
    const c10::cuda::CUDAGuard guard(x.device());
    check_launch(
        detail::cross_entropy_backward(logits_type(x.scalar_type()), x.data_ptr(), grad.data_ptr(),
                                       x.size(0), x.size(1), targets.data_ptr<std::int64_t>(),
                                       ignore_index, lse.data_ptr<float>(), scale.data_ptr<float>(),
                                       c10::cuda::getCurrentCUDAStream(x.get_device()).stream()),
        "fused cross-entropy backward");
    return;
  }
#endif
  const auto ignored = targets == ignore_index;
  auto g = (x.to(torch::kFloat32) - lse.unsqueeze(1)).exp();
  g.scatter_add_(1, targets.masked_fill(ignored, 0).unsqueeze(1),
                 ignored.logical_not().to(torch::kFloat32).neg().unsqueeze(1));
  g = (g * scale).masked_fill(ignored.unsqueeze(1), 0.0);
  grad.copy_(g);
}

class FusedCrossEntropy : public torch::autograd::Function<FusedCrossEntropy> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& targets, std::int64_t ignore_index,
                               bool grad_into_logits) {
    auto x = logits.contiguous();
    auto t = targets.reshape({-1}).to(torch::kLong).contiguous();
    auto [lse, row_losses] = rows_forward(x, t, ignore_index);
    // Counted on the device: no value comes back to the host.
    auto count = t.ne(ignore_index).sum().to(torch::kFloat32);
    ctx->save_for_backward({x, t, lse, count});
    ctx->saved_data["ignore_index"] = ignore_index;
    ctx->saved_data["grad_into_logits"] = grad_into_logits;
    ctx->saved_data["consumed"] = false;
    return row_losses.sum() / count;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const bool in_place = ctx->saved_data["grad_into_logits"].toBool();
    if (in_place) {
      TORCH_CHECK(!ctx->saved_data["consumed"].toBool(),
                  "fused cross-entropy: the logits already hold the gradient of an earlier "
                  "backward (grad_into_logits); run it without that option to backward twice");
      ctx->saved_data["consumed"] = true;
    }
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& t = saved[1];
    const auto& lse = saved[2];
    const auto& count = saved[3];
    const auto ignore_index = ctx->saved_data["ignore_index"].toInt();
    auto scale = (grad_outputs[0].to(x.device(), torch::kFloat32) / count).contiguous();
    torch::Tensor grad = in_place ? x : torch::empty_like(x);  // x is contiguous
    rows_backward(x, grad, t, ignore_index, lse, scale);
    // Anything else that saved the logits now fails its version check instead of reading
    // gradients as logits.
    if (in_place) torch::autograd::impl::bump_version(x);
    // Detached: the gradient must not carry the logits' own autograd history.
    return {grad.detach(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor reference_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                      std::int64_t ignore_index) {
  return F::cross_entropy(logits.to(torch::kFloat32), targets.reshape({-1}),
                          F::CrossEntropyFuncOptions().ignore_index(ignore_index));
}

bool fused_cross_entropy_compiled() {
#ifdef REBENCH_LM_FUSED_CE_CUDA
  return true;
#else
  return false;
#endif
}

bool fused_cross_entropy_supported(const torch::Tensor& logits) {
  return fused_cross_entropy_compiled() && logits.defined() && logits.is_cuda() &&
         logits.dim() == 2 && kernel_dtype(logits.scalar_type()) && logits.size(1) > 0 &&
         logits.size(1) <= std::numeric_limits<int>::max() &&
         logits.size(0) <= std::numeric_limits<int>::max();
}

torch::Tensor fused_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                  const CrossEntropyOptions& options) {
  if (!fused_cross_entropy_supported(logits))
    return reference_cross_entropy(logits, targets, options.ignore_index);
  return fused_cross_entropy_function(logits, targets, options);
}

torch::Tensor fused_cross_entropy_function(const torch::Tensor& logits,
                                           const torch::Tensor& targets,
                                           const CrossEntropyOptions& options) {
  TORCH_CHECK(logits.dim() == 2, "fused cross-entropy: logits must be [rows, vocab], got ",
              logits.sizes());
  TORCH_CHECK(targets.numel() == logits.size(0), "fused cross-entropy: ", targets.numel(),
              " targets for ", logits.size(0), " rows");
  TORCH_CHECK(logits.size(1) > 0, "fused cross-entropy: empty vocabulary");
  TORCH_CHECK(targets.device() == logits.device(), "fused cross-entropy: targets on ",
              targets.device(), ", logits on ", logits.device());
  TORCH_CHECK(logits.is_floating_point(), "fused cross-entropy: logits must be floating point");
  return FusedCrossEntropy::apply(logits, targets, options.ignore_index, options.grad_into_logits);
}

}  // namespace rebench::lm
