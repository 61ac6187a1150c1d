// A GPT trained on the synthetic topic-HMM corpus approaches the exact loss floor of the
// evaluator's own windows from above, and never beats it by more than noise.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/gpt_model_torch.hpp"
#include "lm/synthetic_corpus.hpp"
#include "lm/synthetic_hmm.hpp"
#include "lm/token_corpus.hpp"
#include "lm/trainer_torch.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

TEST(SyntheticFloorTest, TrainedModelApproachesTheFloorFromAbove) {
  rebench::testing::TempDir dir;
  const auto prepared =
      prepare_synthetic_corpus("synthetic:topic_hmm_small,train_tokens=600000,val_tokens=60000",
                               dir.path() / "corpus", [](const std::string&) {});
  const auto corpus = TokenCorpus::open(prepared.dir);
  const TopicHmm source = synthetic_source(corpus);
  const TokenSpan train = corpus.tokens(Split::kTrain), val = corpus.tokens(Split::kVal);

  constexpr std::int64_t kBlock = 64;
  const auto offsets = evaluation_window_offsets(val.size, kBlock, 256);
  const double floor = source.optimal_loss_on_windows(val.data, val.size, offsets, kBlock);

  GptConfig config;
  config.vocab_size = corpus.vocab_size();
  config.block_size = kBlock;
  config.n_layer = 2;
  config.n_head = 2;
  config.n_embd = 64;
  torch::manual_seed(7);
  Gpt model(config);
  const double initial = evaluate_loss(model, val, offsets, kBlock, torch::kCPU, false);

  TrainConfig train_config;
  train_config.steps = 150;  // two rounds: ~10 s on 2 cores
  train_config.micro_batch = 16;
  train_config.lr = LrSchedule{3e-3, 3e-4, 10, 150};
  train_config.weight_decay = 0.0;
  train_config.eval_windows = 64;
  train_config.log_interval = 1000;
  std::vector<double> losses;
  for (int round = 0; round < 2; ++round) {
    train_model(model, train, val, train_config, TrainOptions{});
    train_config.seed += 1;  // fresh data order for the second round
    losses.push_back(evaluate_loss(model, val, offsets, kBlock, torch::kCPU, false));
  }
  const double unigram = source.unigram_entropy();
  std::printf("floor %.4f, initial %.4f, after training %.4f then %.4f, unigram entropy %.4f\n",
              floor, initial, losses[0], losses[1], unigram);
  // Same windows for model and floor: the model's excess is a KL divergence, ≥ 0 up to the
  // sampling noise of a few thousand tokens.
  for (double loss : losses) EXPECT_GT(loss, floor - 0.02);
  // It learned far more than token frequencies and closed most of the gap to the floor.
  EXPECT_LT(losses.back(), unigram);
  EXPECT_LT(losses.back() - floor, 0.25 * (initial - floor));
  EXPECT_LE(losses[1], losses[0] + 1e-3);
}

}  // namespace
}  // namespace rebench::lm
