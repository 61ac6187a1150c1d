// fix_embedding's rebench-lm subcommands (see torch_commands.hpp).
#include "fix_embedding/torch_commands.hpp"

#include <memory>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "fix_embedding/checkpoint_check.hpp"
#include "fix_embedding/model_ops_torch.hpp"
#include "fix_embedding/settings.hpp"
#include "fix_embedding/task_files.hpp"
#include "rebench/json_file.hpp"
#include "rebench/profile.hpp"
#include "rebench/worker_phase.hpp"

namespace rebench::fix_embedding {

namespace {

struct LossOptions {
  std::string checkpoint, config, heldout, device = "cpu", result;
  std::int64_t windows = 0, batch = 16;
  std::uint64_t max_bytes = 0;
  bool report_phases = false;
};

void run_loss(const LossOptions& o) {
  const lm::GptConfig config = lm::GptConfig::from_json(Json::parse(o.config), "--config");
  const HeldoutSet heldout = read_heldout(o.heldout, o.windows, config.block_size);
  Json result;
  try {
    // Phase markers reach the scoring worker's log (our stderr is its): a timeout says where.
    if (o.report_phases) report_phase("check");
    const lm::SafetensorsFile file =
        check_checkpoint(o.checkpoint, kSubmissionFile, config, o.max_bytes);
    if (o.report_phases) report_phase("evaluate");
    result["loss"] = heldout_loss(file, config, heldout, o.device == "cuda", o.batch);
  } catch (const Rejected& rejected) {
    result["rejected"] = rejected.what();
  }
  write_json_atomic(o.result, result);
}

struct ReferenceOptions {
  std::string corrupted, out, profile_file, corpus, result;
};

void run_reference(const ReferenceOptions& o) {
  const Profile profile = Profile::load(o.profile_file);
  const Settings settings = settings_of(profile);
  const lm::TokenCorpus corpus = lm::TokenCorpus::open(o.corpus);
  const ReferenceRun run =
      train_reference(o.corrupted, o.out, corpus, settings.reference, settings.cuda,
                      [](const std::string& line) { spdlog::info("{}", line); });
  write_json_atomic(o.result, {{"final_train_loss", run.final_train_loss},
                               {"val_loss", run.val_loss},
                               {"seconds", run.seconds},
                               {"tokens", run.tokens},
                               {"device", run.device}});
}

}  // namespace

void add_torch_commands(CLI::App& app) {
  auto loss = std::make_shared<LossOptions>();
  auto* l = app.add_subcommand("fix-embedding-loss",
                               "fix_embedding: check a checkpoint, then its held-out loss");
  l->add_option("--checkpoint", loss->checkpoint)->required();
  l->add_option("--config", loss->config, "The architecture it must have (JSON)")->required();
  l->add_option("--heldout", loss->heldout, "Held-out windows (private/heldout.bin)")->required();
  l->add_option("--windows", loss->windows)->required();
  l->add_option("--max-bytes", loss->max_bytes)->required();
  l->add_option("--device", loss->device)->check(CLI::IsMember({"cpu", "cuda"}));
  l->add_option("--batch", loss->batch);
  l->add_option("--result", loss->result, "JSON: {\"loss\"} or {\"rejected\"}")->required();
  l->add_flag("--report-phases", loss->report_phases, "Print the scoring worker's phase markers");
  l->callback([loss] { run_loss(*loss); });

  auto ref = std::make_shared<ReferenceOptions>();
  auto* r = app.add_subcommand("fix-embedding-reference",
                               "fix_embedding: train the reference repair of a corrupted model");
  r->add_option("--corrupted", ref->corrupted)->required();
  r->add_option("--out", ref->out)->required();
  r->add_option("--profile-file", ref->profile_file, "The profile (its recipe)")->required();
  r->add_option("--corpus", ref->corpus, "Prepared corpus folder")->required();
  r->add_option("--result", ref->result, "JSON: losses, seconds, tokens, device")->required();
  r->callback([ref] { run_reference(*ref); });
}

}  // namespace rebench::fix_embedding
