// GPT substrate: config arithmetic, nanoGPT names, schedule, data order, optimizer, overfitting,
// checkpoints (nanoGPT and GPT-2 layouts), deterministic evaluation and training.
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/adamw_torch.hpp"
#include "lm/checkpoint_torch.hpp"
#include "lm/gpt_model_torch.hpp"
#include "lm/trainer_torch.hpp"
#include "lm/training_schedule.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

GptConfig tiny_config() {
  GptConfig c;
  c.vocab_size = 61;
  c.block_size = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 32;
  return c;
}

/// A stream with structure a small model can learn: a repeating pattern with noise-free period.
std::vector<std::uint16_t> patterned_stream(std::size_t n, std::uint16_t vocab) {
  std::vector<std::uint16_t> tokens(n);
  for (std::size_t i = 0; i < n; ++i)
    tokens[i] = static_cast<std::uint16_t>((i * 7 + (i / 5)) % vocab);
  return tokens;
}

TEST(GptConfigTest, Gpt2SmallHas124MParameters) {
  // The published count of GPT-2 124M (Hugging Face), and nanoGPT's 123.65M without positions.
  EXPECT_EQ(gpt2_small_config().parameter_count(true), 124'439'808);
  EXPECT_EQ(gpt2_small_config().parameter_count(false), 123'653'376);
}

TEST(GptConfigTest, RejectsHeadsThatDoNotDivideWidth) {
  GptConfig c = tiny_config();
  c.n_head = 5;
  EXPECT_THROW(c.validate(), Error);
  nlohmann::json j = tiny_config().to_json();
  j.erase("n_layer");
  EXPECT_THROW(GptConfig::from_json(j, "x.json", "/large/model"), ConfigError);
  EXPECT_EQ(GptConfig::from_json(tiny_config().to_json()), tiny_config());
}

TEST(GptModelTest, ParametersHaveNanoGptNamesAndShapes) {
  Gpt model(tiny_config());
  auto tensors = model->named_tensors();
  auto expected = tiny_config().tensor_shapes();
  ASSERT_EQ(tensors.size(), expected.size());
  std::map<std::string, std::vector<std::int64_t>> by_name(expected.begin(), expected.end());
  std::int64_t total = 0;
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_EQ(t.sizes().vec(), by_name[name]) << name;
    total += t.numel();
  }
  EXPECT_EQ(total, tiny_config().parameter_count());
  auto logits = model->forward(torch::zeros({3, 10}, torch::kLong));
  EXPECT_EQ(logits.sizes().vec(), (std::vector<std::int64_t>{3, 10, 61}));
}

TEST(GptModelTest, InitialLossIsNearUniform) {
  torch::manual_seed(0);
  Gpt model(tiny_config());
  // Targets independent of the inputs (the tied embedding favours the input token itself).
  auto idx = torch::randint(61, {8, 16}, torch::kLong);
  auto targets = torch::randint(61, {8, 16}, torch::kLong);
  const double loss = model->loss(idx, targets).item<double>();
  EXPECT_NEAR(loss, std::log(61.0), 0.15);  // N(0, 0.02) init: logits close to 0
}

TEST(GptModelTest, AttentionIsCausal) {
  torch::manual_seed(1);
  Gpt model(tiny_config());
  model->eval();
  auto a = torch::randint(61, {1, 12}, torch::kLong);
  auto b = a.clone();
  b.index_put_({0, 11}, (a.index({0, 11}).item<std::int64_t>() + 1) % 61);
  auto la = model->forward(a), lb = model->forward(b);
  // Changing the last token changes nothing before it.
  EXPECT_TRUE(torch::allclose(la.narrow(1, 0, 11), lb.narrow(1, 0, 11), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(la.narrow(1, 11, 1), lb.narrow(1, 11, 1)));
}

TEST(LrScheduleTest, WarmupCosineFloor) {
  LrSchedule s{1.0, 0.1, 10, 110};
  EXPECT_NEAR(s.at(0), 1.0 / 11.0, 1e-12);
  EXPECT_NEAR(s.at(9), 10.0 / 11.0, 1e-12);
  EXPECT_NEAR(s.at(10), 1.0, 1e-12);
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);  // halfway through the decay: (1 + 0.1) / 2
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);
  EXPECT_NEAR(s.at(5000), 0.1, 1e-12);
}

TEST(WindowsTest, TrainingOffsetsArePureFunctionsOfSeedStepAndMicro) {
  auto a = training_window_offsets(1000, 16, 32, 7, 3, 1);
  EXPECT_EQ(a, training_window_offsets(1000, 16, 32, 7, 3, 1));
  EXPECT_NE(a, training_window_offsets(1000, 16, 32, 7, 4, 1));
  EXPECT_NE(a, training_window_offsets(1000, 16, 32, 8, 3, 1));
  for (auto o : a) EXPECT_LE(o + 17, 1000u);
  EXPECT_THROW(training_window_offsets(10, 16, 1, 0, 0, 0), Error);
}

TEST(WindowsTest, EvaluationWindowsAreDisjointAndFixed) {
  auto w = evaluation_window_offsets(1000, 15, 10);
  ASSERT_EQ(w.size(), 10u);
  for (std::size_t i = 1; i < w.size(); ++i) EXPECT_GE(w[i] - w[i - 1], 16u);
  EXPECT_LE(w.back() + 16, 1000u);
  EXPECT_EQ(evaluation_window_offsets(1000, 15, 1000).size(), 62u);  // 1000 / 16 fit
  EXPECT_TRUE(evaluation_window_offsets(10, 15, 4).empty());
}

TEST(AdamWTest, MatchesLibtorchAdamW) {
  torch::manual_seed(3);
  auto init = torch::randn({5, 4});
  auto ours = init.clone().set_requires_grad(true);
  auto theirs = init.clone().set_requires_grad(true);
  AdamW optimizer({{{ours}, 0.1}}, 0.9, 0.95);
  torch::optim::AdamW reference(
      {theirs}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.95}).weight_decay(0.1));
  for (int step = 0; step < 5; ++step) {
    auto target = torch::randn({5, 4});
    (ours - target).pow(2).sum().backward();
    (theirs - target).pow(2).sum().backward();
    optimizer.step(0.01);
    optimizer.zero_grad();
    reference.step();
    reference.zero_grad();
  }
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(ours, init));
}

TEST(GptTrainingTest, TinyModelOverfitsOneBatch) {
  torch::manual_seed(4);
  Gpt model(tiny_config());
  auto idx = torch::randint(61, {4, 17}, torch::kLong);
  auto inputs = idx.narrow(1, 0, 16), targets = idx.narrow(1, 1, 16);
  AdamW optimizer(nanogpt_param_groups(model->named_tensors(), 0.0), 0.9, 0.95);
  double loss = 0;
  for (int step = 0; step < 200; ++step) {
    auto l = model->loss(inputs, targets);
    l.backward();
    optimizer.step(3e-3);
    optimizer.zero_grad();
    loss = l.item<double>();
  }
  EXPECT_LT(loss, 0.05);
}

TEST(GptCheckpointTest, SaveLoadGivesIdenticalOutputs) {
  rebench::testing::TempDir dir;
  torch::manual_seed(5);
  Gpt model(tiny_config());
  model->eval();
  save_gpt(dir.path() / "m.safetensors", model, {{"note", "test"}});
  auto file = SafetensorsFile::open(dir.path() / "m.safetensors");
  EXPECT_EQ(file.metadata().at("note"), "test");
  EXPECT_EQ(checkpoint_config(file), tiny_config());
  validate_architecture(file, expected_gpt_tensors(tiny_config()));
  Gpt loaded = load_gpt(file);
  loaded->eval();
  auto idx = torch::randint(61, {2, 16}, torch::kLong);
  EXPECT_TRUE(torch::equal(model->forward(idx), loaded->forward(idx)));
}

TEST(GptCheckpointTest, LoadsGpt2HuggingFaceLayout) {
  rebench::testing::TempDir dir;
  torch::manual_seed(6);
  Gpt model(tiny_config());
  model->eval();
  // Re-export as Hugging Face does for GPT-2: no "transformer." prefix, Conv1D weights [in, out],
  // the attention mask buffer, no config metadata.
  std::vector<torch::Tensor> keep;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, p] : model->named_tensors()) {
    std::string hf = name.substr(std::string("transformer.").size());
    auto t = p.detach().contiguous();
    const bool conv = hf.find("c_attn.weight") != std::string::npos ||
                      hf.find("c_proj.weight") != std::string::npos ||
                      hf.find("c_fc.weight") != std::string::npos;
    if (conv) t = t.t().contiguous();
    keep.push_back(t);
    tensors.push_back(
        {hf, DType::kF32, t.sizes().vec(), t.data_ptr(), static_cast<std::size_t>(t.numel()) * 4});
  }
  auto mask = torch::ones({1, 1, 16, 16}).tril().contiguous();
  tensors.push_back({"h.0.attn.bias", DType::kF32, mask.sizes().vec(), mask.data_ptr(), 256 * 4});
  write_safetensors(dir.path() / "hf.safetensors", tensors);
  Gpt loaded = load_gpt(dir.path() / "hf.safetensors", /*n_head_hint=*/2);
  loaded->eval();
  EXPECT_EQ(loaded->config(), tiny_config());
  auto idx = torch::randint(61, {2, 16}, torch::kLong);
  EXPECT_TRUE(torch::allclose(model->forward(idx), loaded->forward(idx), 1e-6, 1e-6));
}

TEST(GptCheckpointTest, NonFiniteOrMisshapedTensorsAreNamed) {
  rebench::testing::TempDir dir;
  Gpt model(tiny_config());
  {
    torch::NoGradGuard no_grad;
    model->transformer->ln_f->weight.index_put_({3}, std::nan(""));
  }
  save_gpt(dir.path() / "nan.safetensors", model);
  try {
    load_gpt(dir.path() / "nan.safetensors");
    FAIL() << "NaN weights were accepted";
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("transformer.ln_f.weight"), std::string::npos) << e.what();
  }
  auto w = torch::zeros({61, 8});
  write_safetensors(dir.path() / "bad.safetensors",
                    {{"transformer.wte.weight", DType::kF32, {61, 8}, w.data_ptr(), 61 * 8 * 4}},
                    {{kGptConfigMetadataKey, tiny_config().to_json().dump()}});
  EXPECT_THROW(load_gpt(dir.path() / "bad.safetensors"), SafetensorsError);
}

TEST(GptTrainingTest, TrainingIsDeterministicAndLearns) {
  auto stream = patterned_stream(20000, 61);
  TokenSpan train{stream.data(), 16000}, val{stream.data() + 16000, 4000};
  TrainConfig config;
  config.steps = 60;
  config.micro_batch = 8;
  config.grad_accum = 2;
  config.lr = LrSchedule{3e-3, 3e-4, 5, 60};
  config.eval_windows = 32;
  config.log_interval = 1000;
  auto run = [&] {
    torch::manual_seed(config.seed);
    Gpt model(tiny_config());
    const double before = evaluate_loss(model, val, 16, 32, torch::kCPU, false);
    TrainOptions options;
    auto result = train_model(model, train, val, config, options);
    return std::make_tuple(before, result, model);
  };
  auto [before_a, result_a, model_a] = run();
  auto [before_b, result_b, model_b] = run();
  EXPECT_LT(result_a.val_loss, before_a - 1.0);  // the pattern is learnable
  EXPECT_EQ(result_a.val_loss, result_b.val_loss);
  auto ta = model_a->named_tensors(), tb = model_b->named_tensors();
  for (std::size_t i = 0; i < ta.size(); ++i)
    EXPECT_TRUE(torch::equal(ta[i].second, tb[i].second)) << ta[i].first;
  // Evaluation itself is deterministic.
  EXPECT_EQ(evaluate_loss(model_a, val, 16, 32, torch::kCPU, false),
            evaluate_loss(model_a, val, 16, 32, torch::kCPU, false));
}

TEST(GptTrainingTest, FreezingTrainsOnlyTheNamedParameters) {
  auto stream = patterned_stream(5000, 61);
  TokenSpan train{stream.data(), 4000}, val{stream.data() + 4000, 1000};
  torch::manual_seed(2);
  Gpt model(tiny_config());
  auto before = model->transformer->ln_f->weight.clone();
  auto wte_before = model->transformer->wte->weight.clone();
  TrainConfig config;
  config.steps = 5;
  config.micro_batch = 2;
  config.trainable = {"transformer.wte."};
  train_model(model, train, val, config, TrainOptions{});
  EXPECT_TRUE(torch::equal(before, model->transformer->ln_f->weight));
  EXPECT_FALSE(torch::equal(wte_before, model->transformer->wte->weight));
}

}  // namespace
}  // namespace rebench::lm
