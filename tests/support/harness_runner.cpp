// Integration-test helpers (see harness_runner.hpp).
#include "support/harness_runner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace rebench::testing {

namespace fs = std::filesystem;

ProcessResult run_harness(const std::vector<std::string>& args, double timeout_s) {
  std::vector<std::string> argv = {REBENCH_TEST_HARNESS};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, timeout_s, {}, 256 * 1024);
}

pid_t start_process(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

fs::path only_run(const fs::path& runs_dir) {
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(runs_dir))
    if (entry.is_directory()) runs.push_back(entry.path());
  EXPECT_EQ(runs.size(), 1u) << "expected exactly one run directory in " << runs_dir;
  return runs.empty() ? fs::path() : runs.front();
}

Json result_of(const fs::path& run_dir) { return read_json_file(run_dir / "result.json"); }

std::vector<std::string> test_run_args(const fs::path& runs_dir, const std::string& agent,
                                       const std::string& time_limit) {
  return {"run",       "test_env",          "--profile", "cpu",        "--agent",
          agent,       "--time-limit",      time_limit,  "--runs-dir", runs_dir.string(),
          "--anchors", REBENCH_TEST_ANCHORS};
}

}  // namespace rebench::testing
