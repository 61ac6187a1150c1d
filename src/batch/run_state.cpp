// Run-directory inspection for batches (see run_state.hpp).
#include "batch/run_state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "rebench/errors.hpp"
#include "rebench/normalize.hpp"
#include "rebench/score_log.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

std::string to_string(RunState state) {
  switch (state) {
    case RunState::kAbsent:
      return "absent";
    case RunState::kCompleted:
      return "completed";
    case RunState::kResumable:
      return "resumable";
    case RunState::kBusy:
      return "busy";
    case RunState::kStale:
      return "stale";
  }
  return "?";
}

bool lock_is_held(const fs::path& lock_file) {
  int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // A shared probe: fails while an exclusive holder lives; released at once otherwise.
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

RunInspection inspect_run(const fs::path& dir) {
  RunInspection out;
  if (!fs::exists(dir)) return out;
  if (!fs::exists(dir / "run.json") || !fs::exists(dir / "score_log.jsonl")) {
    if (lock_is_held(dir / "run.lock")) {
      out.state = RunState::kBusy;
      out.detail = "being created by another rebench process";
      return out;
    }
    out.state = RunState::kStale;
    out.detail = "created but never started (no score log)";
    return out;
  }
  Json state = Json::object();
  try {
    if (fs::exists(dir / "state.json")) state = read_json_file(dir / "state.json");
  } catch (const Error&) {
    // Written atomically, so unreadable means damaged by hand: resume decides what to do.
  }
  const std::string status = state.value("status", "");
  if (status == "completed" && fs::exists(dir / "result.json")) {
    try {
      out.result = read_json_file(dir / "result.json");
      if (out.result.value("status", "") == "completed") {
        out.state = RunState::kCompleted;
        out.detail = "completed";
        return out;
      }
    } catch (const Error&) {
    }
  }
  // A completed run is final whoever holds its lock; anything else held is someone else's.
  if (lock_is_held(dir / "run.lock")) {
    out.state = RunState::kBusy;
    out.detail = "in use by another rebench process (lock " + (dir / "run.lock").string() + ")";
    return out;
  }
  out.state = RunState::kResumable;
  out.detail = status.empty() ? "never reached its session state" : "left " + status;
  return out;
}

ScoreSoFar score_so_far(const fs::path& run_dir, const EnvironmentInfo& info) {
  ScoreSoFar out;
  try {
    ScoreLogContents log = read_score_log(run_dir / "score_log.jsonl");
    out.entries = static_cast<int>(log.entries.size());
    if (auto chosen = select_final_entry(log.entries, info.selection, info.direction))
      out.score = log.entries[*chosen].score;
  } catch (const Error&) {
    // No log yet (provisioning) or a header being written: nothing to show.
  }
  return out;
}

}  // namespace rebench::batch
