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

using cross_entropy_check::LossAndGrad;
using cross_entropy_check::reference;
using cross_entropy_check::run;

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
