// The local batch scheduler (see local_executor.hpp).
#include "batch/local_executor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "batch/signals.hpp"
#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "rebench/time_util.hpp"

extern char** environ;

namespace rebench::batch {

namespace fs = std::filesystem;

namespace {

struct Running {
  std::size_t index = 0;
  pid_t pid = -1;
  GpuLease lease;
  double started_s = 0;
};

/// Starts `command` with the lease's lock descriptors inherited (and named in the environment)
/// and a parent-death signal, in its own process group (a terminal's Ctrl-C reaches only the
/// batch, which forwards it once).
pid_t spawn(const ChildCommand& command, const GpuLease& lease) {
  if (command.argv.empty()) throw Error("batch: empty child command");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env;
  const std::string prefix = std::string(kGpuLeaseFdsVariable) + "=";
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) env.emplace_back(*e);
  if (!lease.gpus().empty()) {
    std::string list;
    for (std::size_t i = 0; i < lease.gpus().size(); ++i)
      list += fmt::format("{}{}={}", i ? "," : "", lease.gpus()[i], lease.lock_fds()[i]);
    env.push_back(prefix + list);
  }
  std::vector<char*> envp, argv;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command.argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  fs::create_directories(command.log_file.parent_path());
  int log_fd = ::open(command.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    throw Error("cannot open " + command.log_file.string() + ": " + std::strerror(errno));
  std::string header = fmt::format("== {} rebench batch: starting", utc_timestamp());
  for (const std::string& a : command.argv) header += " " + a;
  header += " ==\n";
  (void)!::write(log_fd, header.data(), header.size());
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const std::vector<int>& fds = lease.lock_fds();
  // A signal arriving between fork and exec would run the batch's handler in the child and be
  // lost: block them across fork; the child restores default handling before it unblocks.
  sigset_t stop_signals, previous_mask;
  sigemptyset(&stop_signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, s);
  ::sigprocmask(SIG_BLOCK, &stop_signals, &previous_mask);
  pid_t pid = ::fork();
  if (pid == 0) {
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::signal(s, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &previous_mask, nullptr);
  }
  if (pid != 0) ::sigprocmask(SIG_SETMASK, &previous_mask, nullptr);
  if (pid < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw Error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(130);  // the batch died before prctl took effect
    for (int fd : fds) ::fcntl(fd, F_SETFD, 0);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    const char message[] = "rebench batch: cannot execute the child command\n";
    (void)!::write(2, message, sizeof message - 1);
    _exit(127);
  }
  ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before any signal
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

}  // namespace

LocalReport run_local(const std::vector<Job>& jobs, const LocalConfig& config,
                      const LocalHooks& hooks) {
  const int parallel = std::max(1, config.parallel);
  for (const Job& job : jobs)
    if (job.gpus > static_cast<int>(config.available_gpus.size()))
      throw UsageError(fmt::format("a run needs {} GPU(s) but this batch may use only {}", job.gpus,
                                   config.available_gpus.size()));
  std::error_code ec;
  fs::create_directories(config.lock_dir, ec);
  if (ec) throw Error("cannot create GPU lock folder " + config.lock_dir.string());

  BatchSignals signals;
  LocalReport report;
  std::deque<Job> pending(jobs.begin(), jobs.end());
  std::vector<Running> running;
  std::optional<std::size_t> announced_wait;
  while (!pending.empty() || !running.empty()) {
    // Forward each signal the batch receives to the children (they end as `interrupted`).
    if (const int signal = BatchSignals::take(); signal != 0) {
      for (const Running& r : running) ::kill(r.pid, signal);
      if (hooks.interrupted) hooks.interrupted(signal);
    }
    if (BatchSignals::first() != 0) {
      for (const Job& job : pending) report.not_started.push_back(job.index);
      pending.clear();
    }
    while (!pending.empty() && static_cast<int>(running.size()) < parallel) {
      const Job job = pending.front();
      GpuLease lease;
      if (job.gpus > 0) {
        try {
          lease = GpuLease::acquire("auto", job.gpus, config.available_gpus, config.lock_dir);
        } catch (const Error&) {
          // Busy (this batch's other children, another batch, a manual run): wait, in order.
          if (announced_wait != job.index && hooks.waiting_for_gpus)
            hooks.waiting_for_gpus(job.index);
          announced_wait = job.index;
          break;
        }
      }
      pending.pop_front();
      Running r;
      r.index = job.index;
      r.pid = spawn(config.command(job.index, lease.gpus()), lease);
      r.lease = std::move(lease);
      r.started_s = monotonic_seconds();
      if (hooks.started) hooks.started(r.index, r.lease.gpus(), r.pid);
      running.push_back(std::move(r));
    }
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      pid_t done = ::waitpid(it->pid, &status, WNOHANG);
      if (done == 0 || (done < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      JobExit exit;
      exit.index = it->index;
      exit.gpus = it->lease.gpus();
      exit.duration_s = monotonic_seconds() - it->started_s;
      if (done > 0 && WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
      if (done > 0 && WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
      it = running.erase(it);  // the lease closes here: its GPUs are free for the next job
      report.exits.push_back(exit);
      if (hooks.finished) hooks.finished(exit);
    }
    if (hooks.tick) hooks.tick();
    if (!pending.empty() || !running.empty())
      std::this_thread::sleep_for(std::chrono::duration<double>(config.poll_s));
  }
  report.signal = BatchSignals::first();
  return report;
}

}  // namespace rebench::batch
