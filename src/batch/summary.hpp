// The end of a batch: one record per run (what was done, how it ended, its final score), read
// back from the run directories, as JSON (`--json`, summary.json) and as a table; and the exit
// code (0 only when every run completed; invalid final scores are data, not failures).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "batch/plan.hpp"
#include "rebench/exit_code.hpp"
#include "rebench/json_file.hpp"

namespace rebench::batch {

/// What this invocation did with a run.
struct RunRecord {
  std::string action =
      "not started";             ///< skipped | started | resumed | submitted | busy | not started
  std::optional<int> exit_code;  ///< of the process that drove it, when known
  int signal = 0;                ///< that process was killed by this signal
  std::string log;               ///< its log file, when there is one
};

/// Builds the summary from `records` (one per plan run) and the runs' result.json files.
Json build_summary(const BatchPlan& plan, const std::vector<RunRecord>& records,
                   const std::string& backend, bool interrupted);

/// The summary as a table with a closing line of counts.
std::string format_summary(const Json& summary);

/// 0 when every run completed, 130 when the batch was interrupted, else kIncomplete.
ExitCode summary_exit_code(const Json& summary);

}  // namespace rebench::batch
