// The fused cross-entropy CUDA kernel against F::cross_entropy on float32 logits: loss and
// gradient for bf16, fp16 and fp32 logits, vocabularies that do and do not divide by the vector
// width (1, 7, 1000, 50257, 50304), 1 to 4096 rows, targets at the row ends, logits of +-80,
// rows that start misaligned, ignored rows, the gradient written into the logits; then the GPT's
// loss and gradients with the fused kernels (cross-entropy and LayerNorm) against the previous
// float32 paths, and a short training run with each. Fails (does not skip) on a CUDA host built
// without the kernel.
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/fused_cross_entropy_torch.hpp"
#include "lm/gpt_model_torch.hpp"
#include "lm/trainer_torch.hpp"
#include "support/cross_entropy_check.hpp"

namespace rebench::lm {
namespace {
namespace F = torch::nn::functional;

const torch::Device kCuda{torch::kCUDA, 0};

using cross_entropy_check::LossAndGrad;
using cross_entropy_check::reference;
using cross_entropy_check::run;

LossAndGrad fused(const torch::Tensor& logits, const torch::Tensor& targets,
                  CrossEntropyOptions options = {}) {
  return run(
      logits,
      [&](const torch::Tensor& x) { return fused_cross_entropy_function(x, targets, options); },
      /*through_clone=*/options.grad_into_logits);
}

/// Relative tolerance of a gradient rounded to `dtype` (twice its rounding error).
double grad_rtol(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kBFloat16:
      return 1.0 / 256;
    case torch::kFloat16:
      return 1.0 / 1024;
    default:
      return 1e-4;
  }
}

void expect_matches(const LossAndGrad& got, const LossAndGrad& want, torch::ScalarType dtype,
                    const std::string& what) {
  ASSERT_TRUE(got.grad.defined()) << what;
  EXPECT_EQ(got.loss.scalar_type(), torch::kFloat32) << what;
  EXPECT_EQ(got.grad.scalar_type(), dtype) << what;
  const double loss = got.loss.item<double>(), want_loss = want.loss.item<double>();
  EXPECT_TRUE(std::isfinite(loss)) << what;
  EXPECT_NEAR(loss, want_loss, 2e-5 + 1e-5 * std::abs(want_loss)) << what;
  auto g = got.grad.to(torch::kFloat32), w = want.grad.to(torch::kFloat32);
  const double scale = w.abs().max().item<double>();
  // fp16 cannot hold gradients below ~6e-8 (they round to 0 or a subnormal).
  const double atol = std::max(1e-6 * scale, dtype == torch::kFloat16 ? 6e-8 : 0.0);
  const auto excess = ((g - w).abs() - (atol + grad_rtol(dtype) * w.abs())).max().item<double>();
  EXPECT_LE(excess, 0.0) << what << ": max |diff| " << (g - w).abs().max().item<double>()
                         << ", max |grad| " << scale;
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << what;
}

torch::Tensor random_targets(std::int64_t rows, std::int64_t vocab) {
  auto t = torch::randint(vocab, {rows}, torch::TensorOptions().dtype(torch::kLong));
  t[0] = vocab - 1;  // the last column (the scalar tail when vocab is not a vector multiple)
  if (rows > 1) t[1] = 0;
  if (rows > 2) t[rows - 1] = vocab - 1;
  return t.to(kCuda);
}

std::string dtype_name(torch::ScalarType dtype) {
  return dtype == torch::kBFloat16 ? "bf16" : dtype == torch::kFloat16 ? "fp16" : "fp32";
}

class FusedCrossEntropyGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to libtorch";
    ASSERT_TRUE(fused_cross_entropy_compiled())
        << "CUDA is available but this build has no fused cross-entropy kernel (configure "
           "with nvcc and a CUDA libtorch)";
  }
};

// ---- the kernel against the reference ----------------------------------------------------------

using Shape = std::tuple<torch::ScalarType, std::int64_t, std::int64_t>;  // dtype, vocab, rows

class FusedCrossEntropyShapeTest : public FusedCrossEntropyGpuTest,
                                   public ::testing::WithParamInterface<Shape> {};

TEST_P(FusedCrossEntropyShapeTest, LossAndGradientMatchTheFloat32Reference) {
  const auto [dtype, vocab, rows] = GetParam();
  torch::manual_seed(static_cast<std::uint64_t>(vocab * 31 + rows));
  auto logits = (torch::randn({rows, vocab}, torch::TensorOptions().device(kCuda)) * 4).to(dtype);
  auto targets = random_targets(rows, vocab);
  ASSERT_TRUE(fused_cross_entropy_supported(logits));
  const auto want = reference(logits, targets);
  const auto got = fused(logits, targets);
  expect_matches(got, want, dtype, "fresh gradient");
  CrossEntropyOptions in_place;
  in_place.grad_into_logits = true;
  const auto got_in_place = fused(logits, targets, in_place);
  expect_matches(got_in_place, want, dtype, "gradient into the logits");
  EXPECT_TRUE(torch::equal(got.grad, got_in_place.grad)) << "same kernel, same alignment";
  // The public entry point takes the kernel for these logits too.
  EXPECT_TRUE(torch::equal(fused_cross_entropy(logits, targets), got.loss));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedCrossEntropyShapeTest,
    ::testing::Combine(::testing::Values(torch::kBFloat16, torch::kFloat32, torch::kFloat16),
                       ::testing::Values<std::int64_t>(1, 7, 1000, 50257, 50304),
                       ::testing::Values<std::int64_t>(1, 7, 4096)),
    [](const ::testing::TestParamInfo<Shape>& info) {
      return dtype_name(std::get<0>(info.param)) + "_V" + std::to_string(std::get<1>(info.param)) +
             "_N" + std::to_string(std::get<2>(info.param));
    });

TEST_F(FusedCrossEntropyGpuTest, LargeLogitsDoNotOverflow) {
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    for (std::int64_t vocab : {50257, 50304}) {
      torch::manual_seed(7);
      const std::int64_t rows = 64;
      auto options = torch::TensorOptions().device(kCuda);
      auto logits = torch::where(torch::rand({rows, vocab}, options) < 0.5,
                                 torch::full({rows, vocab}, 80.0, options),
                                 torch::full({rows, vocab}, -80.0, options));
      auto targets = random_targets(rows, vocab);
      logits[2] = 0.0;  // uniform: loss log(vocab)
      logits[3] = -80.0;
      logits[3][targets[3].item<std::int64_t>()] = 80.0;  // certain: loss ~0
      logits[4] = 80.0;
      logits[4][targets[4].item<std::int64_t>()] = -80.0;  // hopeless: loss ~160 + log(V - 1)
      logits = logits.to(dtype);
      const std::string what = dtype_name(dtype) + " V" + std::to_string(vocab);
      const auto want = reference(logits, targets);
      const auto got = fused(logits, targets);
      expect_matches(got, want, dtype, what);
    }
  }
}

TEST_F(FusedCrossEntropyGpuTest, MisalignedRowsUseTheScalarHeadAndTail) {
  // Logits starting 3 elements past an aligned address: every row has a scalar head. A fresh
  // gradient is aligned differently (the scalar kernel); in place it is aligned alike.
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    for (std::int64_t vocab : {1000, 50304}) {
      torch::manual_seed(8);
      const std::int64_t rows = 33;
      auto storage =
          torch::empty({rows * vocab + 3}, torch::TensorOptions().dtype(dtype).device(kCuda));
      auto logits = storage.narrow(0, 3, rows * vocab).view({rows, vocab});
      logits.copy_(torch::randn({rows, vocab}, torch::TensorOptions().device(kCuda)) * 3);
      ASSERT_TRUE(logits.is_contiguous());
      auto targets = random_targets(rows, vocab);
      const auto want = reference(logits, targets);
      const std::string what = dtype_name(dtype) + " V" + std::to_string(vocab);
      // Through the autograd function directly on the offset view (run() would copy it).
      auto leaf = logits.detach().set_requires_grad(true);
      auto loss = fused_cross_entropy_function(leaf, targets);
      loss.backward();
      expect_matches({loss.detach(), leaf.grad()}, want, dtype, what + " fresh");
      // In place: a misaligned view of a leaf (the view is what the gradient overwrites).
      auto base = storage.detach().clone().set_requires_grad(true);
      auto input = base.narrow(0, 3, rows * vocab).view({rows, vocab});
      CrossEntropyOptions in_place;
      in_place.grad_into_logits = true;
      auto loss2 = fused_cross_entropy_function(input, targets, in_place);
      loss2.backward();
      expect_matches({loss2.detach(), base.grad().narrow(0, 3, rows * vocab).view({rows, vocab})},
                     want, dtype, what + " in place");
    }
  }
}

TEST_F(FusedCrossEntropyGpuTest, IgnoredRowsAreNotCounted) {
  for (std::int64_t ignore : {-1, -100}) {
    torch::manual_seed(9);
    auto logits =
        (torch::randn({300, 50304}, torch::TensorOptions().device(kCuda)) * 2).to(torch::kBFloat16);
    auto targets = random_targets(300, 50304);
    targets.index_put_(
        {torch::arange(0, 300, 7, torch::TensorOptions().dtype(torch::kLong).device(kCuda))},
        ignore);
    CrossEntropyOptions options;
    options.ignore_index = ignore;
    const auto got = fused(logits, targets, options);
    expect_matches(got, reference(logits, targets, ignore), torch::kBFloat16,
                   "ignore_index " + std::to_string(ignore));
    EXPECT_EQ(got.grad[7].abs().max().item<double>(), 0.0);
  }
}

TEST_F(FusedCrossEntropyGpuTest, OtherLayoutsAndTargetTypes) {
  torch::manual_seed(10);
  // Non-contiguous logits (a column slice) are copied; int32 targets are widened.
  auto wide = torch::randn({64, 1100}, torch::TensorOptions().device(kCuda)).to(torch::kBFloat16);
  auto logits = wide.narrow(1, 50, 1000);
  ASSERT_FALSE(logits.is_contiguous());
  auto targets = random_targets(64, 1000);
  const auto want = reference(logits, targets);
  expect_matches(fused(logits, targets.to(torch::kInt)), want, torch::kBFloat16, "int32 targets");
  CrossEntropyOptions in_place;
  in_place.grad_into_logits = true;
  auto leaf = wide.clone().set_requires_grad(true);
  auto loss = fused_cross_entropy_function(leaf.narrow(1, 50, 1000), targets, in_place);
  loss.backward();
  expect_matches({loss.detach(), leaf.grad().narrow(1, 50, 1000)}, want, torch::kBFloat16,
                 "non-contiguous, in place");
  EXPECT_EQ(leaf.grad().narrow(1, 0, 50).abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(leaf.detach(), wide)) << "a copy was overwritten, not the input";
}

TEST_F(FusedCrossEntropyGpuTest, WithoutGradientAndUnderAutocast) {
  torch::manual_seed(11);
  auto logits =
      (torch::randn({512, 50304}, torch::TensorOptions().device(kCuda)) * 3).to(torch::kBFloat16);
  auto targets = random_targets(512, 50304);
  auto want = F::cross_entropy(logits.to(torch::kFloat32), targets).item<double>();
  {
    torch::NoGradGuard no_grad;
    EXPECT_NEAR(fused_cross_entropy(logits, targets).item<double>(), want, 1e-4);
  }
  {
    Bf16Autocast autocast(true);
    EXPECT_NEAR(fused_cross_entropy(logits, targets).item<double>(), want, 1e-4);
  }
}

// ---- the model ---------------------------------------------------------------------------------

GptConfig small_config(std::int64_t vocab) {
  GptConfig c;
  c.vocab_size = vocab;
  c.block_size = 64;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 64;
  return c;
}

TEST_F(FusedCrossEntropyGpuTest, GptLossAndGradientsMatchTheFloat32Path) {
  for (std::int64_t vocab : {50304, 50257}) {
    torch::manual_seed(13);
    Gpt model(small_config(vocab));
    model->to(kCuda);
    auto idx = torch::randint(vocab, {8, 64}, torch::TensorOptions().dtype(torch::kLong)).to(kCuda);
    auto targets =
        torch::randint(vocab, {8, 64}, torch::TensorOptions().dtype(torch::kLong)).to(kCuda);
    std::vector<std::pair<double, std::map<std::string, torch::Tensor>>> runs;
    for (bool on : {true, false}) {
      model->set_fused_cross_entropy(on);
      model->set_fused_layer_norm(on);
      torch::Tensor loss;
      {
        Bf16Autocast autocast(true);
        loss = model->loss(idx, targets);
      }
      loss.backward();
      std::map<std::string, torch::Tensor> grads;
      for (auto& [name, p] : model->named_tensors()) {
        grads[name] = p.grad().clone();
        p.mutable_grad() = torch::Tensor();
      }
      runs.emplace_back(loss.item<double>(), std::move(grads));
    }
    const std::string what = "vocab " + std::to_string(vocab);
    EXPECT_NEAR(runs[0].first, runs[1].first, 1e-4) << what;
    for (const auto& [name, fused_grad] : runs[0].second) {
      const auto& plain_grad = runs[1].second.at(name);
      const double diff = (fused_grad - plain_grad).norm().item<double>();
      const double norm = plain_grad.norm().item<double>();
      EXPECT_LE(diff, 1e-2 * norm + 1e-9)
          << what << " " << name << ": |diff| " << diff << " of |grad| " << norm;
    }
  }
}

std::vector<std::uint16_t> patterned_stream(std::size_t n, std::uint16_t vocab) {
  std::vector<std::uint16_t> tokens(n);
  for (std::size_t i = 0; i < n; ++i)
    tokens[i] = static_cast<std::uint16_t>((i * 7 + (i / 5)) % vocab);
  return tokens;
}

TEST_F(FusedCrossEntropyGpuTest, TrainingWithEitherPathGivesTheSameLosses) {
  auto stream = patterned_stream(200000, 512);
  TokenSpan train{stream.data(), 150000}, val{stream.data() + 150000, 50000};
  std::vector<TrainResult> results;
  for (bool on : {true, false}) {
    torch::manual_seed(14);
    GptConfig config = small_config(512);
    Gpt model(config);
    model->to(kCuda);
    model->set_fused_cross_entropy(on);
    model->set_fused_layer_norm(on);
    TrainConfig train_config;
    train_config.steps = 40;
    train_config.micro_batch = 16;
    train_config.grad_accum = 2;
    train_config.lr = LrSchedule{3e-3, 3e-4, 5, 40};
    train_config.bf16 = true;
    train_config.eval_windows = 32;
    train_config.log_interval = 1000;
    TrainOptions options;
    options.device = kCuda;
    results.push_back(train_model(model, train, val, train_config, options));
  }
  std::printf("40 steps: fused train %.4f val %.4f | float32 path train %.4f val %.4f\n",
              results[0].final_train_loss, results[0].val_loss, results[1].final_train_loss,
              results[1].val_loss);
  EXPECT_TRUE(std::isfinite(results[0].val_loss));
  EXPECT_NEAR(results[0].final_train_loss, results[1].final_train_loss, 0.05);
  EXPECT_NEAR(results[0].val_loss, results[1].val_loss, 0.05);
  EXPECT_LT(results[0].val_loss, std::log(512.0) - 1.0) << "learns";
}

}  // namespace
}  // namespace rebench::lm
