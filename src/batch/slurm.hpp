// The Slurm backend: a plan's runs as one job array (one run per task, each task running
// `rebench batch-task PLAN INDEX`, idempotent), submitted with sbatch and followed with squeue.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "batch/plan.hpp"

namespace rebench::batch {

struct SlurmOptions {
  std::string partition;
  std::string account;
  std::vector<std::string> sbatch_args;  ///< passed through, after rebench's own
  double margin_s =
      15 * 60;            ///< added to the longest time limit: provisioning, baseline, final score
  int cpus_per_task = 0;  ///< 0: the cluster's default
  int parallel = 0;       ///< at most this many tasks at once (`%N`); 0: no limit
  double poll_s = 2;
};

/// A submitted array: plan indexes that became tasks (array index = plan index).
struct SlurmJob {
  std::string job_id;
  std::vector<std::size_t> indexes;
  std::filesystem::path script;
  std::filesystem::path logs;  ///< <batch>/slurm/logs, one `<job>_<index>.out` per task
  std::vector<std::string> sbatch_argv;
  [[nodiscard]] std::filesystem::path log_of(std::size_t index) const;
  [[nodiscard]] Json to_json() const;
};

/// "0-3,5,7-8%2": sorted indexes as ranges, with an optional throttle.
std::string array_spec(std::vector<std::size_t> indexes, int parallel);
/// Slurm's "D-HH:MM:SS", rounded up to whole minutes.
std::string slurm_time(double seconds);

/// The sbatch command line for `indexes` of `plan` (`script` last). Throws UsageError when the
/// plan's runs cannot share one array (no runs).
std::vector<std::string> sbatch_command(const BatchPlan& plan,
                                        const std::vector<std::size_t>& indexes,
                                        const SlurmOptions& options,
                                        const std::filesystem::path& script);

/// The job script: runs `binary batch-task PLAN $SLURM_ARRAY_TASK_ID`.
std::string job_script(const BatchPlan& plan, const std::filesystem::path& binary);

/// Writes the script, submits the array and records it in <batch>/slurm/job.json. Throws Error
/// with a clear message when sbatch is missing or fails.
SlurmJob submit_array(const BatchPlan& plan, const std::vector<std::size_t>& indexes,
                      const SlurmOptions& options, const std::filesystem::path& binary);

/// The job recorded by the last submission for this plan, if any.
std::optional<SlurmJob> last_job(const BatchPlan& plan);

/// States of the job's tasks still known to squeue (array index → PENDING, RUNNING, …); empty
/// when none is left. nullopt when squeue failed for another reason (retry later).
std::optional<std::map<std::size_t, std::string>> active_tasks(const std::string& job_id);

/// The first executable called `name` on PATH, or "" when there is none.
std::filesystem::path find_in_path(const std::string& name);

}  // namespace rebench::batch
