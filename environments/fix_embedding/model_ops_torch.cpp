// Held-out evaluation and the reference repair with libtorch (see model_ops_torch.hpp).
#include "fix_embedding/model_ops_torch.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "fix_embedding/checkpoint_check.hpp"
#include "lm/checkpoint_torch.hpp"
#include "lm/trainer_torch.hpp"
#include "rebench/errors.hpp"

namespace rebench::fix_embedding {

namespace {

torch::Device device_for(bool cuda) {
  if (!cuda) return torch::kCPU;
  if (!torch::cuda::is_available())
    throw Error(
        "this profile runs fix_embedding on a CUDA GPU and libtorch sees none "
        "(use --profile cpu on a machine without a GPU)",
        ExitCode::kUsage);
  return torch::Device(torch::kCUDA, 0);
}

double evaluate(lm::Gpt& model, const HeldoutSet& heldout, bool cuda, std::int64_t batch) {
  const torch::Device device = device_for(cuda);
  model->to(device);
  return lm::evaluate_loss(model, heldout.span(), heldout.offsets(), heldout.length, device,
                           /*bf16=*/false, batch);
}

/// Rows of `a` and `b` (both V × C) that are each other's nearest neighbour by cosine
/// similarity: match[i] = j when b[j] is a[i]'s nearest row and a[i] is b[j]'s, else -1.
/// Chunked so the similarity matrix never exists whole (V² floats would be 10 GB at V = 50304).
std::vector<std::int64_t> mutual_nearest_rows(const torch::Tensor& a, const torch::Tensor& b) {
  torch::NoGradGuard no_grad;
  const auto an = torch::nn::functional::normalize(a.to(torch::kFloat32),
                                                   torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto bn = torch::nn::functional::normalize(b.to(torch::kFloat32),
                                                   torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto nearest = [](const torch::Tensor& rows, const torch::Tensor& among) {
    const std::int64_t n = rows.size(0), chunk = 1024;
    std::vector<torch::Tensor> parts;
    for (std::int64_t start = 0; start < n; start += chunk) {
      const auto block = rows.slice(0, start, std::min(n, start + chunk));
      parts.push_back(std::get<1>(torch::matmul(block, among.t()).max(1)));
    }
    return torch::cat(parts).to(torch::kCPU).to(torch::kInt64).contiguous();
  };
  const auto a_to_b = nearest(an, bn), b_to_a = nearest(bn, an);
  const std::int64_t* ab = a_to_b.data_ptr<std::int64_t>();
  const std::int64_t* ba = b_to_a.data_ptr<std::int64_t>();
  std::vector<std::int64_t> match(static_cast<std::size_t>(a.size(0)), -1);
  for (std::int64_t i = 0; i < a.size(0); ++i)
    if (ba[ab[i]] == i) match[static_cast<std::size_t>(i)] = ab[i];
  return match;
}

}  // namespace

double heldout_loss(const lm::SafetensorsFile& file, const lm::GptConfig& config,
                    const HeldoutSet& heldout, bool cuda, std::int64_t batch) {
  // The tensors fit `config` (checked before); the metadata must not describe another model,
  // since load_gpt builds the model it describes (n_head changes the computation, not a shape).
  lm::GptConfig described;
  try {
    described = lm::checkpoint_config(file, config.n_head);
  } catch (const lm::SafetensorsError& e) {
    throw Rejected(e.what());
  }
  if (described != config)
    throw Rejected(fmt::format(
        "{}: metadata '{}' describes the model {}, but the architecture is {} (remove the "
        "metadata entry or write the original one)",
        file.source(), lm::kGptConfigMetadataKey, described.to_json().dump(),
        config.to_json().dump()));
  lm::Gpt model = lm::load_gpt(file, config.n_head);
  return evaluate(model, heldout, cuda, batch);
}

double heldout_loss(const std::filesystem::path& checkpoint, const lm::GptConfig& config,
                    const HeldoutSet& heldout, bool cuda, std::int64_t batch) {
  return heldout_loss(lm::SafetensorsFile::open(checkpoint), config, heldout, cuda, batch);
}

ReferenceRun train_reference(const std::filesystem::path& corrupted,
                             const std::filesystem::path& out, const lm::TokenCorpus& corpus,
                             const ReferenceRecipe& recipe, bool cuda,
                             const std::function<void(const std::string&)>& say) {
  const torch::Device device = device_for(cuda);
  lm::Gpt model = lm::load_gpt(corrupted);
  const torch::Tensor corrupted_rows = model->transformer->wte->weight.detach().clone();
  torch::manual_seed(recipe.train.seed);
  if (recipe.init == ReferenceInit::kNormal) {
    torch::NoGradGuard no_grad;
    model->transformer->wte->weight.normal_(0.0, 0.02);
  }
  model->to(device);
  lm::TrainOptions options;
  options.device = device;
  options.on_progress = [&](const lm::TrainProgress& p) {
    say("  reference: " + lm::format_progress(p));
  };
  ReferenceRun run;
  const lm::TrainResult result =
      lm::train_model(model, corpus.tokens(lm::Split::kTrain), corpus.tokens(lm::Split::kVal),
                      recipe.train, options);
  if (recipe.recover_rows) {
    // Undo the permutation where the retrained embedding is clear about it: token i gets the
    // corrupted row j (an original row, exact) when its retrained row and j are mutual nearest
    // neighbours. Needs a reference trained from a fresh initialisation (init "normal"): rows
    // trained from the corrupted ones stay nearest to their own starting row. Kept only when it
    // lowers the loss on training windows (never the val split, which the held-out windows come
    // from): on a weak base model the matches can be wrong.
    torch::NoGradGuard no_grad;
    auto& weight = model->transformer->wte->weight;
    const auto rows = corrupted_rows.to(weight.device());
    const std::vector<std::int64_t> match = mutual_nearest_rows(weight.detach(), rows);
    std::vector<std::int64_t> tokens, sources;
    for (std::size_t i = 0; i < match.size(); ++i)
      if (match[i] >= 0) {
        tokens.push_back(static_cast<std::int64_t>(i));
        sources.push_back(match[i]);
      }
    const lm::TokenSpan train = corpus.tokens(lm::Split::kTrain);
    const std::int64_t length = recipe.train.seq_len > 0 ? recipe.train.seq_len
                                                         : model->config().block_size;
    const std::int64_t windows = std::max<std::int64_t>(recipe.train.eval_windows, 16);
    auto train_loss = [&] {
      return lm::evaluate_loss(model, train, length, windows, device, recipe.train.bf16);
    };
    const double before = train_loss();
    double after = before;
    if (!tokens.empty()) {
      const torch::Tensor retrained = weight.detach().clone();
      const auto opts = torch::TensorOptions().dtype(torch::kInt64);
      const auto to = torch::from_blob(tokens.data(), {static_cast<std::int64_t>(tokens.size())},
                                       opts).to(weight.device());
      const auto from = torch::from_blob(sources.data(),
                                         {static_cast<std::int64_t>(sources.size())}, opts)
                            .to(weight.device());
      weight.index_copy_(0, to, rows.index_select(0, from));
      after = train_loss();
      if (!(after < before)) weight.copy_(retrained);
    }
    const bool kept = after < before;
    say(fmt::format("  reference: {} of {} embedding rows are mutual nearest neighbours of a "
                    "corrupted row; putting them back {} the training-window loss ({:.4f} -> "
                    "{:.4f}){}",
                    tokens.size(), match.size(), kept ? "lowers" : "does not lower", before,
                    after, kept ? "" : ": kept the retrained rows"));
    run.recovered_rows = kept ? static_cast<std::int64_t>(tokens.size()) : 0;
  }
  lm::save_gpt(out, model, {{"rebench.fix_embedding", "reference repair"}});
  run.final_train_loss = result.final_train_loss;
  run.val_loss = result.val_loss;
  run.seconds = result.seconds;
  run.tokens = result.tokens;
  run.device = device.str();
  return run;
}

}  // namespace rebench::fix_embedding
