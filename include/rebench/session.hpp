// The run lifecycle: resolve → provision → baseline → session (agent or human in the sandbox,
// scoring through the door, deadline) → final score → result.json. Also `resume`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rebench/agent_spec.hpp"
#include "rebench/exit_code.hpp"
#include "rebench/json_file.hpp"
#include "rebench/registry.hpp"
#include "rebench/sandbox.hpp"

namespace rebench {

inline constexpr const char* kResultSchemaVersion = "1.0";

struct RunOptions {
  std::string environment_id;
  AgentSpec agent;
  double time_limit_s = 0;  ///< 0: the environment's default
  std::string profile;      ///< "": detected from the hardware
  std::string gpus = "auto";
  bool network = true;
  std::filesystem::path runs_dir = "runs";
  std::optional<std::uint64_t> seed;
  SandboxMode sandbox = SandboxMode::kBubblewrap;
  std::filesystem::path agent_dir;     ///< bound read-only at /opt/agent when set
  std::vector<std::string> pass_env;   ///< names of variables passed to the agent
  bool count_score_time = true;        ///< score calls count against the budget (as in the paper)
  std::filesystem::path anchors_file;  ///< "": configs/anchors.json
  double kill_grace_s = 1;             ///< SIGTERM → SIGKILL grace at the deadline [s]
  double score_timeout_s = 0;          ///< 0: the environment's limit
  std::vector<std::string> argv;
  std::string run_name;  ///< "": a fresh unique id; else the run directory's exact name (batch)
  std::string label;     ///< display label of the agent (batch suites; recorded for reports)
  std::string suite;     ///< the suite the run belongs to ("" outside `rebench batch`)
};

struct RunOutcome {
  std::filesystem::path run_dir;
  Json result;
  ExitCode exit_code = ExitCode::kOk;
};

/// Runs one environment end to end. Errors before the run directory exists throw; afterwards
/// every failure is recorded in the run directory and the result.
RunOutcome run_environment(const Registry& registry, const RunOptions& options);

/// Continues an interrupted run with the budget it had left; log and snapshots are kept.
/// `gpus` replaces the recorded GPU request when not empty (the GPUs free now may differ).
RunOutcome resume_run(const Registry& registry, const std::filesystem::path& run_dir,
                      const std::vector<std::string>& argv, const std::string& gpus = "");

/// The one-screen summary printed at the end of a run.
std::string summarize_result(const Json& result);

}  // namespace rebench
