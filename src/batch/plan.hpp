// A batch plan: a suite expanded into its list of runs, each with a deterministic directory name
// and seed (so a second invocation finds the same runs), frozen to <runs>/<suite>.batch/plan.json
// for the processes that execute it (local children, Slurm array tasks).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "batch/suite.hpp"
#include "rebench/profile.hpp"
#include "rebench/registry.hpp"
#include "rebench/session.hpp"

namespace rebench::batch {

inline constexpr const char* kPlanFormat = "rebench-batch-plan";
inline constexpr int kPlanVersion = 1;

struct PlannedRun {
  std::string name;  ///< run directory name under the runs directory
  std::string environment;
  std::string agent_spec;
  std::string label;
  std::filesystem::path agent_dir;
  std::vector<std::string> pass_env;
  double time_limit_s = 0;
  int repeat = 1;  ///< 1-based
  std::uint64_t seed = 0;
  int gpus = 0;          ///< GPUs pinned to the run (0 on CPU profiles)
  double memory_gb = 0;  ///< the environment's sandbox memory limit
};

struct BatchPlan {
  std::string suite;
  std::string suite_file;
  std::string profile;
  std::filesystem::path runs_dir;  ///< absolute
  RunSettings settings;
  std::vector<PlannedRun> runs;

  /// <runs_dir>/<suite>.batch: plan.json, logs/, summary.json, bin/, slurm/.
  [[nodiscard]] std::filesystem::path batch_dir() const;
  [[nodiscard]] std::filesystem::path plan_file() const { return batch_dir() / "plan.json"; }
  [[nodiscard]] std::filesystem::path run_dir(std::size_t index) const;
  /// The options `rebench run` would get for run `index` (GPU request: `gpus`).
  [[nodiscard]] RunOptions run_options(std::size_t index, const std::string& gpus) const;
  [[nodiscard]] Json to_json() const;
  /// Reads a plan file written by write_plan (ConfigError naming the file on a bad one).
  static BatchPlan load(const std::filesystem::path& file);
};

/// Expands `suite` in a fixed order (block, environment, agent, time limit, repeat). `profile`
/// decides how many GPUs each run pins; `runs_dir` overrides the suite's when not empty.
/// Throws ConfigError when two runs would share a directory name.
BatchPlan expand_suite(const Suite& suite, const Registry& registry, const Profile& profile,
                       const std::filesystem::path& runs_dir = {});

/// "<suite>-<environment>-<label>-<limit>-r<repeat>", e.g. "smoke-optimize_kernel-noop-30m-r1".
std::string run_name(const std::string& suite, const std::string& environment,
                     const std::string& label, double time_limit_s, int repeat);
/// A compact duration for names: "45s", "30m", "8h", "1h30m", "2m05s".
std::string duration_tag(double seconds);
/// The seed of one run: a hash of the suite's base seed and the run name.
std::uint64_t derive_seed(std::uint64_t base, const std::string& run_name);

/// Writes the plan atomically to plan.plan_file() (creating the batch folder).
void write_plan(const BatchPlan& plan);

}  // namespace rebench::batch
