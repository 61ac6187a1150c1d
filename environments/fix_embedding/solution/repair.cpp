// repair: a starting point for fixing the scrambled token embedding. Loads a GPT checkpoint
// (safetensors), trains only its token embedding transformer.wte.weight (tied with the output
// layer) with every other weight frozen, on ../data/train.bin, and writes the whole model, same
// architecture, to fixed_model.safetensors. Build with `bash build.sh`; `./repair --help` lists
// the options. Change anything you like: only fixed_model.safetensors is scored.
//
// Self-contained on purpose (libtorch and the C++ standard library only), so it builds inside the
// sandbox in about a minute. The model below computes exactly what the scorer computes: nanoGPT's
// GPT (pre-LayerNorm blocks, eps 1e-5, exact GELU, causal attention, learned positions, output
// logits = hidden states x wte^T).
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace F = torch::nn::functional;

namespace {

// ---- a minimal JSON reader, enough for safetensors headers ---------------------------------

struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  double number = 0;
  std::string text;
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> fields;
  const JsonValue* get(const std::string& key) const {
    for (const auto& f : fields)
      if (f.first == key) return &f.second;
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : s_(text) {}
  JsonValue parse() {
    JsonValue v = value();
    space();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(i_));
  }
  void space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  JsonValue value() {
    space();
    if (i_ >= s_.size()) fail("unexpected end");
    JsonValue v;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.kind = JsonValue::kObject;
      if (eat('}')) return v;
      do {
        space();
        std::string key = string();
        if (!eat(':')) fail("expected ':'");
        v.fields.emplace_back(key, value());
      } while (eat(','));
      if (!eat('}')) fail("expected '}'");
    } else if (c == '[') {
      ++i_;
      v.kind = JsonValue::kArray;
      if (eat(']')) return v;
      do v.items.push_back(value());
      while (eat(','));
      if (!eat(']')) fail("expected ']'");
    } else if (c == '"') {
      v.kind = JsonValue::kString;
      v.text = string();
    } else if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 5, "false") == 0) {
      v.kind = JsonValue::kBool;
      v.number = s_[i_] == 't';
      i_ += s_[i_] == 't' ? 4 : 5;
    } else if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
    } else {
      std::size_t used = 0;
      v.kind = JsonValue::kNumber;
      v.number = std::stod(s_.substr(i_, 32), &used);
      i_ += used;
    }
    return v;
  }
  std::string string() {
    if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string");
    std::string out;
    for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
      if (s_[i_] != '\\') {
        out += s_[i_];
        continue;
      }
      const char e = s_[++i_];
      if (e == 'u') {  // names and our metadata are ASCII; keep other escapes verbatim
        out += "\\u" + s_.substr(i_ + 1, 4);
        i_ += 4;
      } else {
        out += e == 'n'   ? '\n'
               : e == 't' ? '\t'
               : e == 'r' ? '\r'
               : e == 'b' ? '\b'
               : e == 'f' ? '\f'
                          : e;
      }
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }
  const std::string& s_;
  std::size_t i_ = 0;
};

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// ---- safetensors (float32) ------------------------------------------------------------------

struct Checkpoint {
  std::vector<std::string> names;  ///< in file order
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

Checkpoint load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) throw std::runtime_error(path + ": too short for safetensors");
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);  // little-endian, as on x86 and ARM
  if (header_size > bytes.size() - 8) throw std::runtime_error(path + ": header runs past the end");
  const JsonValue header = JsonParser(bytes.substr(8, header_size)).parse();
  const std::size_t data_start = 8 + header_size;
  Checkpoint ck;
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [name, entry] : header.fields) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : entry.fields) ck.metadata[k] = v.text;
      continue;
    }
    const JsonValue* dtype = entry.get("dtype");
    const JsonValue* shape = entry.get("shape");
    const JsonValue* offsets = entry.get("data_offsets");
    if (!dtype || !shape || !offsets || offsets->items.size() != 2)
      throw std::runtime_error(path + ": malformed entry for tensor " + name);
    if (dtype->text != "F32")
      throw std::runtime_error(path + ": tensor " + name + " is " + dtype->text +
                               "; this program reads float32 checkpoints");
    std::vector<std::int64_t> dims;
    std::int64_t numel = 1;
    for (const JsonValue& d : shape->items) {
      dims.push_back(static_cast<std::int64_t>(d.number));
      numel *= dims.back();
    }
    const auto begin = static_cast<std::size_t>(offsets->items[0].number);
    const auto end = static_cast<std::size_t>(offsets->items[1].number);
    if (end - begin != static_cast<std::size_t>(numel) * 4 || data_start + end > bytes.size())
      throw std::runtime_error(path + ": tensor " + name + " has inconsistent offsets");
    torch::Tensor t = torch::empty(dims, torch::kFloat32);
    std::memcpy(t.data_ptr(), bytes.data() + data_start + begin, end - begin);
    ck.tensors[name] = t;
    order.emplace_back(static_cast<double>(begin), name);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [begin, name] : order) ck.names.push_back(name);
  return ck;
}

/// Writes every tensor as float32 (CPU copies), through a temporary file renamed into place, so
/// a run killed halfway never leaves a broken fixed_model.safetensors.
void save_safetensors(const std::string& path, const Checkpoint& ck) {
  std::ostringstream header;
  header << "{";
  if (!ck.metadata.empty()) {
    header << "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : ck.metadata) {
      header << (first ? "" : ",") << "\"" << json_escape(k) << "\":\"" << json_escape(v) << "\"";
      first = false;
    }
    header << "},";
  }
  std::vector<torch::Tensor> data;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < ck.names.size(); ++i) {
    const std::string& name = ck.names[i];
    torch::Tensor t = ck.tensors.at(name).detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * 4;
    header << (i ? "," : "") << "\"" << json_escape(name) << "\":{\"dtype\":\"F32\",\"shape\":[";
    for (std::int64_t d = 0; d < t.dim(); ++d) header << (d ? "," : "") << t.size(d);
    header << "],\"data_offsets\":[" << offset << "," << offset + bytes << "]}";
    offset += bytes;
    data.push_back(t);
  }
  header << "}";
  std::string text = header.str();
  while (text.size() % 8 != 0) text += ' ';
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    const std::uint64_t size = text.size();
    out.write(reinterpret_cast<const char*>(&size), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const torch::Tensor& t : data)
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * 4));
    if (!out) throw std::runtime_error("cannot write " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + temp);
}

// ---- the GPT ----------------------------------------------------------------------------------

struct Config {
  std::int64_t vocab_size = 0, block_size = 0, n_layer = 0, n_head = 0, n_embd = 0;
};

Config config_of(const Checkpoint& ck, std::int64_t n_head_hint) {
  Config c;
  auto meta = ck.metadata.find("rebench.gpt_config");
  if (meta != ck.metadata.end()) {
    const JsonValue j = JsonParser(meta->second).parse();
    auto field = [&](const char* key) {
      const JsonValue* v = j.get(key);
      if (!v) throw std::runtime_error(std::string("gpt config has no ") + key);
      return static_cast<std::int64_t>(v->number);
    };
    c = {field("vocab_size"), field("block_size"), field("n_layer"), field("n_head"),
         field("n_embd")};
    return c;
  }
  const torch::Tensor& wte = ck.tensors.at("transformer.wte.weight");
  c.vocab_size = wte.size(0);
  c.n_embd = wte.size(1);
  c.block_size = ck.tensors.at("transformer.wpe.weight").size(0);
  while (ck.tensors.count("transformer.h." + std::to_string(c.n_layer) + ".ln_1.weight"))
    ++c.n_layer;
  c.n_head = n_head_hint;
  return c;
}

class Gpt {
 public:
  Gpt(Checkpoint ck, const Config& config) : ck_(std::move(ck)), c_(config) {}

  torch::Tensor& param(const std::string& name) { return ck_.tensors.at(name); }
  Checkpoint& checkpoint() { return ck_; }
  const Config& config() const { return c_; }

  void to(torch::Device device) {
    for (auto& [name, t] : ck_.tensors) t = t.to(device);
  }

  /// Logits [B, T, vocab] for token ids [B, T].
  torch::Tensor forward(const torch::Tensor& idx) {
    const std::int64_t t = idx.size(1);
    auto pos = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(idx.device()));
    const torch::Tensor& wte = param("transformer.wte.weight");
    torch::Tensor x = F::embedding(idx, wte) + F::embedding(pos, param("transformer.wpe.weight"));
    for (std::int64_t layer = 0; layer < c_.n_layer; ++layer) {
      const std::string p = "transformer.h." + std::to_string(layer) + ".";
      x = x + attention(norm(x, p + "ln_1"), p + "attn.");
      torch::Tensor h = linear(norm(x, p + "ln_2"), p + "mlp.c_fc");
      x = x + linear(torch::gelu(h), p + "mlp.c_proj");
    }
    return F::linear(norm(x, "transformer.ln_f"), wte);  // tied output layer
  }

  /// Mean next-token cross-entropy [nats/token].
  torch::Tensor loss(const torch::Tensor& inputs, const torch::Tensor& targets) {
    torch::Tensor logits = forward(inputs);
    return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
  }

 private:
  torch::Tensor norm(const torch::Tensor& x, const std::string& p) {
    return F::layer_norm(x, F::LayerNormFuncOptions({c_.n_embd})
                                .weight(param(p + ".weight"))
                                .bias(param(p + ".bias"))
                                .eps(1e-5));
  }
  torch::Tensor linear(const torch::Tensor& x, const std::string& p) {
    return F::linear(x, param(p + ".weight"), param(p + ".bias"));
  }
  torch::Tensor attention(const torch::Tensor& x, const std::string& p) {
    const std::int64_t b = x.size(0), t = x.size(1), c = x.size(2), hd = c / c_.n_head;
    auto qkv = linear(x, p + "c_attn").split(c, 2);
    auto heads = [&](const torch::Tensor& y) {
      return y.view({b, t, c_.n_head, hd}).transpose(1, 2);
    };
    torch::Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
#if TORCH_VERSION_MAJOR >= 2
    torch::Tensor y = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#else
    torch::Tensor att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(hd)));
    auto mask =
        torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).tril();
    att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
    torch::Tensor y = torch::matmul(torch::softmax(att, -1), v);
#endif
    return linear(y.transpose(1, 2).contiguous().view({b, t, c}), p + "c_proj");
  }

  Checkpoint ck_;
  Config c_;
};

// ---- data ------------------------------------------------------------------------------------

std::vector<std::uint16_t> read_tokens(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open " + path);
  const std::streamsize bytes = in.tellg();
  std::vector<std::uint16_t> tokens(static_cast<std::size_t>(bytes / 2));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(tokens.data()), static_cast<std::streamsize>(tokens.size() * 2));
  return tokens;
}

/// Inputs and targets [n, length] from windows of length + 1 tokens starting at `starts`.
std::pair<torch::Tensor, torch::Tensor> batch_of(const std::vector<std::uint16_t>& tokens,
                                                 const std::vector<std::size_t>& starts,
                                                 std::int64_t length, torch::Device device) {
  const auto n = static_cast<std::int64_t>(starts.size());
  torch::Tensor host = torch::empty({n, length + 1}, torch::kLong);
  auto* out = host.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j <= length; ++j) out[i * (length + 1) + j] = tokens[starts[i] + j];
  host = host.to(device);
  return {host.narrow(1, 0, length), host.narrow(1, 1, length)};
}

// ---- options -----------------------------------------------------------------------------------

struct Options {
  std::string model = "../large_model_corrupted.safetensors";
  std::string data = "../data/train.bin";
  std::string out = "fixed_model.safetensors";
  std::string device = torch::cuda::is_available() ? "cuda" : "cpu";
  std::string init = "corrupted";  // corrupted | normal
  std::int64_t steps = 100, batch = 16, seq_len = 0, warmup = 10, log_every = 10;
  std::int64_t eval_every = 50, eval_windows = 64, n_head = 0;
  double lr = 3e-3, min_lr = 3e-4, weight_decay = 0.0, grad_clip = 1.0, val_fraction = 0.01;
  std::uint64_t seed = 1;
  bool eval_only = false;
};

void usage() {
  std::printf(
      "usage: ./repair [options]\n"
      "  --model PATH        checkpoint to start from (default "
      "../large_model_corrupted.safetensors)\n"
      "  --data PATH         uint16 token ids (default ../data/train.bin)\n"
      "  --out PATH          where to write the repaired model (default fixed_model.safetensors)\n"
      "  --device cpu|cuda   default: cuda when available\n"
      "  --init corrupted|normal   start the embedding from the corrupted rows or N(0, 0.02)\n"
      "  --steps N --batch B --seq-len T (0 = block size) --lr X --min-lr X --warmup N\n"
      "  --weight-decay X --grad-clip X (0 = off) --seed N\n"
      "  --eval-every N --eval-windows N --val-fraction F   (validation on the last F of --data)\n"
      "  --eval-only         only print the validation loss of --model\n"
      "  --n-head N          heads, for checkpoints without rebench.gpt_config metadata\n");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h")
      usage(), std::exit(0);
    else if (a == "--model")
      o.model = next();
    else if (a == "--data")
      o.data = next();
    else if (a == "--out")
      o.out = next();
    else if (a == "--device")
      o.device = next();
    else if (a == "--init")
      o.init = next();
    else if (a == "--steps")
      o.steps = std::stoll(next());
    else if (a == "--batch")
      o.batch = std::stoll(next());
    else if (a == "--seq-len")
      o.seq_len = std::stoll(next());
    else if (a == "--lr")
      o.lr = std::stod(next());
    else if (a == "--min-lr")
      o.min_lr = std::stod(next());
    else if (a == "--warmup")
      o.warmup = std::stoll(next());
    else if (a == "--weight-decay")
      o.weight_decay = std::stod(next());
    else if (a == "--grad-clip")
      o.grad_clip = std::stod(next());
    else if (a == "--seed")
      o.seed = std::stoull(next());
    else if (a == "--eval-every")
      o.eval_every = std::stoll(next());
    else if (a == "--eval-windows")
      o.eval_windows = std::stoll(next());
    else if (a == "--val-fraction")
      o.val_fraction = std::stod(next());
    else if (a == "--log-every")
      o.log_every = std::stoll(next());
    else if (a == "--n-head")
      o.n_head = std::stoll(next());
    else if (a == "--eval-only")
      o.eval_only = true;
    else
      throw std::runtime_error("unknown option " + a + " (see --help)");
  }
  if (o.init != "corrupted" && o.init != "normal")
    throw std::runtime_error("--init: corrupted or normal");
  return o;
}

double lr_at(const Options& o, std::int64_t step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  const double progress = static_cast<double>(step - o.warmup) /
                          static_cast<double>(std::max<std::int64_t>(1, o.steps - o.warmup));
  return o.min_lr + 0.5 * (o.lr - o.min_lr) *
                        (1.0 + std::cos(3.14159265358979323846 * std::min(1.0, progress)));
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  const torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU);
  Checkpoint ck = load_safetensors(o.model);
  const Config config = config_of(ck, o.n_head);
  if (config.n_head <= 0)
    throw std::runtime_error("the checkpoint has no config metadata: pass --n-head");
  Gpt model(std::move(ck), config);
  model.to(device);
  const std::int64_t length =
      o.seq_len > 0 ? std::min(o.seq_len, config.block_size) : config.block_size;

  // The last val_fraction of the tokens is never trained on: validation windows come from there,
  // evenly spaced (with exactly eval_windows × (length + 1) tokens they are back to back).
  const std::vector<std::uint16_t> tokens = read_tokens(o.data);
  const auto window = static_cast<std::size_t>(length) + 1;
  const auto val_begin =
      static_cast<std::size_t>(static_cast<double>(tokens.size()) * (1.0 - o.val_fraction));
  if (o.eval_windows < 1 || tokens.size() < val_begin + window)
    throw std::runtime_error("too few tokens in " + o.data + " for a validation window");
  std::vector<std::size_t> val_starts;
  const std::size_t val_span = tokens.size() - val_begin - window;
  for (std::int64_t i = 0; i < o.eval_windows; ++i)
    val_starts.push_back(
        val_begin + val_span * static_cast<std::size_t>(i) /
                        static_cast<std::size_t>(std::max<std::int64_t>(1, o.eval_windows - 1)));
  auto validate = [&] {
    torch::NoGradGuard no_grad;
    double total = 0;
    for (std::size_t b = 0; b < val_starts.size(); b += 16) {
      std::vector<std::size_t> chunk(val_starts.begin() + b,
                                     val_starts.begin() + std::min(val_starts.size(), b + 16));
      auto [x, y] = batch_of(tokens, chunk, length, device);
      total += model.loss(x, y).item<double>() * static_cast<double>(chunk.size());
    }
    return total / static_cast<double>(val_starts.size());
  };
  if (o.eval_only) {
    std::printf("validation loss %.4f (%lld windows of %lld tokens)\n", validate(),
                (long long)o.eval_windows, (long long)length);
    return 0;
  }

  // Only the token embedding learns; the body keeps its pretrained weights.
  torch::manual_seed(o.seed);
  for (auto& [name, t] : model.checkpoint().tensors) t.set_requires_grad(false);
  torch::Tensor& wte = model.param("transformer.wte.weight");
  if (o.init == "normal") wte = torch::randn_like(wte) * 0.02;
  wte.set_requires_grad(true);
  torch::optim::AdamW optimizer(
      {wte}, torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weight_decay));

  if (val_begin < window) throw std::runtime_error("too few training tokens in " + o.data);
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<std::size_t> pick(0, val_begin - window);
  std::printf("start: validation loss %.4f\n", validate());
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t step = 0; step < o.steps; ++step) {
    const double lr = lr_at(o, step);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    std::vector<std::size_t> starts(static_cast<std::size_t>(o.batch));
    for (auto& s : starts) s = pick(rng);
    auto [x, y] = batch_of(tokens, starts, length, device);
    torch::Tensor loss = model.loss(x, y);
    optimizer.zero_grad();
    loss.backward();
    if (o.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{wte}, o.grad_clip);
    optimizer.step();
    if ((step + 1) % o.log_every == 0 || step + 1 == o.steps) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("step %lld/%lld  loss %.4f  lr %.2e  %.0fs\n", (long long)(step + 1),
                  (long long)o.steps, loss.item<double>(), lr, seconds);
    }
    if (o.eval_every > 0 && (step + 1) % o.eval_every == 0)
      std::printf("  validation loss %.4f\n", validate());
    std::fflush(stdout);
  }
  std::printf("end: validation loss %.4f\n", validate());
  wte = wte.detach();
  save_safetensors(o.out, model.checkpoint());
  std::printf("wrote %s\n", o.out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "repair: %s\n", e.what());
  return 1;
}
