// Fused cross-entropy off the GPU: fused_cross_entropy falls back to the reference (so CPU
// training is unchanged), and the autograd function's own formulas (run here in torch ops:
// per-row logsumexp, device-side count, ignore_index, gradient into the logits) match
// F::cross_entropy on float32 logits. The CUDA kernel is checked in tests/gpu.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/fused_cross_entropy_torch.hpp"
#include "lm/gpt_model_torch.hpp"
#include "support/cross_entropy_check.hpp"

namespace rebench::lm {
namespace {
namespace F = torch::nn::functional;

using cross_entropy_check::linear_reference;
using cross_entropy_check::LinearLossAndGrads;
using cross_entropy_check::LossAndGrad;
using cross_entropy_check::reference;
using cross_entropy_check::relative_error;
using cross_entropy_check::run;
using cross_entropy_check::run_linear;

void expect_close(const LossAndGrad& got, const LossAndGrad& want, double grad_rtol,
                  const char* what) {
  EXPECT_EQ(got.loss.scalar_type(), torch::kFloat32) << what;
  EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(),
              1e-5 + 1e-6 * std::abs(want.loss.item<double>()))
      << what;
  ASSERT_TRUE(got.grad.defined()) << what;
  auto g = got.grad.to(torch::kFloat32), w = want.grad.to(torch::kFloat32);
  const double scale = w.abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(g, w, grad_rtol, 1e-6 * scale))
      << what << ": max |diff| " << (g - w).abs().max().item<double>() << " of max |grad| "
      << scale;
}

torch::Tensor random_targets(std::int64_t rows, std::int64_t vocab) {
  auto t = torch::randint(vocab, {rows}, torch::kLong);
  t[0] = 0;  // first and last columns
  if (rows > 1) t[rows - 1] = vocab - 1;
  return t;
}

TEST(FusedCrossEntropyTest, NoKernelForCpuTensors) {
  EXPECT_FALSE(fused_cross_entropy_supported(torch::zeros({2, 8})));
  EXPECT_FALSE(fused_cross_entropy_supported(torch::zeros({2, 8}, torch::kBFloat16)));
}

TEST(FusedCrossEntropyTest, CpuFallsBackToTheReference) {
  torch::manual_seed(0);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto logits = (torch::randn({9, 37}) * 3).to(dtype);
    auto targets = random_targets(9, 37);
    auto fused =
        run(logits, [&](const torch::Tensor& x) { return fused_cross_entropy(x, targets); });
    auto old = run(logits, [&](const torch::Tensor& x) {
      return F::cross_entropy(x.to(torch::kFloat32), targets);
    });
    // The same operations: bit for bit.
    EXPECT_TRUE(torch::equal(fused.loss, old.loss));
    EXPECT_TRUE(torch::equal(fused.grad, old.grad));
    EXPECT_EQ(fused.grad.scalar_type(), dtype);
    EXPECT_TRUE(torch::equal(reference_cross_entropy(logits, targets),
                             F::cross_entropy(logits.to(torch::kFloat32), targets)));
  }
}

TEST(FusedCrossEntropyTest, FunctionMatchesReferenceInFloat32) {
  torch::manual_seed(1);
  for (std::int64_t vocab : {1, 2, 37, 1000}) {
    for (std::int64_t rows : {1, 7, 64}) {
      auto logits = torch::randn({rows, vocab}) * 4;
      auto targets = random_targets(rows, vocab);
      auto got = run(
          logits, [&](const torch::Tensor& x) { return fused_cross_entropy_function(x, targets); });
      expect_close(got, reference(logits, targets), 1e-5,
                   ("vocab " + std::to_string(vocab) + " rows " + std::to_string(rows)).c_str());
    }
  }
}

TEST(FusedCrossEntropyTest, FunctionMatchesReferenceInBf16) {
  torch::manual_seed(2);
  auto logits = (torch::randn({16, 333}) * 4).to(torch::kBFloat16);
  auto targets = random_targets(16, 333);
  auto got =
      run(logits, [&](const torch::Tensor& x) { return fused_cross_entropy_function(x, targets); });
  EXPECT_EQ(got.grad.scalar_type(), torch::kBFloat16);
  expect_close(got, reference(logits, targets), 1.0 / 128, "bf16");
}

TEST(FusedCrossEntropyTest, LargeLogitsDoNotOverflow) {
  torch::manual_seed(3);
  auto logits = torch::where(torch::rand({8, 500}) < 0.5, torch::full({8, 500}, 80.0),
                             torch::full({8, 500}, -80.0));
  logits[3] = 0.0;  // a uniform row: loss log(500)
  auto targets = random_targets(8, 500);
  auto got =
      run(logits, [&](const torch::Tensor& x) { return fused_cross_entropy_function(x, targets); });
  EXPECT_TRUE(std::isfinite(got.loss.item<double>()));
  expect_close(got, reference(logits, targets), 1e-5, "+-80");
}

TEST(FusedCrossEntropyTest, IgnoredRowsAreNotCounted) {
  torch::manual_seed(4);
  auto logits = torch::randn({10, 50}) * 2;
  auto targets = random_targets(10, 50);
  targets[2] = -1;
  targets[7] = -1;
  CrossEntropyOptions options;
  options.ignore_index = -1;
  auto got = run(logits, [&](const torch::Tensor& x) {
    return fused_cross_entropy_function(x, targets, options);
  });
  expect_close(got, reference(logits, targets, -1), 1e-5, "ignore_index -1");
  EXPECT_EQ(got.grad[2].abs().max().item<double>(), 0.0);
  EXPECT_EQ(got.grad[7].abs().max().item<double>(), 0.0);
}

TEST(FusedCrossEntropyTest, GradientCanReuseTheLogitsStorage) {
  torch::manual_seed(5);
  auto leaf = (torch::randn({6, 40}) * 3).to(torch::kBFloat16).set_requires_grad(true);
  auto targets = random_targets(6, 40);
  auto logits = leaf.clone();  // a non-leaf, like the model's logits
  CrossEntropyOptions options;
  options.grad_into_logits = true;
  auto loss = fused_cross_entropy_function(logits, targets, options);
  loss.backward({}, /*retain_graph=*/true);
  // The logits now hold their gradient, which is what reached the leaf.
  EXPECT_TRUE(torch::equal(logits.detach(), leaf.grad()));
  auto want = reference(leaf.detach(), targets);
  expect_close({loss.detach(), leaf.grad()}, want, 1.0 / 128, "in place");
  // A second backward would read gradients as logits: refused.
  EXPECT_ANY_THROW(loss.backward());
}

TEST(FusedCrossEntropyTest, RejectsBadShapes) {
  auto logits = torch::randn({4, 10});
  EXPECT_THROW(fused_cross_entropy_function(logits, torch::zeros({3}, torch::kLong)), c10::Error);
  EXPECT_THROW(fused_cross_entropy_function(torch::randn({4}), torch::zeros({4}, torch::kLong)),
               c10::Error);
}

// ---- output layer + loss in one node ------------------------------------------------------------

LinearLossAndGrads linear_function(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets, CrossEntropyOptions options = {}) {
  return run_linear(hidden, weight, [&](const torch::Tensor& h, const torch::Tensor& w) {
    return linear_cross_entropy_function(h, w, targets, options);
  });
}

TEST(LinearCrossEntropyTest, NoKernelForCpuTensors) {
  EXPECT_FALSE(linear_cross_entropy_supported(torch::zeros({4, 8}), torch::zeros({10, 8})));
}

TEST(LinearCrossEntropyTest, FunctionMatchesReferenceInFloat32) {
  torch::manual_seed(7);
  for (std::int64_t vocab : {1, 2, 37, 300}) {
    for (std::int64_t rows : {1, 7, 33}) {
      for (std::int64_t width : {1, 16}) {
        auto hidden = torch::randn({rows, width});
        auto weight = torch::randn({vocab, width});
        auto targets = random_targets(rows, vocab);
        const auto got = linear_function(hidden, weight, targets);
        const auto want = linear_reference(hidden, weight, targets);
        const std::string what = "vocab " + std::to_string(vocab) + " rows " +
                                 std::to_string(rows) + " width " + std::to_string(width);
        EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(),
                    1e-5 * (1 + std::abs(want.loss.item<double>())))
            << what;
        EXPECT_LT(relative_error(got.grad_hidden, want.grad_hidden), 1e-5) << what;
        EXPECT_LT(relative_error(got.grad_weight, want.grad_weight), 1e-5) << what;
      }
    }
  }
}

TEST(LinearCrossEntropyTest, Bf16GradientsKeepTheirDtype) {
  torch::manual_seed(8);
  auto hidden = torch::randn({24, 32}).to(torch::kBFloat16);
  auto weight = (torch::randn({90, 32}) * 0.3).to(torch::kBFloat16);
  auto targets = random_targets(24, 90);
  const auto got = linear_function(hidden, weight, targets);
  const auto want = linear_reference(hidden, weight, targets);
  EXPECT_EQ(got.grad_hidden.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.grad_weight.scalar_type(), torch::kBFloat16);
  EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), 2e-2);
  EXPECT_LT(relative_error(got.grad_hidden, want.grad_hidden), 3e-2);
  EXPECT_LT(relative_error(got.grad_weight, want.grad_weight), 3e-2);
}

TEST(LinearCrossEntropyTest, IgnoredRowsGetNoGradient) {
  torch::manual_seed(9);
  auto hidden = torch::randn({10, 8});
  auto weight = torch::randn({50, 8});
  auto targets = random_targets(10, 50);
  targets[3] = -1;
  targets[9] = -1;
  CrossEntropyOptions options;
  options.ignore_index = -1;
  const auto got = linear_function(hidden, weight, targets, options);
  const auto want = linear_reference(hidden, weight, targets, -1);
  EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), 1e-5);
  EXPECT_EQ(got.grad_hidden[3].abs().max().item<double>(), 0.0);
  EXPECT_EQ(got.grad_hidden[9].abs().max().item<double>(), 0.0);
  EXPECT_LT(relative_error(got.grad_hidden, want.grad_hidden), 1e-5);
  EXPECT_LT(relative_error(got.grad_weight, want.grad_weight), 1e-5);
}

TEST(LinearCrossEntropyTest, ScalesByTheIncomingGradientAndBackpropagatesTwice) {
  // The scale is applied after the products, so grad_output must reach both gradients, and the
  // stored unscaled gradient must survive a first backward.
  torch::manual_seed(10);
  auto h = torch::randn({6, 4}).set_requires_grad(true);
  auto w = torch::randn({11, 4}).set_requires_grad(true);
  auto targets = random_targets(6, 11);
  auto loss = linear_cross_entropy_function(h, w, targets) * 2.5;
  loss.backward({}, /*retain_graph=*/true);
  auto first_h = h.grad().clone(), first_w = w.grad().clone();
  loss.backward();
  EXPECT_TRUE(torch::allclose(h.grad(), 2 * first_h, 1e-6, 0));
  EXPECT_TRUE(torch::allclose(w.grad(), 2 * first_w, 1e-6, 0));
  const auto want = linear_reference(h.detach(), w.detach(), targets);
  EXPECT_LT(relative_error(first_h, want.grad_hidden * 2.5), 1e-5);
  EXPECT_LT(relative_error(first_w, want.grad_weight * 2.5), 1e-5);
}

TEST(LinearCrossEntropyTest, FrozenWeightGetsNoGradient) {
  torch::manual_seed(11);
  auto h = torch::randn({5, 3}).set_requires_grad(true);
  auto w = torch::randn({9, 3});  // frozen: no gradient asked for
  auto targets = random_targets(5, 9);
  linear_cross_entropy_function(h, w, targets).backward();
  EXPECT_FALSE(w.grad().defined());
  const auto want = linear_reference(h.detach(), w, targets);
  EXPECT_LT(relative_error(h.grad(), want.grad_hidden), 1e-5);
}

TEST(LinearCrossEntropyTest, CpuEntryPointIsLinearPlusTheFallback) {
  torch::manual_seed(12);
  auto hidden = torch::randn({2, 5, 8});
  auto weight = torch::randn({13, 8});
  auto targets = torch::randint(13, {2, 5}, torch::kLong);
  auto want = F::cross_entropy(F::linear(hidden.view({-1, 8}), weight), targets.reshape({-1}));
  EXPECT_TRUE(torch::equal(linear_cross_entropy(hidden, weight, targets.reshape({-1})), want));
}

TEST(LinearCrossEntropyTest, RejectsBadShapes) {
  auto targets = torch::zeros({4}, torch::kLong);
  EXPECT_THROW(linear_cross_entropy_function(torch::randn({4, 8}), torch::randn({10, 7}), targets),
               c10::Error);
  EXPECT_THROW(linear_cross_entropy_function(torch::randn({3, 8}), torch::randn({10, 8}), targets),
               c10::Error);
  EXPECT_THROW(linear_cross_entropy_function(torch::randn({4, 8}),
                                             torch::randn({10, 8}).to(torch::kFloat64), targets),
               c10::Error);
}

TEST(FusedCrossEntropyTest, GptLossOnCpuIsTheReferencePath) {
  GptConfig config;
  config.vocab_size = 61;
  config.block_size = 16;
  config.n_layer = 1;
  config.n_head = 2;
  config.n_embd = 32;
  torch::manual_seed(6);
  Gpt model(config);
  EXPECT_TRUE(model->fused_cross_entropy());  // on by default; CPU tensors use the reference
  auto idx = torch::randint(61, {3, 16}, torch::kLong);
  auto targets = torch::randint(61, {3, 16}, torch::kLong);
  auto fused = model->loss(idx, targets);
  model->set_fused_cross_entropy(false);
  auto plain = model->loss(idx, targets);
  auto logits = model->forward(idx);
  auto want = F::cross_entropy(logits.view({-1, 61}).to(torch::kFloat32), targets.reshape({-1}));
  EXPECT_TRUE(torch::equal(fused, want));
  EXPECT_TRUE(torch::equal(plain, want));
}

}  // namespace
}  // namespace rebench::lm
