// The fused LayerNorm CUDA kernels against autograd through at::layer_norm(x).to(out_dtype) on
// float32 x: output and dx, dweight, dbias for bf16, fp16 and fp32 outputs, widths 1 to 1024
// (with and without the 16-byte vector path), 1 to 65536 rows; inputs of mean 1000 and std
// 0.01; bitwise-reproducible dweight / dbias; transposed, misaligned and empty inputs. Skips
// without a GPU or the kernel. Its speed is measured by rebench_bench_gpt_train. The residual
// add fused into the norm (fused_add_layer_norm) is checked the same way against x + branch then
// at::layer_norm: sum, y and the gradients of x, branch (in its dtype), weight and bias.
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
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

const torch::Device kCuda{torch::kCUDA, 0};

torch::TensorOptions cuda() { return torch::TensorOptions().device(kCuda); }

/// Float32 CUDA x [rows, width] (mean 0.5, std 2), weight around 1 and bias around 0.
Params random_params(std::int64_t rows, std::int64_t width) {
  return {torch::randn({rows, width}, cuda()) * 2 + 0.5, 1 + 0.2 * torch::randn({width}, cuda()),
          0.1 * torch::randn({width}, cuda())};
}

Result fused(const Params& p, const torch::Tensor& dy, torch::ScalarType out_dtype) {
  return run(p, dy, [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return fused_layer_norm(x, w, b, kEps, out_dtype);
  });
}

std::string dtype_name(torch::ScalarType dtype) {
  return dtype == torch::kBFloat16 ? "bf16" : dtype == torch::kFloat16 ? "fp16" : "fp32";
}

/// One step of `dtype` relative to a value (an upper bound: 2^-7 for bf16, 2^-10 for fp16).
double relative_step(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kBFloat16:
      return 1.0 / 128;
    case torch::kFloat16:
      return 1.0 / 1024;
    default:
      return 0.0;
  }
}

/// y against the reference: within 1e-5 in float32; otherwise at most one step of the output
/// dtype apart (both round float32 values that differ in their last bits), plus a float32-sized
/// slack for values that cancel to near zero.
void expect_output_matches(const torch::Tensor& got, const torch::Tensor& want,
                           torch::ScalarType dtype, const std::string& what) {
  ASSERT_EQ(got.scalar_type(), dtype) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  if (got.numel() == 0) return;
  auto g = got.to(torch::kFloat32), w = want.to(torch::kFloat32);
  const auto excess = ((g - w).abs() - (1e-5 + relative_step(dtype) * w.abs())).max();
  EXPECT_LE(excess.item<double>(), 0.0)
      << what << ": max |diff| " << (g - w).abs().max().item<double>();
  if (dtype != torch::kFloat32 && got.numel() >= 1000) {
    const double same = (g == w).to(torch::kFloat64).mean().item<double>();
    EXPECT_GE(same, 0.98) << what << ": fraction of outputs identical to the rounded reference";
  }
}

/// |got - want| <= rtol * max |want| (gradients mix terms of either sign).
void expect_grad_matches(const torch::Tensor& got, const torch::Tensor& want, double rtol,
                         const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_EQ(got.scalar_type(), torch::kFloat32) << what;
  if (got.numel() == 0) return;
  auto g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  const double scale = w.abs().max().item<double>();
  const double diff = (g - w).abs().max().item<double>();
  EXPECT_TRUE(std::isfinite(diff)) << what;
  EXPECT_LE(diff, rtol * scale + 1e-6) << what << ": max |diff| " << diff << " of max " << scale;
}

void expect_matches(const Result& got, const Result& want, torch::ScalarType dtype,
                    const std::string& what, double grad_rtol = 1e-4) {
  expect_output_matches(got.y, want.y, dtype, what + " y");
  expect_grad_matches(got.dx, want.dx, grad_rtol, what + " dx");
  expect_grad_matches(got.dweight, want.dweight, grad_rtol, what + " dweight");
  expect_grad_matches(got.dbias, want.dbias, grad_rtol, what + " dbias");
}

class FusedLayerNormGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to libtorch";
    if (!fused_layer_norm_compiled())
      GTEST_SKIP() << "this build has no fused LayerNorm kernel (configure with nvcc and a CUDA "
                      "libtorch)";
  }
};

TEST_F(FusedLayerNormGpuTest, SupportedPredicate) {
  auto x = torch::zeros({4, 768}, cuda());
  auto w = torch::ones({768}, cuda()), b = torch::zeros({768}, cuda());
  EXPECT_TRUE(fused_layer_norm_supported(x, w, b));
  EXPECT_TRUE(fused_layer_norm_supported(torch::zeros({2, 3, 1024}, cuda()),
                                         torch::ones({1024}, cuda()), torch::ones({1024}, cuda())));
  EXPECT_FALSE(fused_layer_norm_supported(x.cpu(), w, b));
  EXPECT_FALSE(fused_layer_norm_supported(x.to(torch::kBFloat16), w, b));
  EXPECT_FALSE(fused_layer_norm_supported(x, w.to(torch::kBFloat16), b));
  EXPECT_FALSE(fused_layer_norm_supported(x, w, b.cpu()));
  EXPECT_FALSE(fused_layer_norm_supported(x, torch::ones({767}, cuda()), b));
  EXPECT_FALSE(fused_layer_norm_supported(
      torch::zeros({4, 1025}, cuda()), torch::ones({1025}, cuda()), torch::ones({1025}, cuda())));
}

// ---- the kernels against the reference -------------------------------------------------------

using Shape = std::tuple<torch::ScalarType, std::int64_t, std::int64_t>;  // dtype, width, rows

class FusedLayerNormShapeTest : public FusedLayerNormGpuTest,
                                public ::testing::WithParamInterface<Shape> {};

TEST_P(FusedLayerNormShapeTest, MatchesLayerNormAndCast) {
  const auto [dtype, width, rows] = GetParam();
  torch::manual_seed(static_cast<std::uint64_t>(width * 31 + rows));
  const auto p = random_params(rows, width);
  ASSERT_TRUE(fused_layer_norm_supported(p.x, p.weight, p.bias));
  const auto dy = torch::randn({rows, width}, cuda()).to(dtype);
  const auto what = dtype_name(dtype) + " C" + std::to_string(width) + " N" + std::to_string(rows);
  const auto got = fused(p, dy, dtype);
  if (width == 1) {
    // x - mean is exactly 0: y = bias and dx = dweight = 0 (at::layer_norm's own mean can be a
    // few ulps off, which rstd = 1 / sqrt(eps) magnifies).
    EXPECT_TRUE(torch::equal(got.y, p.bias.expand({rows, 1}).to(dtype))) << what;
    EXPECT_EQ(got.dx.abs().max().item<double>(), 0.0) << what;
    EXPECT_EQ(got.dweight.abs().max().item<double>(), 0.0) << what;
    expect_grad_matches(got.dbias, dy.to(torch::kFloat32).sum(0), 1e-5, what + " dbias");
    return;
  }
  expect_matches(got, reference(p, dy, dtype), dtype, what);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedLayerNormShapeTest,
    ::testing::Combine(::testing::Values(torch::kBFloat16, torch::kFloat16, torch::kFloat32),
                       ::testing::Values<std::int64_t>(1, 31, 64, 100, 768, 1024),
                       ::testing::Values<std::int64_t>(1, 7, 4096)),
    [](const ::testing::TestParamInfo<Shape>& info) {
      return dtype_name(std::get<0>(info.param)) + "_C" + std::to_string(std::get<1>(info.param)) +
             "_N" + std::to_string(std::get<2>(info.param));
    });

INSTANTIATE_TEST_SUITE_P(Gpt2, FusedLayerNormShapeTest,
                         ::testing::Combine(::testing::Values(torch::kBFloat16, torch::kFloat16,
                                                              torch::kFloat32),
                                            ::testing::Values<std::int64_t>(768),
                                            ::testing::Values<std::int64_t>(65536)),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           return dtype_name(std::get<0>(info.param)) + "_C768_N65536";
                         });

TEST_F(FusedLayerNormGpuTest, LargeMeanSmallSpreadKeepsItsVariance) {
  // Mean 1000, std 0.01: E[x^2] - E[x]^2 in float32 would lose the variance entirely. Compared
  // with a float64 layer_norm of the same float32 inputs; what remains is the float32 rounding
  // of the mean itself (about 1e-2 of a standard deviation).
  for (std::int64_t width : {100, 768, 1024}) {
    torch::manual_seed(3);
    Params p{1000 + 0.01 * torch::randn({256, width}, cuda()),
             1 + 0.2 * torch::randn({width}, cuda()), 0.1 * torch::randn({width}, cuda())};
    const auto dy = torch::randn({256, width}, cuda());
    const auto got = fused(p, dy, torch::kFloat32);
    Params p64{p.x.to(torch::kFloat64), p.weight.to(torch::kFloat64), p.bias.to(torch::kFloat64)};
    const auto want = reference(p64, dy.to(torch::kFloat64), torch::kFloat64);
    const auto what = "C" + std::to_string(width);
    EXPECT_LE((got.y.to(torch::kFloat64) - want.y).abs().max().item<double>(), 5e-2) << what;
    expect_grad_matches(got.dx, want.dx.to(torch::kFloat32), 5e-2, what + " dx");
    expect_grad_matches(got.dweight, want.dweight.to(torch::kFloat32), 5e-2, what + " dweight");
    expect_grad_matches(got.dbias, want.dbias.to(torch::kFloat32), 1e-4, what + " dbias");
  }
}

TEST_F(FusedLayerNormGpuTest, WeightAndBiasGradientsAreReproducible) {
  // Partial sums per block, then a fixed-order sum: no atomics, so two runs agree bit for bit.
  torch::manual_seed(4);
  const auto p = random_params(65536, 768);
  const auto dy = torch::randn({65536, 768}, cuda()).to(torch::kBFloat16);
  const auto first = fused(p, dy, torch::kBFloat16);
  const auto second = fused(p, dy, torch::kBFloat16);
  EXPECT_TRUE(torch::equal(first.dweight, second.dweight));
  EXPECT_TRUE(torch::equal(first.dbias, second.dbias));
  EXPECT_TRUE(torch::equal(first.dx, second.dx));
  EXPECT_TRUE(torch::equal(first.y, second.y));
}

TEST_F(FusedLayerNormGpuTest, TransposedInputIsCopied) {
  torch::manual_seed(5);
  auto p = random_params(512, 768);
  p.x = torch::randn({768, 512}, cuda()).t();  // [512, 768], column-major
  ASSERT_FALSE(p.x.is_contiguous());
  const auto dy = torch::randn({512, 768}, cuda()).to(torch::kBFloat16);
  const auto got = fused(p, dy, torch::kBFloat16);
  expect_matches(got, reference(p, dy, torch::kBFloat16), torch::kBFloat16, "transposed");
  EXPECT_EQ(got.dx.sizes(), p.x.sizes());
}

TEST_F(FusedLayerNormGpuTest, MisalignedRowsUseScalarAccesses) {
  // x one float past a 16-byte boundary: widths that divide by 4 cannot take the vector path.
  for (std::int64_t width : {64, 768, 1024}) {
    torch::manual_seed(6);
    const std::int64_t rows = 333;
    auto storage = torch::randn({rows * width + 1}, cuda());
    Params p = random_params(rows, width);
    p.x = storage.narrow(0, 1, rows * width).view({rows, width});
    ASSERT_TRUE(p.x.is_contiguous());
    const auto what = "misaligned C" + std::to_string(width);
    // Through the autograd function directly on the offset view (run() would copy it).
    auto x = p.x.detach().set_requires_grad(true);
    auto weight = p.weight.detach().clone().set_requires_grad(true);
    auto bias = p.bias.detach().clone().set_requires_grad(true);
    auto y = fused_layer_norm_function(x, weight, bias, kEps, torch::kBFloat16);
    const auto dy = torch::randn({rows, width}, cuda()).to(torch::kBFloat16);
    y.backward(dy);
    expect_matches({y.detach(), x.grad(), weight.grad(), bias.grad()},
                   reference(p, dy, torch::kBFloat16), torch::kBFloat16, what);
  }
}

TEST_F(FusedLayerNormGpuTest, ThreeDimensionalInput) {
  torch::manual_seed(7);
  auto p = random_params(8 * 128, 768);
  p.x = p.x.view({8, 128, 768});
  const auto dy = torch::randn({8, 128, 768}, cuda()).to(torch::kBFloat16);
  const auto got = fused(p, dy, torch::kBFloat16);
  EXPECT_EQ(got.y.sizes(), p.x.sizes());
  expect_matches(got, reference(p, dy, torch::kBFloat16), torch::kBFloat16, "3-D");
}

TEST_F(FusedLayerNormGpuTest, ZeroRows) {
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    Params p = random_params(0, 768);
    const auto got = fused(p, torch::zeros({0, 768}, cuda().dtype(dtype)), dtype);
    EXPECT_EQ(got.y.sizes(), (std::vector<std::int64_t>{0, 768}));
    EXPECT_EQ(got.y.scalar_type(), dtype);
    EXPECT_EQ(got.dx.sizes(), (std::vector<std::int64_t>{0, 768}));
    EXPECT_TRUE(torch::equal(got.dweight, torch::zeros({768}, cuda())));
    EXPECT_TRUE(torch::equal(got.dbias, torch::zeros({768}, cuda())));
  }
}

TEST_F(FusedLayerNormGpuTest, WithoutGradientAndFallbacks) {
  torch::manual_seed(8);
  const auto p = random_params(100, 768);
  const auto want = at::layer_norm(p.x, {768}, p.weight, p.bias, kEps).to(torch::kBFloat16);
  {
    torch::NoGradGuard no_grad;
    expect_output_matches(fused_layer_norm(p.x, p.weight, p.bias, kEps, torch::kBFloat16), want,
                          torch::kBFloat16, "no grad");
  }
  // Wider than the kernels: the fallback, bit for bit.
  Params wide = random_params(10, 1500);
  EXPECT_TRUE(torch::equal(
      fused_layer_norm(wide.x, wide.weight, wide.bias, kEps, torch::kBFloat16),
      at::layer_norm(wide.x, {1500}, wide.weight, wide.bias, kEps).to(torch::kBFloat16)));
  // The autograd function's torch-op formulas on CUDA (width above the kernels' limit).
  const auto dy = torch::randn({10, 1500}, cuda()).to(torch::kBFloat16);
  const auto got =
      run(wide, dy, [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
        return fused_layer_norm_function(x, w, b, kEps, torch::kBFloat16);
      });
  expect_matches(got, reference(wide, dy, torch::kBFloat16), torch::kBFloat16, "C1500 torch ops");
}

// ---- residual add + LayerNorm -------------------------------------------------------------------

AddResult add_fused(const Params& p, const torch::Tensor& branch, const torch::Tensor& dy,
                    const torch::Tensor& dsum, torch::ScalarType out_dtype) {
  return run_add(p, branch, dy, dsum,
                 [&](const torch::Tensor& x, const torch::Tensor& b, const torch::Tensor& w,
                     const torch::Tensor& bias) {
                   return fused_add_layer_norm(x, b, w, bias, kEps, out_dtype);
                 });
}

/// The branch gradient in the branch's dtype: both sides round float32 values that differ in
/// their last bits, so at most one step of that dtype (plus the float32 gradient tolerance) apart.
void expect_branch_grad_matches(const torch::Tensor& got, const torch::Tensor& want,
                                const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  ASSERT_EQ(got.scalar_type(), want.scalar_type()) << what;
  if (got.numel() == 0) return;
  auto g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  const double scale = w.abs().max().item<double>();
  const auto excess =
      ((g - w).abs() - (relative_step(want.scalar_type()) * w.abs() + 1e-4 * scale + 1e-6)).max();
  EXPECT_LE(excess.item<double>(), 0.0)
      << what << ": max |diff| " << (g - w).abs().max().item<double>() << " of max " << scale;
}

void expect_add_matches(const AddResult& got, const AddResult& want, torch::ScalarType out_dtype,
                        const std::string& what) {
  // x + float(branch) in float32 on both sides: the same sums bit for bit.
  EXPECT_TRUE(torch::equal(got.sum, want.sum)) << what << " sum";
  expect_output_matches(got.y, want.y, out_dtype, what + " y");
  expect_grad_matches(got.dx, want.dx, 1e-4, what + " dx");
  expect_branch_grad_matches(got.dbranch, want.dbranch, what + " dbranch");
  expect_grad_matches(got.dweight, want.dweight, 1e-4, what + " dweight");
  expect_grad_matches(got.dbias, want.dbias, 1e-4, what + " dbias");
}

TEST_F(FusedLayerNormGpuTest, AddSupportedPredicate) {
  auto x = torch::zeros({4, 768}, cuda());
  auto w = torch::ones({768}, cuda()), b = torch::zeros({768}, cuda());
  EXPECT_TRUE(fused_add_layer_norm_supported(x, x.to(torch::kBFloat16), w, b));
  EXPECT_TRUE(fused_add_layer_norm_supported(x, x, w, b));
  EXPECT_FALSE(fused_add_layer_norm_supported(x, x.to(torch::kFloat64), w, b));
  EXPECT_FALSE(fused_add_layer_norm_supported(x, x.cpu(), w, b));
  EXPECT_FALSE(fused_add_layer_norm_supported(x, torch::zeros({1, 768}, cuda()), w, b));
  EXPECT_FALSE(fused_add_layer_norm_supported(x.to(torch::kBFloat16), x, w, b));
}

using AddShape = std::tuple<torch::ScalarType, std::int64_t, std::int64_t>;  // branch, width, rows

class FusedAddLayerNormShapeTest : public FusedLayerNormGpuTest,
                                   public ::testing::WithParamInterface<AddShape> {};

TEST_P(FusedAddLayerNormShapeTest, MatchesAddThenLayerNormAndCast) {
  const auto [branch_dtype, width, rows] = GetParam();
  torch::manual_seed(static_cast<std::uint64_t>(width * 37 + rows));
  const auto p = random_params(rows, width);
  const auto branch = torch::randn({rows, width}, cuda()).to(branch_dtype);
  ASSERT_TRUE(fused_add_layer_norm_supported(p.x, branch, p.weight, p.bias));
  const auto dy = torch::randn({rows, width}, cuda()).to(torch::kBFloat16).to(torch::kFloat32);
  for (bool grad_into_sum : {true, false}) {
    const auto dsum = grad_into_sum ? torch::randn({rows, width}, cuda()) : torch::Tensor();
    const auto what = "branch " + dtype_name(branch_dtype) + " C" + std::to_string(width) + " N" +
                      std::to_string(rows) + (grad_into_sum ? " (sum and y)" : " (y only)");
    expect_add_matches(add_fused(p, branch, dy, dsum, torch::kBFloat16),
                       add_reference(p, branch, dy, dsum, torch::kBFloat16), torch::kBFloat16,
                       what);
  }
}

std::string add_shape_name(const ::testing::TestParamInfo<AddShape>& info) {
  return "branch_" + dtype_name(std::get<0>(info.param)) + "_C" +
         std::to_string(std::get<1>(info.param)) + "_N" + std::to_string(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedAddLayerNormShapeTest,
                         ::testing::Combine(::testing::Values(torch::kBFloat16, torch::kFloat32),
                                            ::testing::Values<std::int64_t>(31, 64, 768, 1024),
                                            ::testing::Values<std::int64_t>(1, 7, 4096)),
                         add_shape_name);

INSTANTIATE_TEST_SUITE_P(Gpt2, FusedAddLayerNormShapeTest,
                         ::testing::Combine(::testing::Values(torch::kBFloat16, torch::kFloat32),
                                            ::testing::Values<std::int64_t>(768),
                                            ::testing::Values<std::int64_t>(65536)),
                         add_shape_name);

TEST_F(FusedLayerNormGpuTest, AddGradientOnlyIntoSum) {
  // y unused: the kernel reads a zero dy, so dx = dbranch = the sum's gradient and the weight and
  // bias gradients are 0.
  torch::manual_seed(9);
  const auto p = random_params(300, 768);
  auto x = p.x.detach().clone().set_requires_grad(true);
  auto b = torch::randn({300, 768}, cuda()).to(torch::kBFloat16).set_requires_grad(true);
  auto w = p.weight.detach().clone().set_requires_grad(true);
  auto bias = p.bias.detach().clone().set_requires_grad(true);
  auto [sum, y] = fused_add_layer_norm(x, b, w, bias, kEps, torch::kBFloat16);
  const auto dsum = torch::randn({300, 768}, cuda());
  (sum * dsum).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), dsum));
  EXPECT_TRUE(torch::equal(b.grad(), dsum.to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(w.grad(), torch::zeros({768}, cuda())));
  EXPECT_TRUE(torch::equal(bias.grad(), torch::zeros({768}, cuda())));
}

TEST_F(FusedLayerNormGpuTest, AddGradientsAreReproducible) {
  torch::manual_seed(10);
  const auto p = random_params(65536, 768);
  const auto branch = torch::randn({65536, 768}, cuda()).to(torch::kBFloat16);
  const auto dy = torch::randn({65536, 768}, cuda());
  const auto dsum = torch::randn({65536, 768}, cuda());
  const auto first = add_fused(p, branch, dy, dsum, torch::kBFloat16);
  const auto second = add_fused(p, branch, dy, dsum, torch::kBFloat16);
  EXPECT_TRUE(torch::equal(first.dweight, second.dweight));
  EXPECT_TRUE(torch::equal(first.dbias, second.dbias));
  EXPECT_TRUE(torch::equal(first.dx, second.dx));
  EXPECT_TRUE(torch::equal(first.dbranch, second.dbranch));
  EXPECT_TRUE(torch::equal(first.sum, second.sum));
  EXPECT_TRUE(torch::equal(first.y, second.y));
}

TEST_F(FusedLayerNormGpuTest, AddMisalignedBranchUsesScalarAccesses) {
  // A bf16 branch one element past a 16-byte boundary, with a 3-D x: the scalar path.
  torch::manual_seed(11);
  const std::int64_t rows = 4 * 77, width = 768;
  auto p = random_params(rows, width);
  p.x = p.x.view({4, 77, width});
  auto storage = torch::randn({rows * width + 1}, cuda()).to(torch::kBFloat16);
  const auto branch = storage.narrow(0, 1, rows * width).view({4, 77, width});
  const auto dy = torch::randn({4, 77, width}, cuda());
  const auto dsum = torch::randn({4, 77, width}, cuda());
  // Through the function on the offset view itself (run_add would copy it into aligned memory).
  auto x = p.x.detach().clone().set_requires_grad(true);
  auto b = branch.detach().set_requires_grad(true);
  auto w = p.weight.detach().clone().set_requires_grad(true);
  auto bias = p.bias.detach().clone().set_requires_grad(true);
  auto [sum, y] = fused_add_layer_norm(x, b, w, bias, kEps, torch::kBFloat16);
  ((y.to(torch::kFloat32) * dy).sum() + (sum * dsum).sum()).backward();
  EXPECT_EQ(sum.sizes(), p.x.sizes());
  expect_add_matches({sum.detach(), y.detach(), x.grad(), b.grad(), w.grad(), bias.grad()},
                     add_reference(p, branch, dy, dsum, torch::kBFloat16), torch::kBFloat16,
                     "misaligned 3-D");
}

TEST_F(FusedLayerNormGpuTest, AddWithoutGradientAndZeroRows) {
  torch::manual_seed(12);
  const auto p = random_params(100, 768);
  const auto branch = torch::randn({100, 768}, cuda()).to(torch::kBFloat16);
  {
    torch::NoGradGuard no_grad;
    const auto [sum, y] =
        fused_add_layer_norm(p.x, branch, p.weight, p.bias, kEps, torch::kBFloat16);
    const auto want_sum = p.x + branch;
    EXPECT_TRUE(torch::equal(sum, want_sum));
    expect_output_matches(
        y, at::layer_norm(want_sum, {768}, p.weight, p.bias, kEps).to(torch::kBFloat16),
        torch::kBFloat16, "add, no grad");
  }
  const auto empty = random_params(0, 768);
  const auto got =
      add_fused(empty, torch::zeros({0, 768}, cuda().dtype(torch::kBFloat16)),
                torch::zeros({0, 768}, cuda()), torch::zeros({0, 768}, cuda()), torch::kBFloat16);
  EXPECT_EQ(got.sum.sizes(), (std::vector<std::int64_t>{0, 768}));
  EXPECT_EQ(got.dbranch.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(got.dweight, torch::zeros({768}, cuda())));
  EXPECT_TRUE(torch::equal(got.dbias, torch::zeros({768}, cuda())));
}

}  // namespace
}  // namespace rebench::lm
