// Helpers for integration tests that run the test harness binary as a subprocess.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"
#include "rebench/process.hpp"

namespace rebench::testing {

/// Runs the test harness (rebench CLI + test_env) with `args`.
ProcessResult run_harness(const std::vector<std::string>& args, double timeout_s = 120);

/// Starts `argv` (argv[0] is a path) as a child without waiting, for tests that signal it or
/// change files while it runs; the caller waits with waitpid.
pid_t start_process(const std::vector<std::string>& argv);

/// The single run directory under `runs_dir` (fails the test if there is not exactly one).
std::filesystem::path only_run(const std::filesystem::path& runs_dir);

/// result.json of a run directory.
Json result_of(const std::filesystem::path& run_dir);

/// Arguments of a CPU run of test_env with the test anchors: {"run", "test_env", …}.
std::vector<std::string> test_run_args(const std::filesystem::path& runs_dir,
                                       const std::string& agent, const std::string& time_limit);

}  // namespace rebench::testing
