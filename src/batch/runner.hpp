// `rebench batch SUITE`: expand the suite, freeze the plan, then run it here (local backend) or
// as a Slurm job array, and summarise. The CLI file only binds options to a BatchRequest.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "batch/slurm.hpp"
#include "rebench/exit_code.hpp"
#include "rebench/registry.hpp"

namespace rebench::batch {

struct BatchRequest {
  std::string suite;               ///< a file, or a name in configs/suites/
  std::string profile;             ///< overrides the suite's when not empty
  std::filesystem::path runs_dir;  ///< overrides the suite's when not empty
  std::string backend = "local";   ///< local | slurm
  int parallel = 0;  ///< local: concurrent runs (0: 1); slurm: array throttle `%N` (0: none)
  std::string gpus = "auto";  ///< local: the GPUs the batch may lease (auto: all visible)
  bool dry_run = false;
  bool json = false;
  bool wait = false;  ///< slurm: follow the job to its end
  SlurmOptions slurm;
  std::vector<std::string> argv;
};

/// Runs the whole batch; returns the process exit code (see summary_exit_code).
ExitCode run_batch(const Registry& registry, const BatchRequest& request);

/// Hard-links (or copies) this executable and its in-sandbox tools into <batch>/bin, so a
/// rebuild while the batch runs (or its Slurm tasks wait) changes nothing; returns the binary.
std::filesystem::path pin_batch_binary(const std::filesystem::path& batch_dir);

}  // namespace rebench::batch
