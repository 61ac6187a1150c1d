// Process exit codes of the rebench executable: one documented table (README "Exit codes").
#pragma once

namespace rebench {

enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,            ///< a bug or an unexpected system failure
  kUsage = 2,               ///< bad command line or malformed configuration
  kUnknownEnvironment = 3,  ///< the environment id is not registered
  kScoringFailed = 4,       ///< a score could not be produced, or a run ended without a valid score
  kAnchorCheckFailed = 5,   ///< `check` found starting/reference outside tolerance
  kIncomplete = 6,          ///< `batch`: some runs did not complete (failed, busy, not started)
  kBelowThreshold = 7,      ///< `report --fail-under`: a mean normalised score is below the bar
  kInterrupted = 130,       ///< Ctrl-C / SIGTERM
};

inline int to_int(ExitCode code) { return static_cast<int>(code); }

}  // namespace rebench
