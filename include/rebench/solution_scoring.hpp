// Scoring a solution folder outside a session (for `check` and `calibrate`): the same snapshot,
// sandboxed worker and verification as in a run, in a throwaway work folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rebench/environment.hpp"
#include "rebench/sandbox.hpp"

namespace rebench {

class SolutionScorer {
 public:
  /// Provisions a fresh workspace into a temporary folder (for the starting solution and the
  /// private data) and pins the GPUs the environment needs.
  SolutionScorer(const Environment& environment, const Profile& profile, SandboxMode mode,
                 const std::vector<int>& gpus);
  ~SolutionScorer();
  SolutionScorer(const SolutionScorer&) = delete;
  SolutionScorer& operator=(const SolutionScorer&) = delete;

  [[nodiscard]] std::filesystem::path starting_solution() const;
  [[nodiscard]] std::filesystem::path reference_solution() const;
  /// Scores a folder (snapshot + worker + verify).
  ScoreResult score(const std::filesystem::path& solution);
  /// Limit of one scoring call [s]; default: the environment's.
  void set_timeout(double seconds) { timeout_s_ = seconds; }

 private:
  const Environment& environment_;
  const Profile& profile_;
  SandboxMode mode_;
  std::vector<int> gpus_;
  std::filesystem::path work_;
  int calls_ = 0;
  double timeout_s_ = 0;
};

}  // namespace rebench
