// How to train a GPT (batch, steps, optimizer, schedule, evaluation): torch-free, read from JSON,
// so base-model recipes and environment settings are validated without libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lm/training_schedule.hpp"

namespace rebench::lm {

struct TrainConfig {
  std::int64_t steps = 100;      ///< optimizer steps
  std::int64_t micro_batch = 8;  ///< sequences per forward/backward
  std::int64_t grad_accum = 1;   ///< micro-batches per optimizer step
  std::int64_t seq_len = 0;      ///< tokens per sequence; 0 = the model's block_size
  LrSchedule lr;                 ///< decay_steps 0 in JSON = `steps`
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double grad_clip = 1.0;          ///< max global gradient norm; 0 = no clipping
  std::uint64_t seed = 1337;       ///< model init and data order
  bool bf16 = true;                ///< bf16 autocast (CUDA only; ignored on CPU)
  std::int64_t eval_interval = 0;  ///< evaluate every N steps (0 = only at the end)
  std::int64_t eval_windows = 64;  ///< fixed validation windows per evaluation
  std::int64_t log_interval = 10;  ///< progress line every N steps
  /// Parameters to train, by name prefix (e.g. "transformer.wte."); empty = all.
  std::vector<std::string> trainable;

  [[nodiscard]] std::int64_t tokens_per_step(std::int64_t block_size) const;
  [[nodiscard]] nlohmann::json to_json() const;
  /// All fields optional (defaults above); unknown keys are refused (ConfigError).
  static TrainConfig from_json(const nlohmann::json& json, const std::string& file = "<config>",
                               const std::string& where = "");
};

}  // namespace rebench::lm
