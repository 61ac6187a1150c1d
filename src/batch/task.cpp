// Idempotent execution of one planned run (see task.hpp).
#include "batch/task.hpp"

#include <spdlog/spdlog.h>

#include "batch/run_state.hpp"
#include "rebench/errors.hpp"
#include "rebench/session.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

TaskOutcome execute_task(const Registry& registry, const BatchPlan& plan, std::size_t index,
                         const std::string& gpus, const std::vector<std::string>& argv) {
  if (index >= plan.runs.size())
    throw UsageError("task index " + std::to_string(index) + " is outside the plan (" +
                     std::to_string(plan.runs.size()) + " runs)");
  const fs::path dir = plan.run_dir(index);
  RunInspection inspection = inspect_run(dir);
  TaskOutcome outcome;
  outcome.run_dir = dir;
  switch (inspection.state) {
    case RunState::kCompleted:
      spdlog::info("{}: already completed, skipped", plan.runs[index].name);
      outcome.action = "skipped";
      outcome.result = inspection.result;
      outcome.exit_code =
          outcome.result["final"].value("valid", false) ? ExitCode::kOk : ExitCode::kScoringFailed;
      return outcome;
    case RunState::kBusy:
      throw Error(plan.runs[index].name + ": " + inspection.detail);
    case RunState::kResumable: {
      spdlog::info("{}: {}, resuming", plan.runs[index].name, inspection.detail);
      RunOutcome run = resume_run(registry, dir, argv, gpus);
      outcome.action = "resumed";
      outcome.result = run.result;
      outcome.exit_code = run.exit_code;
      return outcome;
    }
    case RunState::kStale:
      // Nothing was scored in it (the previous attempt died while provisioning): start afresh.
      spdlog::warn("{}: {}, starting it again", plan.runs[index].name, inspection.detail);
      fs::remove_all(dir);
      break;
    case RunState::kAbsent:
      break;
  }
  RunOptions options = plan.run_options(index, gpus);
  options.argv = argv;
  RunOutcome run = run_environment(registry, options);
  outcome.action = "started";
  outcome.result = run.result;
  outcome.exit_code = run.exit_code;
  return outcome;
}

}  // namespace rebench::batch
