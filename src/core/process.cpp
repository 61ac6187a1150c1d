// Child processes with a time limit: fork/exec in a new process group, output through a pipe.
#include "rebench/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/time_util.hpp"

namespace rebench {

std::string signal_name(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

std::string ProcessResult::describe() const {
  if (timed_out) return fmt::format("timed out after {:.0f}s", duration_s);
  if (signal != 0) return "killed by " + signal_name(signal);
  return "exit code " + std::to_string(exit_code);
}

ProcessResult run_process(const std::vector<std::string>& argv, double timeout_s,
                          const std::filesystem::path& cwd, std::size_t max_output) {
  if (argv.empty()) throw Error("run_process: empty command");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  const double start = monotonic_seconds();
  pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(127);
    ::execvp(args[0], args.data());
    std::string message = "cannot execute " + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    _exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill
  ::close(pipe_fds[1]);

  ProcessResult result;
  bool open_pipe = true;
  while (open_pipe) {
    int wait_ms = -1;
    if (timeout_s > 0) {
      double left = timeout_s - (monotonic_seconds() - start);
      if (left <= 0) {
        result.timed_out = true;
        ::kill(-pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(left * 1000) + 1;
    }
    pollfd fd{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&fd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[8192];
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      open_pipe = false;
      break;
    }
    result.output.append(buffer, static_cast<std::size_t>(n));
    if (result.output.size() > 2 * max_output)
      result.output.erase(0, result.output.size() - max_output);
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL);  // leftovers of the group (daemonised helpers) die with it
  result.duration_s = monotonic_seconds() - start;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  if (result.output.size() > max_output) result.output.erase(0, result.output.size() - max_output);
  return result;
}

}  // namespace rebench
