// Environment `fix_embedding`: declaration, provisioning (corrupted model, small model, training
// split, repair program; held-out windows and the permutation seed in private/) and scoring
// (architecture check, then the held-out loss). Scoring runs in the sandboxed worker, which runs
// rebench-lm for the model (model_ops.hpp); no agent code runs there: the submission is data,
// read by a validating safetensors reader before anything loads it.
#include "fix_embedding/fix_embedding.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fix_embedding/assets.hpp"
#include "fix_embedding/checkpoint_check.hpp"
#include "fix_embedding/model_ops.hpp"
#include "fix_embedding/settings.hpp"
#include "fix_embedding/task_files.hpp"
#include "rebench/build_config.hpp"
#include "rebench/errors.hpp"
#include "rebench/hardware.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/sha256.hpp"
#include "rebench/worker_phase.hpp"

namespace rebench {

namespace fs = std::filesystem;
using namespace fix_embedding;

namespace {

/// The c that puts a profile's clean loss where the paper's sits between c and the corrupted
/// loss: (clean − c) / (corrupted − c) = (2.55 − 1.5) / (10.5 − 1.5), the paper's clean, c and
/// corrupted losses. Our models are smaller, so their clean losses are higher; this keeps the
/// clean model's score as far from the starting score, in log space, as in the paper.
double paper_rule_offset(double clean, double corrupted) {
  const double r = (2.55 - 1.5) / (10.5 - 1.5);
  return (clean - r * corrupted) / (1.0 - r);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error("missing " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string substitute(std::string text, const std::string& key, const std::string& value) {
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
    text.replace(at, key.size(), value);
  return text;
}

std::string shell_words(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + ("'" + w + "'");
  return out;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

/// build.sh with this harness's toolchain filled in: the same compiler and libtorch the harness
/// was built with, which the agent's sandbox sees read-only.
std::string build_script(const std::string& tmpl) {
  const BuildConfig& config = build_config();
  if (!config.have_torch) throw Error("fix_embedding needs a rebench built with libtorch");
  std::vector<std::string> includes, flags = split(config.torch_cxx_flags, ' ');
  for (const std::string& dir : split(config.torch_include_dirs, ':'))
    includes.push_back("-I" + dir);
  std::vector<std::string> libs = {"-ltorch", "-ltorch_cpu", "-lc10"};
  if (config.torch_has_cuda) libs.insert(libs.end(), {"-ltorch_cuda", "-lc10_cuda"});
  std::string script = substitute(tmpl, "{{cxx}}", shell_words({config.cxx_compiler}));
  script = substitute(script, "{{torch_includes}}", shell_words(includes));
  script = substitute(script, "{{torch_flags}}", shell_words(flags));
  script = substitute(script, "{{torch_libdir}}", shell_words({config.torch_library_dir}));
  script = substitute(script, "{{torch_libs}}", shell_words(libs));
  return script;
}

std::string device_label(bool cuda) {
  if (!cuda) return "cpu (" + hardware_label() + ")";
  std::vector<GpuInfo> gpus = visible_gpus();
  return gpus.empty() ? std::string("cuda:0") : "cuda:0 (" + gpus.front().name + ")";
}

class FixEmbedding final : public Environment {
 public:
  FixEmbedding() : Environment(make_info()) {}

 private:
  static EnvironmentInfo make_info() {
    EnvironmentInfo info;
    info.id = "fix_embedding";
    info.title = "Fix embedding: repair a GPT whose token embedding rows were permuted";
    info.version = "1.0.0";
    info.summary =
        "A pretrained GPT's token embedding (tied with its output layer) had its rows randomly "
        "permuted, so its loss is near the uniform level. Using a smaller correct model of the "
        "same family, the training split and a C++/libtorch repair program, write "
        "solution/fixed_model.safetensors with exactly the same architecture and the lowest "
        "next-token loss on held-out text. excess_loss = held-out loss - c, with c chosen per "
        "profile from the clean model's loss (the paper's c = 1.5 at a clean loss of 2.55).";
    info.metric_name = "excess_loss";
    info.metric_unit = "nats/token";
    info.direction = Direction::kLowerIsBetter;
    info.selection = Selection::kBestValid;
    info.visibility = ScoreVisibility::kVisible;
    info.resources = {/*gpus=*/1, /*memory_gb=*/32.0, /*max_processes=*/1024};
    info.default_time_limit_s = 8 * 3600.0;
    info.score_timeout_s = 180.0;  // the original scorer's limit (secondary source)
    info.scorer_reads_private = true;
    // excess_loss = loss − c: the harness's transform cannot see the profile, so the profile's c
    // is subtracted by the scorer and the transform is the plain logarithm of what is left.
    info.transform = {"ln(loss-c)",
                      [](double excess) { return excess > 0 ? std::log(excess) : std::nan(""); }};
    return info;
  }

  fs::path folder() const { return environments_dir() / "fix_embedding"; }

  void do_provision(const ProvisionRequest& request) const override {
    const Settings s = settings_of(*request.profile);
    const Assets assets = load_assets(request.profile->name());
    const lm::GptConfig config = assets.config();
    const lm::GptConfig small_config = assets.plan.recipe("small").model;
    const HeldoutSet heldout = select_heldout(assets.corpus, s.heldout_windows, config.block_size);
    write_heldout(request.private_dir / kHeldoutFile, heldout);
    const double clean_loss =
        clean_heldout_loss(assets, heldout, request.private_dir / kHeldoutFile, s);

    // private/: the held-out windows, the permutation's seed and the clean loss.
    TaskRecord task;
    task.config = config;
    task.windows = heldout.windows;
    task.heldout_sha256 = heldout_sha256(heldout);
    task.permutation_seed = new_permutation_seed();
    task.clean_loss = clean_loss;
    task.provenance = assets.provenance();
    write_json_atomic(request.private_dir / kTaskFile, task.to_json());

    // home/: the corrupted and the small model, the training split, the repair program.
    const fs::path home = request.home;
    write_corrupted_model(assets.large.weights, home / "large_model_corrupted.safetensors",
                          permutation_from_seed(task.permutation_seed, config.vocab_size));
    copy_bytes(assets.small.weights, home / "small_model.safetensors");
    fs::create_directories(home / "data");
    const Json& train_split = assets.corpus.manifest().at("splits").at("train");
    const std::string train_file = train_split.value("file", std::string("train.bin"));
    copy_bytes(assets.corpus.dir() / train_file, home / "data" / "train.bin");
    const std::uint64_t train_tokens = assets.corpus.tokens(lm::Split::kTrain).size;
    Json data_manifest = {
        {"file", "train.bin"},
        {"format", "uint16 little-endian GPT-2 BPE token ids, documents separated by eot_token"},
        {"tokens", train_tokens},
        {"vocab_size", assets.corpus.vocab_size()},
        {"eot_token", assets.corpus.eot_token() ? Json(*assets.corpus.eot_token()) : Json()},
        {"split", "train"},
        {"corpus", assets.plan.corpus},
        {"corpus_manifest_sha256", assets.corpus.manifest_sha256()}};
    if (train_split.contains("sha256")) data_manifest["sha256"] = train_split["sha256"];
    write_json_atomic(home / "data" / "manifest.json", data_manifest);

    const fs::path solution = home / "solution";
    fs::create_directories(solution);
    copy_bytes(folder() / "solution" / "repair.cpp", solution / "repair.cpp");
    std::ofstream(solution / "build.sh")
        << build_script(read_text(folder() / "solution" / "build.sh"));
    fs::permissions(solution / "build.sh",
                    fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
    copy_bytes(home / "large_model_corrupted.safetensors", solution / kSubmissionFile);

    std::string text = read_text(folder() / "instructions.md");
    auto put = [&](const std::string& key, const std::string& value) {
      text = substitute(text, "{{" + key + "}}", value);
    };
    put("device", s.cuda ? "one NVIDIA GPU (CUDA)" : "the CPU");
    put("device_flag", s.cuda ? "cuda" : "cpu");
    put("n_layer", std::to_string(config.n_layer));
    put("n_head", std::to_string(config.n_head));
    put("n_embd", std::to_string(config.n_embd));
    put("block_size", std::to_string(config.block_size));
    put("vocab_size", std::to_string(config.vocab_size));
    put("params", fmt::format("{:.1f}M", config.parameter_count() / 1e6));
    put("small_n_layer", std::to_string(small_config.n_layer));
    put("small_n_head", std::to_string(small_config.n_head));
    put("small_n_embd", std::to_string(small_config.n_embd));
    put("small_params", fmt::format("{:.1f}M", small_config.parameter_count() / 1e6));
    put("clean_loss", fmt::format("{:.2f}", clean_loss));
    put("train_tokens", fmt::format("{:.1f}M", train_tokens / 1e6));
    put("windows", std::to_string(heldout.windows));
    put("heldout_tokens", std::to_string(heldout.windows * heldout.length));
    put("c", s.loss_offset_c ? fmt::format("{:g}", *s.loss_offset_c) : "(not chosen yet)");
    put("max_mb", fmt::format("{:.0f}", s.max_checkpoint_bytes / 1048576.0));
    put("weights_mb", fmt::format("{:.1f}", expected_data_bytes(config) / 1048576.0));
    put("score_timeout", fmt::format("{:.0f}", info().score_timeout_s));
    std::ofstream(home / "instructions.md") << text;
  }

  ScoreResult do_score(const ScoreRequest& request) const override {
    const Settings s = settings_of(*request.profile);
    report_phase("load");
    const fs::path task_file = request.private_dir / kTaskFile;
    const TaskRecord task = TaskRecord::from_json(read_json_file(task_file), task_file.string());
    const HeldoutSet heldout =
        read_heldout(request.private_dir / kHeldoutFile, task.windows, task.config.block_size);
    if (heldout_sha256(heldout) != task.heldout_sha256)
      throw Error("the held-out windows in private/ do not match their recorded sha256");
    const double c = s.loss_offset_c.value_or(std::nan(""));
    Json details = {{"c", s.loss_offset_c ? Json(c) : Json()},
                    {"clean_loss", task.clean_loss},
                    {"windows", task.windows},
                    {"tokens", task.windows * task.config.block_size},
                    {"provenance", task.provenance}};

    LossRequest loss_request;
    loss_request.checkpoint = request.solution / kSubmissionFile;
    loss_request.config = task.config;
    loss_request.heldout = request.private_dir / kHeldoutFile;
    loss_request.windows = task.windows;
    loss_request.max_bytes = s.max_checkpoint_bytes;
    loss_request.cuda = s.cuda;
    loss_request.batch = s.eval_batch;
    loss_request.work_dir = request.scratch;
    loss_request.report_phases = true;
    double loss = 0.0;
    try {
      loss = measure_heldout_loss(loss_request);  // reports the phases check and evaluate
    } catch (const Rejected& rejected) {
      details["phase"] = "check";
      return ScoreResult::invalid(rejected.what(), details);
    }
    details["loss"] = loss;
    if (!s.loss_offset_c)
      throw Error(fmt::format(
          "{}: /environments/fix_embedding/loss_offset_c is not chosen yet. On this profile the "
          "clean model's held-out loss is {:.4f} nats/token and this checkpoint's {:.4f}; if it "
          "is the corrupted starting model, the paper's rule gives c = {:.2f} (see "
          "environments/fix_embedding/README.md, \"The choice of c\")",
          s.profile_file, task.clean_loss, loss, paper_rule_offset(task.clean_loss, loss)));
    ScoreResult result;
    if (!std::isfinite(loss) || loss <= c) {
      result = ScoreResult::invalid(
          fmt::format("held-out loss {:.4f} is not above c = {:g}: outside the domain of "
                      "ln(loss - c)",
                      loss, c),
          details);
      result.device = {{"name", device_label(s.cuda)}};
      return result;
    }
    result.valid = true;
    result.raw = loss - c;
    result.metrics = {{"excess_loss", loss - c, "nats/token"},
                      {"loss", loss, "nats/token"},
                      {"clean_loss", task.clean_loss, "nats/token"}};
    result.message = fmt::format(
        "held-out loss {:.4f} nats/token over {} windows of {} tokens (the uncorrupted model: "
        "{:.4f}); score ln({:.4f} - {:g}) = {:.4f}",
        loss, task.windows, task.config.block_size, task.clean_loss, loss, c, std::log(loss - c));
    result.details = details;
    result.device = {{"name", device_label(s.cuda)}};
    return result;
  }

  void do_verify(const ScoreRequest& request, ScoreResult& result) const override {
    // No agent code runs in the worker (the submission is data), so its loss is trusted; the
    // harness still re-derives the raw value from it with its own copy of c.
    const Settings s = settings_of(*request.profile);
    const double loss = result.details.value("loss", std::nan(""));
    if (!s.loss_offset_c || !std::isfinite(loss) ||
        std::fabs(result.raw - (loss - *s.loss_offset_c)) > 1e-9) {
      result.valid = false;
      result.message =
          "verification failed: the worker's excess loss does not equal its loss "
          "minus this profile's c";
    }
  }

  fs::path do_reference_solution(const Profile& profile) const override {
    return reference_solution_folder(profile, settings_of(profile));
  }
};

}  // namespace

std::unique_ptr<Environment> make_fix_embedding() { return std::make_unique<FixEmbedding>(); }

}  // namespace rebench
