// One run of a plan, executed idempotently in this process: skipped when it completed, resumed
// when it was interrupted, (re)started otherwise. What `rebench batch-task` does, both as a child
// of a local batch and as a Slurm array task.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "batch/plan.hpp"
#include "rebench/exit_code.hpp"
#include "rebench/json_file.hpp"
#include "rebench/registry.hpp"

namespace rebench::batch {

struct TaskOutcome {
  std::string action;  ///< "skipped", "resumed" or "started"
  std::filesystem::path run_dir;
  Json result;  ///< result.json of the run
  ExitCode exit_code = ExitCode::kOk;
};

/// Executes run `index` of `plan`. `gpus` is the GPU request ("" = auto); a parent that leased
/// them passes the locks down (kGpuLeaseFdsVariable). Throws Error when the run is busy elsewhere
/// or cannot start.
TaskOutcome execute_task(const Registry& registry, const BatchPlan& plan, std::size_t index,
                         const std::string& gpus, const std::vector<std::string>& argv);

}  // namespace rebench::batch
