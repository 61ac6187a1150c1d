// fix_embedding's model operations through rebench-lm (see model_ops.hpp).
#include "fix_embedding/model_ops.hpp"

#include <fmt/format.h>

#include "fix_embedding/checkpoint_check.hpp"
#include "rebench/profile.hpp"
#include "rebench/torch_tool.hpp"

namespace rebench::fix_embedding {

namespace fs = std::filesystem;

double measure_heldout_loss(const LossRequest& r) {
  std::vector<std::string> args = {
      "fix-embedding-loss",      "--checkpoint", r.checkpoint.string(),       "--config",
      r.config.to_json().dump(), "--heldout",    r.heldout.string(),          "--windows",
      std::to_string(r.windows), "--max-bytes",  std::to_string(r.max_bytes), "--device",
      r.cuda ? "cuda" : "cpu",   "--batch",      std::to_string(r.batch)};
  if (r.report_phases) args.push_back("--report-phases");
  const Json result = run_torch_tool_for_result(args, r.work_dir, "measuring the held-out loss");
  if (result.contains("rejected")) throw Rejected(result["rejected"].get<std::string>());
  return result.at("loss").get<double>();
}

ReferenceRun run_reference_repair(const fs::path& corrupted, const fs::path& out,
                                  const Profile& profile, const fs::path& corpus_dir,
                                  const fs::path& work_dir) {
  // The profile travels as a file: the recipe is whatever this (possibly user-given) profile says.
  fs::create_directories(work_dir);
  const fs::path profile_file = work_dir / (profile.name() + ".json");  // the name must match
  write_json_atomic(profile_file, profile.to_json());
  const Json result = run_torch_tool_for_result(
      {"fix-embedding-reference", "--corrupted", corrupted.string(), "--out", out.string(),
       "--profile-file", profile_file.string(), "--corpus", corpus_dir.string()},
      work_dir, "training the fix_embedding reference repair");
  std::error_code ec;
  fs::remove(profile_file, ec);
  ReferenceRun run;
  run.final_train_loss = result.at("final_train_loss").get<double>();
  run.val_loss = result.at("val_loss").get<double>();
  run.seconds = result.at("seconds").get<double>();
  run.tokens = result.at("tokens").get<std::int64_t>();
  run.device = result.at("device").get<std::string>();
  return run;
}

}  // namespace rebench::fix_embedding
