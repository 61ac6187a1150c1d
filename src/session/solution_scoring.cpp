// SolutionScorer: a throwaway workspace to score starting/reference/other solution folders.
#include "rebench/solution_scoring.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/profile.hpp"
#include "rebench/scoring_worker.hpp"
#include "rebench/snapshot.hpp"

namespace rebench {

namespace fs = std::filesystem;

SolutionScorer::SolutionScorer(const Environment& environment, const Profile& profile,
                               SandboxMode mode, const std::vector<int>& gpus)
    : environment_(environment), profile_(profile), mode_(mode), gpus_(gpus) {
  std::string pattern = (fs::temp_directory_path() / "rebench-score-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temporary folder");
  work_ = pattern;
  ::chmod(work_.c_str(), 0755);
  for (const char* sub : {"home", "private", "snapshots", "scratch", "calls"})
    fs::create_directories(work_ / sub);
  environment_.provision({work_ / "home", work_ / "private", &profile_});
}

SolutionScorer::~SolutionScorer() { remove_tree(work_); }

fs::path SolutionScorer::starting_solution() const { return work_ / "home" / "solution"; }

fs::path SolutionScorer::reference_solution() const {
  return environment_.reference_solution(profile_);
}

ScoreResult SolutionScorer::score(const fs::path& solution) {
  ScoringCall call;
  try {
    Snapshot snapshot = take_snapshot(solution, work_ / "snapshots", 1ull << 30);
    call.snapshot = snapshot.folder;
  } catch (const Error& e) {
    return ScoreResult::invalid(e.what());
  }
  const int index = calls_++;
  call.environment = &environment_;
  call.profile = &profile_;
  call.private_dir = work_ / "private";
  call.scratch = work_ / "scratch";
  call.call_dir = work_ / "calls" / fmt::format("call-{:04d}", index);
  call.log_file = work_ / "calls" / fmt::format("call-{:04d}.log", index);
  call.seed = fresh_seed();
  call.timeout_s = timeout_s_ > 0 ? timeout_s_ : environment_.info().score_timeout_s;
  call.gpus = gpus_;
  call.mode = mode_;
  return score_in_worker(call);
}

}  // namespace rebench
