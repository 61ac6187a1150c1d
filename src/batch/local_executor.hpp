// Runs a batch's jobs on this host: at most `parallel` child processes at a time, each with GPUs
// leased exclusively for it (one flock per device, shared with no other batch or run), handed
// down to the child as inherited lock descriptors. Children die with the batch (parent-death
// signal), so a killed batch frees its GPUs; Ctrl-C is forwarded and the batch waits for them.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace rebench::batch {

/// One unit of work: a plan index and how many GPUs it pins.
struct Job {
  std::size_t index = 0;
  int gpus = 0;
};

/// The process to start for a job once its GPUs are leased.
struct ChildCommand {
  std::vector<std::string> argv;   ///< argv[0] is a path
  std::filesystem::path log_file;  ///< stdout and stderr, appended
};

struct JobExit {
  std::size_t index = 0;
  int exit_code = -1;  ///< -1 when killed by a signal
  int signal = 0;
  double duration_s = 0;
  std::vector<int> gpus;
};

struct LocalConfig {
  int parallel = 1;
  std::vector<int> available_gpus;  ///< device indexes this batch may lease
  std::filesystem::path lock_dir;   ///< where the per-device lock files live
  double poll_s = 0.1;
  std::function<ChildCommand(std::size_t index, const std::vector<int>& gpus)> command;
};

/// Progress callbacks, all called from the thread that runs the batch.
struct LocalHooks {
  std::function<void(std::size_t index, const std::vector<int>& gpus, pid_t pid)> started;
  std::function<void(std::size_t index)> waiting_for_gpus;  ///< once per wait
  std::function<void(const JobExit& exit)> finished;
  std::function<void(int signal)> interrupted;  ///< each signal received
  std::function<void()> tick;                   ///< every poll
};

struct LocalReport {
  std::vector<JobExit> exits;            ///< in completion order
  std::vector<std::size_t> not_started;  ///< left when interrupted
  int signal = 0;                        ///< the first signal received, 0 if none
};

/// Runs `jobs` in order (a job waits until its GPUs are free: no overtaking, so large jobs are
/// not starved). UsageError upfront when a job needs more GPUs than `available_gpus` holds.
LocalReport run_local(const std::vector<Job>& jobs, const LocalConfig& config,
                      const LocalHooks& hooks);

}  // namespace rebench::batch
