// Where a planned run stands on disk, so a batch can skip, resume or (re)start it; and the best
// score so far from its score log, for progress displays.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "rebench/environment.hpp"
#include "rebench/json_file.hpp"

namespace rebench::batch {

enum class RunState {
  kAbsent,     ///< no directory: start it
  kCompleted,  ///< result.json says completed: skip it
  kResumable,  ///< interrupted, or left running by a process that died: resume it
  kBusy,       ///< another live process holds its lock: leave it alone
  kStale,      ///< created but never started (no score log): remove and start again
};

std::string to_string(RunState state);

struct RunInspection {
  RunState state = RunState::kAbsent;
  std::string detail;  ///< one line for logs
  Json result;         ///< result.json when kCompleted, else null
};

/// Classifies `run_dir` by its files and its lock (`run.lock`, flock: free when no live holder).
RunInspection inspect_run(const std::filesystem::path& run_dir);

/// True when a live process holds the flock of `lock_file` (a missing file is not held).
bool lock_is_held(const std::filesystem::path& lock_file);

/// The score that counts so far (best or last valid, by the environment's rule) and the number
/// of entries, from a run's score log; nullopt score when none is valid or there is no log yet.
struct ScoreSoFar {
  std::optional<double> score;
  int entries = 0;
};
ScoreSoFar score_so_far(const std::filesystem::path& run_dir, const EnvironmentInfo& info);

}  // namespace rebench::batch
