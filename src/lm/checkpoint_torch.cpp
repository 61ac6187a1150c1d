// GPT ⇄ safetensors (see checkpoint_torch.hpp).
#include "lm/checkpoint_torch.hpp"

#include <cstring>
#include <set>

#include <fmt/format.h>

namespace rebench::lm {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Hugging Face GPT-2 name → nanoGPT name ("h.0.attn.c_attn.weight" →
/// "transformer.h.0.attn.c_attn.weight"); nanoGPT names pass through.
std::string canonical_name(const std::string& name) {
  if (name.rfind("transformer.", 0) == 0 || name == "lm_head.weight") return name;
  return "transformer." + name;
}

/// GPT-2's Conv1D layers store weights as [in, out]; nanoGPT's Linear as [out, in].
bool is_conv1d_weight(const std::string& canonical) {
  return ends_with(canonical, "attn.c_attn.weight") || ends_with(canonical, "attn.c_proj.weight") ||
         ends_with(canonical, "mlp.c_fc.weight") || ends_with(canonical, "mlp.c_proj.weight");
}

/// Buffers some exporters keep (the causal mask of old GPT-2 checkpoints): not parameters.
bool is_ignored_buffer(const std::string& canonical) {
  return ends_with(canonical, ".attn.bias") || ends_with(canonical, ".attn.masked_bias");
}

}  // namespace

torch::Tensor to_float_tensor(const SafetensorsFile& file, const TensorEntry& entry) {
  torch::ScalarType type;
  switch (entry.dtype) {
    case DType::kF32:
      type = torch::kFloat32;
      break;
    case DType::kBF16:
      type = torch::kBFloat16;
      break;
    case DType::kF16:
      type = torch::kFloat16;
      break;
    default:
      throw SafetensorsError(
          fmt::format("{}: tensor '{}' has dtype {}; a GPT checkpoint holds "
                      "F32, BF16 or F16",
                      file.source(), entry.name, dtype_name(entry.dtype)));
  }
  auto tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(type));
  // memcpy: the data need not be aligned in files from other writers.
  std::memcpy(tensor.data_ptr(), file.data(entry), entry.bytes());
  return tensor.to(torch::kFloat32);
}

void save_gpt(const std::filesystem::path& path, Gpt& model,
              const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, p] : model->named_tensors()) {
    auto cpu = p.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    keep_alive.push_back(cpu);
    tensors.push_back({name, DType::kF32, cpu.sizes().vec(), cpu.data_ptr(),
                       static_cast<std::size_t>(cpu.numel()) * sizeof(float)});
  }
  auto meta = metadata;
  meta["format"] = "rebench-gpt";
  meta[kGptConfigMetadataKey] = model->config().to_json().dump();
  write_safetensors(path, tensors, meta);
}

std::vector<ExpectedTensor> expected_gpt_tensors(const GptConfig& config, DType dtype) {
  std::vector<ExpectedTensor> expected;
  for (auto& [name, shape] : config.tensor_shapes()) expected.push_back({name, dtype, shape});
  return expected;
}

GptConfig checkpoint_config(const SafetensorsFile& file, std::int64_t n_head_hint) {
  auto meta = file.metadata().find(kGptConfigMetadataKey);
  if (meta != file.metadata().end()) {
    nlohmann::json json = nlohmann::json::parse(meta->second, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      throw SafetensorsError(
          fmt::format("{}: metadata '{}' is not valid JSON", file.source(), kGptConfigMetadataKey));
    }
    try {
      return GptConfig::from_json(json, file.source(),
                                  std::string("/__metadata__/") + kGptConfigMetadataKey);
    } catch (const Error& e) {
      throw SafetensorsError(e.what());
    }
  }
  auto find = [&](const std::string& name) -> const TensorEntry& {
    if (const auto* e = file.find(name)) return *e;
    if (const auto* e = file.find("transformer." + name)) return *e;
    throw SafetensorsError(
        fmt::format("{}: no tensor '{}' (nor 'transformer.{}'): not a GPT "
                    "checkpoint",
                    file.source(), name, name));
  };
  const auto& wte = find("wte.weight");
  const auto& wpe = find("wpe.weight");
  if (wte.shape.size() != 2 || wpe.shape.size() != 2) {
    throw SafetensorsError(fmt::format("{}: embeddings must be 2-D", file.source()));
  }
  GptConfig config;
  config.vocab_size = wte.shape[0];
  config.n_embd = wte.shape[1];
  config.block_size = wpe.shape[0];
  config.n_head = n_head_hint;
  std::int64_t layers = 0;
  while (file.find(fmt::format("h.{}.ln_1.weight", layers)) ||
         file.find(fmt::format("transformer.h.{}.ln_1.weight", layers))) {
    ++layers;
  }
  config.n_layer = layers;
  try {
    config.validate();
  } catch (const Error& e) {
    throw SafetensorsError(
        fmt::format("{}: inferred config is invalid: {}", file.source(), e.what()));
  }
  return config;
}

Gpt load_gpt(const SafetensorsFile& file, std::int64_t n_head_hint) {
  const GptConfig config = checkpoint_config(file, n_head_hint);
  Gpt model(config);
  std::map<std::string, torch::Tensor> params;
  for (auto& [name, p] : model->named_tensors()) params.emplace(name, p);
  std::set<std::string> loaded;
  torch::NoGradGuard no_grad;
  for (const auto& entry : file.tensors()) {
    const std::string name = canonical_name(entry.name);
    if (is_ignored_buffer(name)) continue;
    if (name == "lm_head.weight") continue;  // tied: checked against wte below
    auto it = params.find(name);
    if (it == params.end()) {
      throw SafetensorsError(fmt::format("{}: unexpected tensor '{}' for a GPT with {} layers",
                                         file.source(), entry.name, config.n_layer));
    }
    auto value = to_float_tensor(file, entry);
    const bool hf_layout = name != entry.name && is_conv1d_weight(name);
    if (hf_layout) value = value.t().contiguous();
    if (value.sizes() != it->second.sizes()) {
      throw SafetensorsError(fmt::format("{}: tensor '{}' has shape {}; the model needs {}",
                                         file.source(), entry.name, shape_string(entry.shape),
                                         shape_string(it->second.sizes().vec())));
    }
    if (!torch::isfinite(value).all().item<bool>()) {
      throw SafetensorsError(
          fmt::format("{}: tensor '{}' holds NaN or infinite values", file.source(), entry.name));
    }
    it->second.copy_(value);
    loaded.insert(name);
  }
  for (const auto& [name, p] : params) {
    if (!loaded.count(name)) {
      throw SafetensorsError(fmt::format("{}: tensor '{}' is missing", file.source(), name));
    }
  }
  if (const auto* head = file.find("lm_head.weight")) {
    auto value = to_float_tensor(file, *head);
    if (!value.equal(params.at("transformer.wte.weight"))) {
      throw SafetensorsError(
          fmt::format("{}: 'lm_head.weight' differs from the token embedding; "
                      "this GPT ties them",
                      file.source()));
    }
  }
  return model;
}

Gpt load_gpt(const std::filesystem::path& path, std::int64_t n_head_hint) {
  return load_gpt(SafetensorsFile::open(path), n_head_hint);
}

}  // namespace rebench::lm
