// Running child processes with a time limit and captured output (compilers, helpers).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rebench {

struct ProcessResult {
  int exit_code = -1;      ///< exit status when it exited normally, else -1
  int signal = 0;          ///< terminating signal, 0 if it exited
  bool timed_out = false;  ///< killed because it ran past the limit
  double duration_s = 0.0;
  std::string output;  ///< stdout+stderr (the last `max_output` bytes)
  [[nodiscard]] bool ok() const { return exit_code == 0 && !timed_out; }
  /// "exit code 2", "killed by SIGSEGV", "timed out after 30s".
  [[nodiscard]] std::string describe() const;
};

/// Runs argv[0] (searched in PATH) with stdout+stderr captured, in its own process group; on
/// timeout the whole group is killed. `timeout_s` <= 0 means no limit.
ProcessResult run_process(const std::vector<std::string>& argv, double timeout_s,
                          const std::filesystem::path& cwd = {},
                          std::size_t max_output = 64 * 1024);

/// Name of a signal, e.g. "SIGSEGV".
std::string signal_name(int signal);

}  // namespace rebench
