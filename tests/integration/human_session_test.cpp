// A human session driven through a pseudo-terminal: banner, `score` at the prompt, the deadline
// ending the shell, and a result that counts the human's work.
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "support/harness_runner.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

using testing::TempDir;

/// Reads from the pty until `needle` appears in the accumulated output or `timeout_s` passes.
bool read_until(int fd, std::string& output, const std::string& needle, double timeout_s) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(int(timeout_s * 1000));
  while (output.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return output.find(needle) != std::string::npos;
    output.append(buffer, static_cast<size_t>(n));
  }
  return true;
}

TEST(HumanSession, ScoresAtThePromptAndEndsAtTheDeadline) {
  TempDir dir;
  std::vector<std::string> args = {REBENCH_TEST_HARNESS, "run",
                                   "test_env",           "--human",
                                   "--profile",          "cpu",
                                   "--time-limit",       "8s",
                                   "--runs-dir",         dir.path().string(),
                                   "--anchors",          REBENCH_TEST_ANCHORS};
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("TERM", "dumb", 1);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  std::string output;
  ASSERT_TRUE(read_until(master, output, "Tools:", 30)) << output;
  ASSERT_TRUE(read_until(master, output, "$ ", 10)) << output;  // the shell's prompt
  const std::string command = "echo 3 > ~/solution/value.txt && score && time-left\n";
  ASSERT_EQ(::write(master, command.data(), command.size()), static_cast<ssize_t>(command.size()));
  EXPECT_TRUE(read_until(master, output, "entry 1: valid", 20)) << output;
  EXPECT_TRUE(read_until(master, output, "left (deadline", 10)) << output;
  EXPECT_TRUE(read_until(master, output, "session over (deadline)", 20)) << output;
  read_until(master, output, "run directory", 20);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  Json result = testing::result_of(testing::only_run(dir.path()));
  EXPECT_EQ(result["agent"]["spec"], "human");
  EXPECT_EQ(result["agent"]["ended_by"], "deadline");
  EXPECT_DOUBLE_EQ(result["final"]["raw"].get<double>(), 3.0);
  EXPECT_EQ(result["score_calls"], 1);
}

}  // namespace
}  // namespace rebench
