// The sandbox: bubblewrap around agent shells and scoring workers. A fresh root of tmpfs with
// read-only system folders, only the binds asked for, a new PID namespace (so every process dies
// with it), optional network namespace, pinned GPU device nodes, and resource limits.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench {

enum class SandboxMode { kBubblewrap, kNone };

struct Bind {
  std::filesystem::path source;
  std::filesystem::path target;
  bool writable = false;
};

struct SandboxLimits {
  double memory_gb = 0;    ///< 0: no limit; enforced by a cgroup when one can be made
  int max_processes = 0;   ///< 0: no limit; cgroup pids.max or RLIMIT_NPROC of the agent user
  double max_file_gb = 0;  ///< 0: no limit; RLIMIT_FSIZE
};

struct SandboxSpec {
  SandboxMode mode = SandboxMode::kBubblewrap;
  std::vector<Bind> binds;
  std::vector<std::string> environment;  ///< "NAME=VALUE"; nothing else is inherited
  std::filesystem::path workdir = "/home/agent";
  bool network = true;
  std::vector<int> gpus;  ///< host GPU indexes whose device nodes are bound
  SandboxLimits limits;
  std::vector<std::string> command;
  /// Run as an unprivileged user when started as root (uid/gid 65534), so that the sandbox's
  /// files on the host are not root's and process limits apply.
  bool drop_root = true;
  std::string cgroup_name;  ///< unique name for the limits cgroup ("" → derived from pid)
};

/// Where a process's standard streams go.
struct StdioPlan {
  std::filesystem::path stdout_file;  ///< empty: inherit
  std::filesystem::path stderr_file;  ///< empty: inherit
  bool stdin_null = true;             ///< false: inherit (interactive humans)
};

/// The uid the sandbox runs as when started by root (files it must write are chowned to it).
inline constexpr uid_t kSandboxUid = 65534;

/// "" when bubblewrap can make a sandbox here, else why not and how to fix it.
std::string bubblewrap_problem();

class SandboxedProcess {
 public:
  static SandboxedProcess start(const SandboxSpec& spec, const StdioPlan& stdio);

  SandboxedProcess(SandboxedProcess&& other) noexcept;
  SandboxedProcess& operator=(SandboxedProcess&&) = delete;
  SandboxedProcess(const SandboxedProcess&) = delete;
  ~SandboxedProcess();

  /// Exit status if it has ended (shell encoding: 128+signal when killed), without blocking.
  std::optional<int> poll();
  /// Waits up to `timeout_s` (<0: forever); nullopt on timeout.
  std::optional<int> wait(double timeout_s);
  /// SIGTERM to every process of the sandbox, `grace_s` to finish, then SIGKILL to all of them
  /// (the PID namespace, or the whole descendant tree without a sandbox). Returns the exit status.
  int terminate(double grace_s);
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Stops (true) or continues (false) every process of the sandbox (SIGSTOP / SIGCONT).
  void pause(bool stop) { signal_all(stop ? SIGSTOP : SIGCONT); }
  /// What enforces the limits ("cgroup v2", "cgroup v1", "rlimit", …) for the record.
  [[nodiscard]] Json limits_record() const { return limits_record_; }

 private:
  SandboxedProcess() = default;
  void signal_all(int signal);
  void cleanup_cgroup();
  pid_t pid_ = -1;             ///< bwrap (or the command without a sandbox)
  pid_t namespace_init_ = -1;  ///< PID 1 of the sandbox's PID namespace, seen from outside
  SandboxMode mode_ = SandboxMode::kBubblewrap;
  std::optional<int> status_;
  std::vector<std::filesystem::path> cgroups_;
  Json limits_record_ = Json::object();
  int status_fd_ = -1;        ///< read end of bwrap's --json-status-fd
  std::string namespace_id_;  ///< "pid:[inode]" of the sandbox's PID namespace, read at start
};

/// Makes `path` (recursively) writable by the sandbox user when running as root.
void give_to_sandbox_user(const std::filesystem::path& path);

}  // namespace rebench
