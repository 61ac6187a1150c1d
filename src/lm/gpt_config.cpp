// GptConfig: validation, parameter and FLOP arithmetic, tensor names and JSON form.
#include "lm/gpt_config.hpp"

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"

namespace rebench::lm {

void GptConfig::validate() const {
  auto positive = [](const char* name, std::int64_t value) {
    if (value <= 0)
      throw Error(fmt::format("GPT config: {} must be positive (got {})", name, value),
                  ExitCode::kUsage);
  };
  positive("vocab_size", vocab_size);
  positive("block_size", block_size);
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("n_embd", n_embd);
  if (n_embd % n_head != 0) {
    throw Error(
        fmt::format("GPT config: n_embd ({}) must be a multiple of n_head ({})", n_embd, n_head),
        ExitCode::kUsage);
  }
  if (!(dropout >= 0.0 && dropout < 1.0)) {
    throw Error(fmt::format("GPT config: dropout must be in [0, 1) (got {})", dropout),
                ExitCode::kUsage);
  }
}

std::vector<std::pair<std::string, std::vector<std::int64_t>>> GptConfig::tensor_shapes() const {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes;
  const std::int64_t d = n_embd;
  shapes.push_back({"transformer.wte.weight", {vocab_size, d}});
  shapes.push_back({"transformer.wpe.weight", {block_size, d}});
  for (std::int64_t layer = 0; layer < n_layer; ++layer) {
    const std::string p = fmt::format("transformer.h.{}.", layer);
    shapes.push_back({p + "ln_1.weight", {d}});
    shapes.push_back({p + "ln_1.bias", {d}});
    shapes.push_back({p + "attn.c_attn.weight", {3 * d, d}});
    shapes.push_back({p + "attn.c_attn.bias", {3 * d}});
    shapes.push_back({p + "attn.c_proj.weight", {d, d}});
    shapes.push_back({p + "attn.c_proj.bias", {d}});
    shapes.push_back({p + "ln_2.weight", {d}});
    shapes.push_back({p + "ln_2.bias", {d}});
    shapes.push_back({p + "mlp.c_fc.weight", {4 * d, d}});
    shapes.push_back({p + "mlp.c_fc.bias", {4 * d}});
    shapes.push_back({p + "mlp.c_proj.weight", {d, 4 * d}});
    shapes.push_back({p + "mlp.c_proj.bias", {d}});
  }
  shapes.push_back({"transformer.ln_f.weight", {d}});
  shapes.push_back({"transformer.ln_f.bias", {d}});
  return shapes;
}

std::int64_t GptConfig::parameter_count(bool include_positions) const {
  std::int64_t total = 0;
  for (const auto& [name, shape] : tensor_shapes()) {
    if (!include_positions && name == "transformer.wpe.weight") continue;
    std::int64_t n = 1;
    for (std::int64_t dim : shape) n *= dim;
    total += n;
  }
  return total;
}

double GptConfig::training_flops_per_token() const {
  const double n = static_cast<double>(parameter_count(false));
  const double head_dim = static_cast<double>(n_embd / n_head);
  return 6.0 * n + 12.0 * static_cast<double>(n_layer) * static_cast<double>(n_head) * head_dim *
                       static_cast<double>(block_size);
}

nlohmann::json GptConfig::to_json() const {
  return {{"vocab_size", vocab_size}, {"block_size", block_size}, {"n_layer", n_layer},
          {"n_head", n_head},         {"n_embd", n_embd},         {"dropout", dropout}};
}

GptConfig GptConfig::from_json(const nlohmann::json& json, const std::string& file,
                               const std::string& where) {
  if (!json.is_object()) throw ConfigError(file, where.empty() ? "/" : where, "an object");
  ConfigReader reader(file, json, where);
  GptConfig config;
  config.vocab_size = reader.integer("vocab_size");
  config.block_size = reader.integer("block_size");
  config.n_layer = reader.integer("n_layer");
  config.n_head = reader.integer("n_head");
  config.n_embd = reader.integer("n_embd");
  if (reader.has("dropout")) config.dropout = reader.number("dropout");
  try {
    config.validate();
  } catch (const Error& e) {
    throw ConfigError(file, where.empty() ? "/" : where, e.what());
  }
  return config;
}

bool GptConfig::operator==(const GptConfig& other) const {
  return vocab_size == other.vocab_size && block_size == other.block_size &&
         n_layer == other.n_layer && n_head == other.n_head && n_embd == other.n_embd &&
         dropout == other.dropout;
}

GptConfig gpt2_small_config() { return GptConfig{}; }

}  // namespace rebench::lm
