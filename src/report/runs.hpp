// Finding and reading finished run directories for `rebench report`: result.json, run.json and
// the score log of each, with the environment's scoring rules as the run recorded them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rebench/environment.hpp"
#include "rebench/score_log.hpp"

namespace rebench::report {

struct LoadedRun {
  std::string run_id;
  std::filesystem::path dir;
  std::string environment;
  std::string environment_version;
  Direction direction = Direction::kLowerIsBetter;
  Selection selection = Selection::kBestValid;
  std::string agent_spec;  ///< result.json agent.spec
  std::string label;       ///< run.json options.label when a suite set one, else agent_spec
  bool self_test = false;
  std::string profile;
  std::string status;  ///< "completed" or "interrupted"
  double limit_s = 0.0;
  double used_s = 0.0;
  int score_calls = 0;  ///< agent (and replay) calls, not baseline/final
  int invalid_score_calls = 0;
  bool final_valid = false;
  std::string final_reason;
  /// Final normalised score clipped at 0 (the paper's rule); nullopt when the run had no anchors.
  std::optional<double> normalized_clipped;
  std::optional<double> normalized;
  /// Transformed starting/reference scores the run was normalised with (result.json anchors).
  std::optional<double> starting_score;
  std::optional<double> reference_score;
  std::vector<ScoreEntry> entries;
  bool torn_tail = false;

  [[nodiscard]] bool has_anchors() const { return starting_score && reference_score; }
};

struct RunScan {
  std::vector<LoadedRun> runs;     ///< sorted by environment, label, limit, run id
  std::vector<std::string> notes;  ///< what was skipped or repaired while reading
};

/// Reads every run under `paths`: a path is a run directory (it has result.json) or a folder
/// searched recursively for them. A folder holding run.json is a run directory and is never
/// searched further (its home/ is the agent's and may hold anything). A run directory without
/// result.json (still running, or crashed before the end) is skipped with a note. Throws
/// UsageError when a path does not exist or nothing is found, ConfigError for malformed files.
RunScan load_runs(const std::vector<std::filesystem::path>& paths);

/// Reads one run directory (which must hold run.json, result.json and score_log.jsonl).
LoadedRun load_run(const std::filesystem::path& dir);

}  // namespace rebench::report
