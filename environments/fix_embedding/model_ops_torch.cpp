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
  lm::save_gpt(out, model, {{"rebench.fix_embedding", "reference repair"}});
  run.final_train_loss = result.final_train_loss;
  run.val_loss = result.val_loss;
  run.seconds = result.seconds;
  run.tokens = result.tokens;
  run.device = device.str();
  return run;
}

}  // namespace rebench::fix_embedding
