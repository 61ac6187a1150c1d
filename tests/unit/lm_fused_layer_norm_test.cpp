// Fused LayerNorm off the GPU: fused_layer_norm falls back to at::layer_norm + .to() (so CPU
// training is unchanged), and the autograd function's own formulas (run here in torch ops: saved
// mean and rstd, dx, dweight, dbias) match autograd through at::layer_norm. The CUDA kernels are
// checked in tests/gpu. Likewise for the residual add fused into the norm (fused_add_layer_norm):
// sum, y and the gradients of x, branch, weight and bias against autograd through x + branch.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/fused_layer_norm_torch.hpp"
#include "support/layer_norm_check.hpp"

namespace rebench::lm {
namespace {

using layer_norm_check::add_reference;
using layer_norm_check::AddResult;
using layer_norm_check::kEps;
using layer_norm_check::Params;
using layer_norm_check::reference;
using layer_norm_check::Result;
using layer_norm_check::run;
using layer_norm_check::run_add;

/// x of `shape` (mean 0.5, std 2) and weight / bias around 1 and 0, all float32.
Params random_params(const std::vector<std::int64_t>& shape) {
  const auto width = shape.back();
  return {torch::randn(shape) * 2 + 0.5, 1 + 0.2 * torch::randn({width}),
          0.1 * torch::randn({width})};
}

Result fused(const Params& p, const torch::Tensor& dy, torch::ScalarType out_dtype) {
  return run(p, dy, [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return fused_layer_norm_function(x, w, b, kEps, out_dtype);
  });
}

/// |got - want| <= rtol * max |want| everywhere (gradients mix terms of either sign, so an
/// elementwise relative bound would be meaningless where they cancel).
void expect_close(const torch::Tensor& got, const torch::Tensor& want, double rtol,
                  const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_EQ(got.scalar_type(), want.scalar_type()) << what;
  auto g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  const double scale = w.numel() == 0 ? 0.0 : w.abs().max().item<double>();
  const double diff = w.numel() == 0 ? 0.0 : (g - w).abs().max().item<double>();
  EXPECT_LE(diff, rtol * scale + 1e-7) << what << ": max |diff| " << diff << " of max " << scale;
}

std::string shape_name(const torch::Tensor& x) {
  std::string s;
  for (auto d : x.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

TEST(FusedLayerNormTest, NoKernelForCpuTensors) {
  auto w = torch::ones({8}), b = torch::zeros({8});
  EXPECT_FALSE(fused_layer_norm_supported(torch::zeros({2, 8}), w, b));
  EXPECT_FALSE(fused_layer_norm_supported(torch::zeros({2, 8}, torch::kBFloat16), w, b));
  EXPECT_FALSE(fused_layer_norm_supported(torch::zeros({2, 8}, torch::kFloat64), w, b));
  EXPECT_FALSE(fused_layer_norm_supported(torch::zeros({2, 1025}), torch::ones({1025}),
                                          torch::ones({1025})));
  EXPECT_FALSE(fused_layer_norm_supported(torch::zeros({2, 8}), torch::ones({7}), b));
  EXPECT_FALSE(fused_layer_norm_supported(torch::Tensor(), w, b));
}

TEST(FusedLayerNormTest, CpuFallsBackToLayerNormAndCast) {
  torch::manual_seed(0);
  const auto p = random_params({5, 3, 40});
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const auto dy = torch::randn({5, 3, 40}).to(dtype);
    const auto got =
        run(p, dy, [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          return fused_layer_norm(x, w, b, kEps, dtype);
        });
    const auto want = reference(p, dy, dtype);
    // The same operations: bit for bit.
    EXPECT_TRUE(torch::equal(got.y, want.y));
    EXPECT_TRUE(torch::equal(got.dx, want.dx));
    EXPECT_TRUE(torch::equal(got.dweight, want.dweight));
    EXPECT_TRUE(torch::equal(got.dbias, want.dbias));
    EXPECT_EQ(got.y.scalar_type(), dtype);
  }
}

TEST(FusedLayerNormTest, FunctionMatchesLayerNormInFloat32) {
  torch::manual_seed(1);
  const std::vector<std::vector<std::int64_t>> shapes = {
      {7, 31}, {16, 64}, {9, 768}, {2, 5, 96}, {1, 1000}};
  for (const auto& shape : shapes) {
    const auto p = random_params(shape);
    const auto dy = torch::randn(shape);
    const auto got = fused(p, dy, torch::kFloat32);
    const auto want = reference(p, dy, torch::kFloat32);
    const auto what = shape_name(p.x);
    EXPECT_EQ(got.y.scalar_type(), torch::kFloat32) << what;
    EXPECT_LE((got.y - want.y).abs().max().item<double>(), 1e-5) << what;
    expect_close(got.dx, want.dx, 1e-4, what + " dx");
    expect_close(got.dweight, want.dweight, 1e-4, what + " dweight");
    expect_close(got.dbias, want.dbias, 1e-4, what + " dbias");
  }
}

TEST(FusedLayerNormTest, WidthOneGivesTheBias) {
  // One column: x - mean is exactly 0, so y = bias, dx = dweight = 0 and dbias = sum of dy.
  // (at::layer_norm's own mean is a few ulps off here, which rstd = 1 / sqrt(eps) magnifies.)
  torch::manual_seed(7);
  const auto p = random_params({7, 1});
  const auto dy = torch::randn({7, 1});
  const auto got = fused(p, dy, torch::kFloat32);
  EXPECT_TRUE(torch::equal(got.y, p.bias.expand({7, 1})));
  EXPECT_TRUE(torch::equal(got.dx, torch::zeros({7, 1})));
  EXPECT_TRUE(torch::equal(got.dweight, torch::zeros({1})));
  expect_close(got.dbias, dy.sum(0), 1e-6, "dbias");
}

TEST(FusedLayerNormTest, Bf16OutputIsTheRoundedFloat32Result) {
  torch::manual_seed(2);
  const auto p = random_params({64, 768});
  const auto dy = torch::randn({64, 768}).to(torch::kBFloat16);
  const auto got = fused(p, dy, torch::kBFloat16);
  const auto want = reference(p, dy, torch::kBFloat16);
  ASSERT_EQ(got.y.scalar_type(), torch::kBFloat16);
  // Both round float32 values that differ in their last bits: at most one bf16 step apart
  // (a step is at most 2^-7 of the value), and nearly always identical.
  auto g = got.y.to(torch::kFloat32), w = want.y.to(torch::kFloat32);
  EXPECT_TRUE(((g - w).abs() <= w.abs() * (1.0 / 128) + 1e-30).all().item<bool>());
  const double same = (g == w).to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(same, 0.99) << "fraction of bf16 outputs identical to at::layer_norm(...).to(bf16)";
  // The same bf16 dy reaches both backward passes, so the gradients agree to float32 rounding.
  EXPECT_EQ(got.dx.scalar_type(), torch::kFloat32);
  expect_close(got.dx, want.dx, 1e-4, "dx");
  expect_close(got.dweight, want.dweight, 1e-4, "dweight");
  expect_close(got.dbias, want.dbias, 1e-4, "dbias");
}

TEST(FusedLayerNormTest, LargeMeanSmallSpreadKeepsItsVariance) {
  // Mean 1000, std 0.01: E[x^2] - E[x]^2 in float32 would lose the variance entirely (1e6 has a
  // float32 step of 0.06, the variance is 1e-4). Compared with a float64 layer_norm of the same
  // float32 inputs; what remains is the float32 rounding of the mean itself (~1e-2 of a std).
  torch::manual_seed(4);
  Params p{1000 + 0.01 * torch::randn({32, 768}), 1 + 0.2 * torch::randn({768}),
           0.1 * torch::randn({768})};
  const auto dy = torch::randn({32, 768});
  const auto got = fused(p, dy, torch::kFloat32);
  Params p64{p.x.to(torch::kFloat64), p.weight.to(torch::kFloat64), p.bias.to(torch::kFloat64)};
  const auto want = reference(p64, dy.to(torch::kFloat64), torch::kFloat64);
  EXPECT_LE((got.y.to(torch::kFloat64) - want.y).abs().max().item<double>(), 5e-2);
  expect_close(got.dx.to(torch::kFloat64), want.dx, 5e-2, "dx");
  expect_close(got.dweight.to(torch::kFloat64), want.dweight, 5e-2, "dweight");
}

TEST(FusedLayerNormTest, NonContiguousInput) {
  torch::manual_seed(5);
  auto p = random_params({48, 20});
  p.x = p.x.t().contiguous().t();  // same values, column-major
  ASSERT_FALSE(p.x.is_contiguous());
  const auto dy = torch::randn({48, 20}).to(torch::kBFloat16);
  const auto got = fused(p, dy, torch::kBFloat16);
  const auto want = fused({p.x.contiguous(), p.weight, p.bias}, dy, torch::kBFloat16);
  EXPECT_TRUE(torch::equal(got.y, want.y));
  EXPECT_TRUE(torch::equal(got.dx, want.dx));
  EXPECT_EQ(got.dx.sizes(), p.x.sizes());
}

TEST(FusedLayerNormTest, ZeroRows) {
  const auto p = random_params({0, 16});
  const auto got = fused(p, torch::zeros({0, 16}, torch::kBFloat16), torch::kBFloat16);
  EXPECT_EQ(got.y.sizes(), (std::vector<std::int64_t>{0, 16}));
  EXPECT_EQ(got.dx.sizes(), (std::vector<std::int64_t>{0, 16}));
  EXPECT_TRUE(torch::equal(got.dweight, torch::zeros({16})));
  EXPECT_TRUE(torch::equal(got.dbias, torch::zeros({16})));
}

TEST(FusedLayerNormTest, OutputCanBeModifiedInPlace) {
  // The returned tensor is not a view made inside the autograd function (autograd forbids
  // in-place changes to those), so later layers may update it in place.
  torch::manual_seed(6);
  const auto p = random_params({4, 32});
  auto x = p.x.detach().clone().set_requires_grad(true);
  auto y = fused_layer_norm_function(x, p.weight, p.bias, kEps, torch::kFloat32);
  EXPECT_NO_THROW(y.mul_(2));
  y.sum().backward();
  EXPECT_TRUE(x.grad().defined());
}

TEST(FusedLayerNormTest, RejectsBadArguments) {
  auto x = torch::randn({4, 10});
  auto w = torch::ones({10}), b = torch::zeros({10});
  EXPECT_THROW(fused_layer_norm_function(x.to(torch::kFloat64), w, b, kEps, torch::kFloat32),
               c10::Error);
  EXPECT_THROW(fused_layer_norm_function(x, torch::ones({9}), b, kEps, torch::kFloat32),
               c10::Error);
  EXPECT_THROW(fused_layer_norm_function(x, w, b.to(torch::kBFloat16), kEps, torch::kFloat32),
               c10::Error);
  EXPECT_THROW(fused_layer_norm_function(x, w, b, kEps, torch::kInt), c10::Error);
  EXPECT_THROW(fused_layer_norm_function(torch::randn({4, 0}), torch::ones({0}), torch::ones({0}),
                                         kEps, torch::kFloat32),
               c10::Error);
}

// ---- residual add + LayerNorm -------------------------------------------------------------------

AddResult add_fused(const Params& p, const torch::Tensor& branch, const torch::Tensor& dy,
                    const torch::Tensor& dsum, torch::ScalarType out_dtype) {
  return run_add(p, branch, dy, dsum,
                 [&](const torch::Tensor& x, const torch::Tensor& b, const torch::Tensor& w,
                     const torch::Tensor& bias) {
                   return fused_add_layer_norm_function(x, b, w, bias, kEps, out_dtype);
                 });
}

TEST(FusedAddLayerNormTest, NoKernelForCpuTensors) {
  auto x = torch::zeros({2, 8}), w = torch::ones({8}), b = torch::zeros({8});
  EXPECT_FALSE(fused_add_layer_norm_supported(x, x.to(torch::kBFloat16), w, b));
  EXPECT_FALSE(fused_add_layer_norm_supported(x, torch::Tensor(), w, b));
}

TEST(FusedAddLayerNormTest, CpuFallsBackToAddLayerNormAndCast) {
  torch::manual_seed(10);
  const auto p = random_params({5, 3, 40});
  const auto branch = torch::randn({5, 3, 40}).to(torch::kBFloat16);
  const auto dy = torch::randn({5, 3, 40});
  const auto dsum = torch::randn({5, 3, 40});
  const auto got = run_add(p, branch, dy, dsum,
                           [&](const torch::Tensor& x, const torch::Tensor& b,
                               const torch::Tensor& w, const torch::Tensor& bias) {
                             return fused_add_layer_norm(x, b, w, bias, kEps, torch::kBFloat16);
                           });
  const auto want = add_reference(p, branch, dy, dsum, torch::kBFloat16);
  // The same operations: bit for bit.
  EXPECT_TRUE(torch::equal(got.sum, want.sum));
  EXPECT_TRUE(torch::equal(got.y, want.y));
  EXPECT_TRUE(torch::equal(got.dx, want.dx));
  EXPECT_TRUE(torch::equal(got.dbranch, want.dbranch));
  EXPECT_TRUE(torch::equal(got.dweight, want.dweight));
  EXPECT_TRUE(torch::equal(got.dbias, want.dbias));
}

TEST(FusedAddLayerNormTest, FunctionMatchesAddThenLayerNorm) {
  torch::manual_seed(11);
  const std::vector<std::vector<std::int64_t>> shapes = {{7, 31}, {9, 768}, {2, 5, 96}};
  for (const auto& shape : shapes) {
    for (auto branch_dtype : {torch::kBFloat16, torch::kFloat32}) {
      for (auto out_dtype : {torch::kBFloat16, torch::kFloat32}) {
        for (bool grad_into_sum : {true, false}) {
          const auto p = random_params(shape);
          const auto branch = torch::randn(shape).to(branch_dtype);
          const auto dy = torch::randn(shape);
          const auto dsum = grad_into_sum ? torch::randn(shape) : torch::Tensor();
          const auto got = add_fused(p, branch, dy, dsum, out_dtype);
          const auto want = add_reference(p, branch, dy, dsum, out_dtype);
          const auto what = shape_name(p.x) + " branch " + c10::toString(branch_dtype) + " out " +
                            c10::toString(out_dtype) + (grad_into_sum ? " both" : " y only");
          // x + branch in float32 either way: identical sums.
          EXPECT_TRUE(torch::equal(got.sum, want.sum)) << what;
          EXPECT_EQ(got.sum.scalar_type(), torch::kFloat32) << what;
          ASSERT_EQ(got.y.scalar_type(), out_dtype) << what;
          auto gy = got.y.to(torch::kFloat32), wy = want.y.to(torch::kFloat32);
          const double step = out_dtype == torch::kBFloat16 ? 1.0 / 128 : 0.0;
          EXPECT_TRUE(((gy - wy).abs() <= wy.abs() * step + 1e-5).all().item<bool>()) << what;
          expect_close(got.dx, want.dx, 1e-4, what + " dx");
          // dbranch in the branch's dtype: for bf16 the rounded dx, one step at most apart.
          expect_close(got.dbranch, want.dbranch, branch_dtype == torch::kBFloat16 ? 1e-2 : 1e-4,
                       what + " dbranch");
          expect_close(got.dweight, want.dweight, 1e-4, what + " dweight");
          expect_close(got.dbias, want.dbias, 1e-4, what + " dbias");
        }
      }
    }
  }
}

TEST(FusedAddLayerNormTest, WidthOne) {
  // One column: y = bias, so dx = dbranch = dsum, dweight = 0 and dbias = sum of dy.
  torch::manual_seed(12);
  const auto p = random_params({7, 1});
  const auto branch = torch::randn({7, 1});
  const auto dy = torch::randn({7, 1});
  const auto dsum = torch::randn({7, 1});
  const auto got = add_fused(p, branch, dy, dsum, torch::kFloat32);
  EXPECT_TRUE(torch::equal(got.sum, p.x + branch));
  EXPECT_TRUE(torch::equal(got.y, p.bias.expand({7, 1})));
  EXPECT_TRUE(torch::equal(got.dx, dsum));
  EXPECT_TRUE(torch::equal(got.dbranch, dsum));
  EXPECT_TRUE(torch::equal(got.dweight, torch::zeros({1})));
  expect_close(got.dbias, dy.sum(0), 1e-6, "dbias");
}

TEST(FusedAddLayerNormTest, GradientOnlyIntoSum) {
  // y unused: dweight = dbias = 0 and dx = dbranch = the gradient of sum.
  torch::manual_seed(13);
  const auto p = random_params({6, 32});
  auto x = p.x.detach().clone().set_requires_grad(true);
  auto b = torch::randn({6, 32}).to(torch::kBFloat16).set_requires_grad(true);
  auto w = p.weight.detach().clone().set_requires_grad(true);
  auto bias = p.bias.detach().clone().set_requires_grad(true);
  auto [sum, y] = fused_add_layer_norm_function(x, b, w, bias, kEps, torch::kBFloat16);
  const auto dsum = torch::randn({6, 32});
  (sum * dsum).sum().backward();
  expect_close(x.grad(), dsum, 1e-6, "dx");
  EXPECT_EQ(b.grad().scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(b.grad(), dsum.to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(w.grad(), torch::zeros({32})));
  EXPECT_TRUE(torch::equal(bias.grad(), torch::zeros({32})));
}

TEST(FusedAddLayerNormTest, RejectsBadArguments) {
  auto x = torch::randn({4, 10});
  auto w = torch::ones({10}), b = torch::zeros({10});
  EXPECT_THROW(fused_add_layer_norm_function(x, torch::randn({4, 9}), w, b, kEps, torch::kFloat32),
               c10::Error);
  EXPECT_THROW(fused_add_layer_norm_function(x, x.to(torch::kFloat64), w, b, kEps, torch::kFloat32),
               c10::Error);
  EXPECT_THROW(fused_add_layer_norm_function(x, torch::Tensor(), w, b, kEps, torch::kFloat32),
               c10::Error);
  EXPECT_THROW(
      fused_add_layer_norm_function(x.to(torch::kBFloat16), x, w, b, kEps, torch::kFloat32),
      c10::Error);
}

}  // namespace
}  // namespace rebench::lm
