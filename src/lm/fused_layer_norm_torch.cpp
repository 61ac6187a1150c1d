// Fused LayerNorm with the output in a narrower dtype, alone or after a residual add: the
// autograd functions, their CUDA launches and the torch-op formulas used off CUDA (see
// fused_layer_norm_torch.hpp).
#include "lm/fused_layer_norm_torch.hpp"

#include <cstdint>
#include <limits>
#include <tuple>

#ifdef REBENCH_LM_FUSED_LN_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "lm/fused_layer_norm_kernel.hpp"
#endif

namespace rebench::lm {

namespace {

// Mirrors detail::kLayerNormMaxWidth, which this file cannot include without CUDA.
constexpr std::int64_t kMaxWidth = 1024;

bool output_dtype_ok(torch::ScalarType type) {
  return type == torch::kFloat32 || type == torch::kBFloat16 || type == torch::kFloat16;
}

/// weight or bias fit x for the kernels: float32 [C] on x's device.
bool kernel_parameter(const torch::Tensor& p, const torch::Tensor& x) {
  return p.defined() && p.scalar_type() == torch::kFloat32 && p.dim() == 1 &&
         p.size(0) == x.size(-1) && p.device() == x.device();
}

#ifdef REBENCH_LM_FUSED_LN_CUDA
detail::NormOutputType output_type(torch::ScalarType type) {
  switch (type) {
    case torch::kBFloat16:
      return detail::NormOutputType::kBFloat16;
    case torch::kFloat16:
      return detail::NormOutputType::kFloat16;
    default:
      return detail::NormOutputType::kFloat32;
  }
}

void check_launch(cudaError_t status, const char* what) {
  TORCH_CHECK(status == cudaSuccess, what, " failed: ", cudaGetErrorString(status));
}
#endif

/// (y in out_dtype, mean, rstd) of the contiguous float32 `x` over its last dimension. The
/// kernel keeps mean and rstd as [rows]; the torch-op formulas as x's shape with a last dim of 1.
/// Either way the backward of the same tensors takes the same path and reads them back.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> norm_forward(const torch::Tensor& x,
                                                                     const torch::Tensor& weight,
                                                                     const torch::Tensor& bias,
                                                                     double eps,
                                                                     torch::ScalarType out_dtype) {
#ifdef REBENCH_LM_FUSED_LN_CUDA
  if (fused_layer_norm_supported(x, weight, bias)) {
    const c10::cuda::CUDAGuard guard(x.device());
    const auto width = x.size(-1);
    const auto rows = x.numel() / width;
    // y has x's shape from the start: a view of a [rows, C] result returned by the autograd
    // function would be refused by later in-place operations.
    auto y = torch::empty(x.sizes(), x.options().dtype(out_dtype));
    auto mean = torch::empty({rows}, x.options());
    auto rstd = torch::empty({rows}, x.options());
    check_launch(detail::layer_norm_forward(
                     output_type(out_dtype), x.data_ptr<float>(), weight.data_ptr<float>(),
                     bias.data_ptr<float>(), rows, width, static_cast<float>(eps), y.data_ptr(),
                     mean.data_ptr<float>(), rstd.data_ptr<float>(),
                     c10::cuda::getCurrentCUDAStream(x.get_device()).stream()),
                 "fused layer norm forward");
    return {y, mean, rstd};
  }
#endif
  // Two passes like the kernel: the variance about the mean, not E[x^2] - E[x]^2.
  auto mean = x.mean(-1, /*keepdim=*/true);
  auto centered = x - mean;
  auto rstd = ((centered * centered).mean(-1, /*keepdim=*/true) + eps).rsqrt();
  auto y = (centered * rstd * weight + bias).to(out_dtype);
  return {y, mean, rstd};
}

/// (dx, dweight, dbias), float32, in torch operations (the formulas the kernels implement),
/// given dy (out_dtype, contiguous, x's shape) and what norm_forward returned for x.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> norm_backward_ops(
    const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& mean,
    const torch::Tensor& rstd, const torch::Tensor& weight) {
  const auto dyf = dy.to(torch::kFloat32);
  const auto xhat = (x - mean) * rstd;
  const auto g = dyf * weight;
  auto dx =
      rstd * (g - g.mean(-1, /*keepdim=*/true) - xhat * (g * xhat).mean(-1, /*keepdim=*/true));
  const auto width = x.size(-1);
  auto dweight = (dyf * xhat).reshape({-1, width}).sum(0);
  auto dbias = dyf.reshape({-1, width}).sum(0);
  return {dx, dweight, dbias};
}

/// (sum, y, mean, rstd) for sum = x + branch and y = LayerNorm(sum): one kernel where supported
/// (x, branch contiguous), otherwise the add and then norm_forward (mean and rstd as it keeps
/// them).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor> add_norm_forward(
    const torch::Tensor& x, const torch::Tensor& branch, const torch::Tensor& weight,
    const torch::Tensor& bias, double eps, torch::ScalarType out_dtype) {
#ifdef REBENCH_LM_FUSED_LN_CUDA
  if (fused_add_layer_norm_supported(x, branch, weight, bias)) {
    const c10::cuda::CUDAGuard guard(x.device());
    const auto width = x.size(-1);
    const auto rows = x.numel() / width;
    auto sum = torch::empty(x.sizes(), x.options());
    auto y = torch::empty(x.sizes(), x.options().dtype(out_dtype));
    auto mean = torch::empty({rows}, x.options());
    auto rstd = torch::empty({rows}, x.options());
    check_launch(
        detail::add_layer_norm_forward(
            output_type(out_dtype), output_type(branch.scalar_type()), x.data_ptr<float>(),
            branch.data_ptr(), weight.data_ptr<float>(), bias.data_ptr<float>(), rows, width,
            static_cast<float>(eps), sum.data_ptr<float>(), y.data_ptr(), mean.data_ptr<float>(),
            rstd.data_ptr<float>(), c10::cuda::getCurrentCUDAStream(x.get_device()).stream()),
        "fused add + layer norm forward");
    return {sum, y, mean, rstd};
  }
#endif
  auto sum = x + branch;  // float32 + bf16 computes in float32, as the kernel does
  auto [y, mean, rstd] = norm_forward(sum, weight, bias, eps, out_dtype);
  return {sum, y, mean, rstd};
}

/// (dx, dbranch, dweight, dbias) given dy (out_dtype, contiguous), dsum (float32 contiguous
/// gradient reaching the sum from its other users, or undefined) and what add_norm_forward
/// saved. dx includes dsum; dbranch is dx in branch_dtype (dx itself for float32, as autograd's
/// own add backward passes one gradient to both inputs).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor> add_norm_backward(
    const torch::Tensor& dy, const torch::Tensor& dsum, const torch::Tensor& sum,
    const torch::Tensor& mean, const torch::Tensor& rstd, const torch::Tensor& weight,
    torch::ScalarType branch_dtype) {
#ifdef REBENCH_LM_FUSED_LN_CUDA
  // norm_forward and add_norm_forward took the kernel exactly when this holds for the norm's
  // input (the branch was checked by fused_add_layer_norm_function); weight stands in for the
  // bias, which is not saved: the forward checked both alike.
  if (fused_layer_norm_supported(sum, weight, weight)) {
    const c10::cuda::CUDAGuard guard(sum.device());
    const auto width = sum.size(-1);
    const auto rows = sum.numel() / width;
    int blocks = 0;
    check_launch(detail::layer_norm_backward_blocks(rows, width, &blocks),
                 "fused layer norm backward (grid size)");
    const auto options = sum.options();  // float32, the sum's device
    auto partial = torch::empty({2 * static_cast<std::int64_t>(blocks) * width}, options);
    auto dx = torch::empty(sum.sizes(), options);
    auto dweight = torch::empty({width}, options);
    auto dbias = torch::empty({width}, options);
    auto dbranch = dx;
    if (branch_dtype != torch::kFloat32)
      dbranch = torch::empty(sum.sizes(), options.dtype(branch_dtype));
    check_launch(
        detail::add_layer_norm_backward(
            output_type(dy.scalar_type()), output_type(branch_dtype), dy.data_ptr(),
            dsum.defined() ? dsum.data_ptr<float>() : nullptr, sum.data_ptr<float>(),
            mean.data_ptr<float>(), rstd.data_ptr<float>(), weight.data_ptr<float>(), rows, width,
            dx.data_ptr<float>(), branch_dtype != torch::kFloat32 ? dbranch.data_ptr() : nullptr,
            dweight.data_ptr<float>(), dbias.data_ptr<float>(), partial.data_ptr<float>(), blocks,
            c10::cuda::getCurrentCUDAStream(sum.get_device()).stream()),
        "fused layer norm backward");
    return {dx, dbranch, dweight, dbias};
  }
#endif
  auto [dx, dweight, dbias] = norm_backward_ops(dy, sum, mean, rstd, weight);
  if (dsum.defined()) dx = dx + dsum;
  auto dbranch = dx.to(branch_dtype);
  return {dx, dbranch, dweight, dbias};
}

/// (dx, dweight, dbias) of norm_forward: the add's backward with no gradient reaching the sum
/// and a float32 "branch" (one kernel, or formula, serves both nodes).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> norm_backward(const torch::Tensor& dy,
                                                                      const torch::Tensor& x,
                                                                      const torch::Tensor& mean,
                                                                      const torch::Tensor& rstd,
                                                                      const torch::Tensor& weight) {
  auto [dx, unused_dbranch, dweight, dbias] =
      add_norm_backward(dy, torch::Tensor(), x, mean, rstd, weight, torch::kFloat32);
  return {dx, dweight, dbias};
}

class FusedLayerNorm : public torch::autograd::Function<FusedLayerNorm> {
 public:
  // out_dtype travels as its integer value: that is what saved_data (an IValue) holds on every
  // libtorch version.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                               std::int64_t out_dtype) {
    auto x = input.contiguous();
    auto w = weight.contiguous();
    auto [y, mean, rstd] =
        norm_forward(x, w, bias.contiguous(), eps, static_cast<torch::ScalarType>(out_dtype));
    ctx->save_for_backward({x, w, mean, rstd});
    ctx->saved_data["out_dtype"] = out_dtype;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto& mean = saved[2];
    const auto& rstd = saved[3];
    const auto out_dtype = static_cast<torch::ScalarType>(ctx->saved_data["out_dtype"].toInt());
    // The kernel reads dy in the output's dtype and layout; anything else is converted first.
    const auto dy = grad_outputs[0].to(out_dtype).contiguous();
    auto [dx, dweight, dbias] = norm_backward(dy, x, mean, rstd, w);
    return {dx, dweight, dbias, torch::Tensor(), torch::Tensor()};
  }
};

/// {sum, y} of add_norm_forward as one autograd node with inputs x, branch, weight, bias.
class FusedAddLayerNorm : public torch::autograd::Function<FusedAddLayerNorm> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& input,
                                                const torch::Tensor& branch,
                                                const torch::Tensor& weight,
                                                const torch::Tensor& bias, double eps,
                                                std::int64_t out_dtype) {
    auto w = weight.contiguous();
    auto [sum, y, mean, rstd] =
        add_norm_forward(input.contiguous(), branch.contiguous(), w, bias.contiguous(), eps,
                         static_cast<torch::ScalarType>(out_dtype));
    ctx->save_for_backward({sum, w, mean, rstd});
    ctx->saved_data["out_dtype"] = out_dtype;
    ctx->saved_data["branch_dtype"] = static_cast<std::int64_t>(branch.scalar_type());
    // An unused output's gradient stays undefined instead of a tensor of zeros: the kernel then
    // skips reading dsum altogether.
    ctx->set_materialize_grads(false);
    return {sum, y};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& sum = saved[0];
    const auto& w = saved[1];
    const auto& mean = saved[2];
    const auto& rstd = saved[3];
    const auto out_dtype = static_cast<torch::ScalarType>(ctx->saved_data["out_dtype"].toInt());
    const auto branch_dtype =
        static_cast<torch::ScalarType>(ctx->saved_data["branch_dtype"].toInt());
    const auto& grad_sum = grad_outputs[0];
    const auto& grad_y = grad_outputs[1];
    // y unused (rare): a zero dy keeps one code path; the kernel's formulas give dx = dsum.
    const auto dy = grad_y.defined() ? grad_y.to(out_dtype).contiguous()
                                     : torch::zeros(sum.sizes(), sum.options().dtype(out_dtype));
    const auto dsum =
        grad_sum.defined() ? grad_sum.to(torch::kFloat32).contiguous() : torch::Tensor();
    auto [dx, dbranch, dweight, dbias] =
        add_norm_backward(dy, dsum, sum, mean, rstd, w, branch_dtype);
    return {dx, dbranch, dweight, dbias, torch::Tensor(), torch::Tensor()};
  }
};

/// The argument checks of the autograd functions (x, weight, bias and out_dtype).
void check_norm_arguments(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias, torch::ScalarType out_dtype) {
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) >= 1,
              "fused layer norm: x needs a non-empty last dimension, got ", x.sizes());
  TORCH_CHECK(x.scalar_type() == torch::kFloat32, "fused layer norm: x must be float32, got ",
              x.scalar_type());
  for (const auto* p : {&weight, &bias}) {
    TORCH_CHECK(p->defined() && p->scalar_type() == torch::kFloat32 && p->dim() == 1 &&
                    p->size(0) == x.size(-1),
                "fused layer norm: weight and bias must be float32 [", x.size(-1), "]");
    TORCH_CHECK(p->device() == x.device(), "fused layer norm: weight or bias on ", p->device(),
                ", x on ", x.device());
  }
  TORCH_CHECK(output_dtype_ok(out_dtype),
              "fused layer norm: out_dtype must be float32, bfloat16 or float16, got ", out_dtype);
}

}  // namespace

bool fused_layer_norm_compiled() {
#ifdef REBENCH_LM_FUSED_LN_CUDA
  return true;
#else
  return false;
#endif
}

bool fused_layer_norm_supported(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias) {
  if (!fused_layer_norm_compiled() || !x.defined() || !x.is_cuda() ||
      x.scalar_type() != torch::kFloat32 || x.dim() < 1)
    return false;
  const auto width = x.size(-1);
  return width >= 1 && width <= kMaxWidth && x.numel() / width <= std::numeric_limits<int>::max() &&
         kernel_parameter(weight, x) && kernel_parameter(bias, x);
}

torch::Tensor fused_layer_norm(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, double eps, torch::ScalarType out_dtype) {
  if (!output_dtype_ok(out_dtype) || !fused_layer_norm_supported(x, weight, bias))
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps).to(out_dtype);
  return fused_layer_norm_function(x, weight, bias, eps, out_dtype);
}

torch::Tensor fused_layer_norm_function(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias, double eps,
                                        torch::ScalarType out_dtype) {
  check_norm_arguments(x, weight, bias, out_dtype);
  return FusedLayerNorm::apply(x, weight, bias, eps, static_cast<std::int64_t>(out_dtype));
}

bool fused_add_layer_norm_supported(const torch::Tensor& x, const torch::Tensor& branch,
                                    const torch::Tensor& weight, const torch::Tensor& bias) {
  return fused_layer_norm_supported(x, weight, bias) && branch.defined() &&
         output_dtype_ok(branch.scalar_type()) && branch.sizes() == x.sizes() &&
         branch.device() == x.device();
}

std::pair<torch::Tensor, torch::Tensor> fused_add_layer_norm(const torch::Tensor& x,
                                                             const torch::Tensor& branch,
                                                             const torch::Tensor& weight,
                                                             const torch::Tensor& bias, double eps,
                                                             torch::ScalarType out_dtype) {
  if (!output_dtype_ok(out_dtype) || !fused_add_layer_norm_supported(x, branch, weight, bias)) {
    auto sum = x + branch;
    return {sum, at::layer_norm(sum, {x.size(-1)}, weight, bias, eps).to(out_dtype)};
  }
  return fused_add_layer_norm_function(x, branch, weight, bias, eps, out_dtype);
}

std::pair<torch::Tensor, torch::Tensor> fused_add_layer_norm_function(
    const torch::Tensor& x, const torch::Tensor& branch, const torch::Tensor& weight,
    const torch::Tensor& bias, double eps, torch::ScalarType out_dtype) {
  check_norm_arguments(x, weight, bias, out_dtype);
  TORCH_CHECK(branch.defined() && output_dtype_ok(branch.scalar_type()),
              "fused add + layer norm: branch must be float32, bfloat16 or float16");
  TORCH_CHECK(branch.sizes() == x.sizes(), "fused add + layer norm: branch ", branch.sizes(),
              " and x ", x.sizes(), " differ in shape");
  TORCH_CHECK(branch.device() == x.device(), "fused add + layer norm: branch on ", branch.device(),
              ", x on ", x.device());
  auto outputs =
      FusedAddLayerNorm::apply(x, branch, weight, bias, eps, static_cast<std::int64_t>(out_dtype));
  return {outputs[0], outputs[1]};
}

}  // namespace rebench::lm
