// TrainConfig: JSON form with validation (see train_config.hpp).
#include "lm/train_config.hpp"

#include <set>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"

namespace rebench::lm {

std::int64_t TrainConfig::tokens_per_step(std::int64_t block_size) const {
  return micro_batch * grad_accum * (seq_len > 0 ? seq_len : block_size);
}

nlohmann::json TrainConfig::to_json() const {
  return {{"steps", steps},
          {"micro_batch", micro_batch},
          {"grad_accum", grad_accum},
          {"seq_len", seq_len},
          {"max_lr", lr.max_lr},
          {"min_lr", lr.min_lr},
          {"warmup_steps", lr.warmup_steps},
          {"decay_steps", lr.decay_steps},
          {"weight_decay", weight_decay},
          {"beta1", beta1},
          {"beta2", beta2},
          {"grad_clip", grad_clip},
          {"seed", seed},
          {"bf16", bf16},
          {"eval_interval", eval_interval},
          {"eval_windows", eval_windows},
          {"log_interval", log_interval},
          {"trainable", trainable}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& json, const std::string& file,
                                   const std::string& where) {
  if (!json.is_object()) throw ConfigError(file, where.empty() ? "/" : where, "an object");
  static const std::set<std::string> known = {
      "steps",        "micro_batch", "grad_accum",    "seq_len",      "max_lr",       "min_lr",
      "warmup_steps", "decay_steps", "weight_decay",  "beta1",        "beta2",        "grad_clip",
      "seed",         "bf16",        "eval_interval", "eval_windows", "log_interval", "trainable"};
  ConfigReader reader(file, json, where);
  for (const auto& item : json.items()) {
    if (!known.count(item.key())) reader.fail(item.key(), "an unknown training option");
  }
  TrainConfig c;
  auto integer = [&](const char* key, std::int64_t& field, std::int64_t minimum) {
    if (!reader.has(key)) return;
    field = reader.integer(key);
    if (field < minimum) reader.fail(key, "an integer ≥ " + std::to_string(minimum));
  };
  auto number = [&](const char* key, double& field) {
    if (reader.has(key)) field = reader.number(key);
  };
  integer("steps", c.steps, 1);
  integer("micro_batch", c.micro_batch, 1);
  integer("grad_accum", c.grad_accum, 1);
  integer("seq_len", c.seq_len, 0);
  number("max_lr", c.lr.max_lr);
  number("min_lr", c.lr.min_lr);
  integer("warmup_steps", c.lr.warmup_steps, 0);
  c.lr.decay_steps = 0;
  integer("decay_steps", c.lr.decay_steps, 0);
  if (c.lr.decay_steps == 0) c.lr.decay_steps = c.steps;
  number("weight_decay", c.weight_decay);
  number("beta1", c.beta1);
  number("beta2", c.beta2);
  number("grad_clip", c.grad_clip);
  if (reader.has("seed")) {
    const long long seed = reader.integer("seed");
    if (seed < 0) reader.fail("seed", "a non-negative integer");
    c.seed = static_cast<std::uint64_t>(seed);
  }
  if (reader.has("bf16")) c.bf16 = reader.boolean("bf16");
  integer("eval_interval", c.eval_interval, 0);
  integer("eval_windows", c.eval_windows, 1);
  integer("log_interval", c.log_interval, 1);
  if (reader.has("trainable")) {
    const auto& list = reader.raw("trainable");
    if (!list.is_array()) reader.fail("trainable", "an array of parameter-name prefixes");
    for (const auto& item : list) {
      if (!item.is_string()) reader.fail("trainable", "an array of strings");
      c.trainable.push_back(item.get<std::string>());
    }
  }
  if (!(c.lr.max_lr > 0) || !(c.lr.min_lr >= 0) || c.lr.min_lr > c.lr.max_lr) {
    reader.fail("max_lr", "0 < min_lr ≤ max_lr");
  }
  if (!(c.beta1 >= 0 && c.beta1 < 1)) reader.fail("beta1", "a number in [0, 1)");
  if (!(c.beta2 >= 0 && c.beta2 < 1)) reader.fail("beta2", "a number in [0, 1)");
  if (!(c.weight_decay >= 0)) reader.fail("weight_decay", "a number ≥ 0");
  if (!(c.grad_clip >= 0)) reader.fail("grad_clip", "a number ≥ 0");
  return c;
}

}  // namespace rebench::lm
