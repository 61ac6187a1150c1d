// bubblewrap sandboxes: argv construction, start with limits, and whole-namespace termination.
#include "rebench/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "rebench/errors.hpp"
#include "rebench/hardware.hpp"
#include "rebench/process.hpp"
#include "rebench/time_util.hpp"

namespace rebench {

namespace fs = std::filesystem;

namespace {

std::string read_small_file(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void add_system_binds(std::vector<std::string>& argv) {
  argv.insert(argv.end(), {"--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"});
  for (const char* dir : {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}) {
    std::error_code ec;
    fs::file_status status = fs::symlink_status(dir, ec);
    if (ec || !fs::exists(status)) continue;
    if (fs::is_symlink(status)) {
      argv.insert(argv.end(), {"--symlink", fs::read_symlink(dir).string(), dir});
    } else {
      argv.insert(argv.end(), {"--ro-bind", dir, dir});
    }
  }
}

/// The cgroup v1 folder of `controller` that this process is in (e.g. a container's), so that
/// sandboxes nest inside it and its own limits still apply; the hierarchy root as a fallback.
fs::path own_v1_cgroup(const std::string& controller) {
  const fs::path root = fs::path("/sys/fs/cgroup") / controller;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // "N:controller[,controller…]:/path"
    std::size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    if (controllers.find("," + controller + ",") == std::string::npos) continue;
    fs::path own = root / fs::path(line.substr(second + 1)).relative_path();
    std::error_code ec;
    if (fs::is_directory(own, ec)) return own;
  }
  return root;
}

/// Creates a cgroup (v2, else v1 memory+pids) holding the limits; returns the folders to join.
std::vector<fs::path> make_cgroups(const std::string& name, const SandboxLimits& limits,
                                   Json& record) {
  std::vector<fs::path> made;
  if (::geteuid() != 0 || (limits.memory_gb <= 0 && limits.max_processes <= 0)) return made;
  const long long memory_bytes = static_cast<long long>(limits.memory_gb * (1ull << 30));
  auto write = [](const fs::path& file, const std::string& value) {
    std::ofstream out(file);
    out << value;
    out.flush();
    return static_cast<bool>(out);
  };
  // cgroup v2 (unified hierarchy at /sys/fs/cgroup).
  if (fs::exists("/sys/fs/cgroup/cgroup.subtree_control")) {
    fs::path group = fs::path("/sys/fs/cgroup") / name;
    std::error_code ec;
    ::rmdir(group.c_str());  // an empty group left by a crashed run of the same name (resume)
    write("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids");
    if (fs::create_directory(group, ec) && !ec) {
      bool ok = true;
      if (limits.memory_gb > 0) {
        ok &= write(group / "memory.max", std::to_string(memory_bytes));
        write(group / "memory.swap.max", "0");  // the limit must not spill into swap
      }
      if (limits.max_processes > 0)
        ok &= write(group / "pids.max", std::to_string(limits.max_processes));
      if (ok) {
        record["memory"] = record["processes"] = "cgroup v2";
        made.push_back(group);
        return made;
      }
      fs::remove(group, ec);
    }
  }
  // cgroup v1: separate memory and pids hierarchies.
  if (limits.memory_gb > 0 && fs::exists("/sys/fs/cgroup/memory/cgroup.procs")) {
    fs::path group = own_v1_cgroup("memory") / name;
    std::error_code ec;
    ::rmdir(group.c_str());
    if (fs::create_directory(group, ec) &&
        write(group / "memory.limit_in_bytes", std::to_string(memory_bytes))) {
      write(group / "memory.memsw.limit_in_bytes", std::to_string(memory_bytes));  // may not exist
      record["memory"] = "cgroup v1";
      made.push_back(group);
    }
  }
  if (limits.max_processes > 0 && fs::exists("/sys/fs/cgroup/pids/cgroup.procs")) {
    fs::path group = own_v1_cgroup("pids") / name;
    std::error_code ec;
    ::rmdir(group.c_str());
    if (fs::create_directory(group, ec) &&
        write(group / "pids.max", std::to_string(limits.max_processes))) {
      record["processes"] = "cgroup v1";
      made.push_back(group);
    }
  }
  return made;
}

std::vector<std::string> bwrap_argv(const SandboxSpec& spec, bool drop, int status_fd,
                                    bool interactive, bool nproc_by_user_limit) {
  std::vector<std::string> argv = {
      "bwrap",         "--die-with-parent",    "--unshare-pid", "--unshare-ipc",
      "--unshare-uts", "--unshare-cgroup-try", "--hostname",    "sandbox"};
  if (::geteuid() != 0) {
    argv.push_back("--unshare-user");  // unprivileged: a user namespace maps us to ourselves
  } else if (drop) {
    // Privileged bwrap (it can bind anything root can read) keeps only what setpriv needs to
    // drop to the sandbox user before the command starts; that user has no capabilities.
    argv.insert(argv.end(),
                {"--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"});
  }
  if (!spec.network) argv.push_back("--unshare-net");
  add_system_binds(argv);
  // Scratch space the sandbox user can write (sticky like on a normal system).
  argv.insert(argv.end(),
              {"--proc",  "/proc",   "--dev", "/dev",     "--perms", "1777",    "--tmpfs",
               "/tmp",    "--tmpfs", "/run",  "--tmpfs",  "/home",   "--tmpfs", "/var",
               "--perms", "1777",    "--dir", "/var/tmp", "--tmpfs", "/opt"});
  if (!spec.gpus.empty()) {
    argv.insert(argv.end(), {"--ro-bind", "/sys", "/sys"});
    for (const char* node :
         {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"})
      if (fs::exists(node)) argv.insert(argv.end(), {"--dev-bind", node, node});
    for (int gpu : spec.gpus) {
      std::string node = "/dev/nvidia" + std::to_string(gpu);
      if (fs::exists(node)) argv.insert(argv.end(), {"--dev-bind", node, node});
    }
  }
  // /etc/resolv.conf often points into /run (systemd-resolved), which is a fresh tmpfs here.
  std::error_code resolv_ec;
  fs::path resolv = fs::canonical("/etc/resolv.conf", resolv_ec);
  if (spec.network && !resolv_ec && resolv.string().rfind("/run/", 0) == 0)
    argv.insert(argv.end(), {"--ro-bind-try", resolv.string(), resolv.string()});
  // Parent folders of bind targets: created traversable, or the dropped user could not reach
  // what is bound below them (bwrap creates them 0700 otherwise).
  std::set<std::string> parents;
  for (const Bind& bind : spec.binds)
    for (fs::path p = bind.target.parent_path(); p.has_relative_path(); p = p.parent_path())
      parents.insert(p.string());
  for (const std::string& parent : parents)  // std::set orders "/a" before "/a/b"
    argv.insert(argv.end(), {"--perms", "0755", "--dir", parent});
  for (const Bind& bind : spec.binds)
    argv.insert(argv.end(), {bind.writable ? "--bind" : "--ro-bind", bind.source.string(),
                             bind.target.string()});
  argv.insert(argv.end(),
              {"--chdir", spec.workdir.string(), "--json-status-fd", std::to_string(status_fd)});
  // Humans keep their terminal; agents get a new session so they cannot inject keystrokes
  // (TIOCSTI) into the harness's terminal.
  if (!interactive) argv.push_back("--new-session");
  argv.push_back("--");
  if (drop) {
    // Only without a pids cgroup: a per-user limit is shared by every sandbox of this user.
    if (nproc_by_user_limit)
      argv.insert(argv.end(), {"/usr/bin/prlimit",
                               "--nproc=" + std::to_string(spec.limits.max_processes), "--"});
    const std::string id = std::to_string(kSandboxUid);
    argv.insert(argv.end(), {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups",
                             "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"});
  }
  argv.insert(argv.end(), spec.command.begin(), spec.command.end());
  return argv;
}

}  // namespace

std::string bubblewrap_problem() {
  // The probe uses the options rebench relies on (--perms needs bubblewrap >= 0.5).
  std::vector<std::string> probe_argv = {
      "bwrap", "--unshare-pid", "--ro-bind",  "/",       "/",        "--proc",
      "/proc", "--dev",         "/dev",       "--perms", "0755",     "--tmpfs",
      "/tmp",  "--dir",         "/tmp/probe", "--",      "/bin/true"};
  if (::geteuid() != 0) probe_argv.insert(probe_argv.begin() + 1, "--unshare-user");
  ProcessResult probe = run_process(probe_argv, 20);
  if (probe.ok() && ::geteuid() == 0) {
    for (const char* tool : {"/usr/bin/setpriv", "/usr/bin/prlimit"})
      if (::access(tool, X_OK) != 0)
        return std::string("the sandbox drops root with ") + tool +
               ", which is missing (install util-linux), or pass --sandbox none to run UNPROTECTED";
  }
  if (probe.ok()) return "";
  std::string why = probe.output.empty() ? probe.describe() : probe.output;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  return "bubblewrap cannot create a sandbox here (" + why +
         "). Fix: install it (apt-get install bubblewrap); in a container allow user and PID "
         "namespaces (e.g. docker run --privileged, or --security-opt seccomp=unconfined "
         "--security-opt apparmor=unconfined); on Ubuntu 24.04 as non-root, sysctl "
         "kernel.apparmor_restrict_unprivileged_userns=0. Or pass --sandbox none to run "
         "UNPROTECTED (the run records that it was unprotected).";
}

void give_to_sandbox_user(const fs::path& path) {
  if (::geteuid() != 0) return;  // unprivileged sandboxes run as us already
  auto own = [](const fs::path& p) { (void)!::lchown(p.c_str(), kSandboxUid, kSandboxUid); };
  own(path);
  std::error_code ec;
  if (fs::is_directory(path))
    for (auto it = fs::recursive_directory_iterator(path, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec))
      own(it->path());
}

SandboxedProcess SandboxedProcess::start(const SandboxSpec& spec, const StdioPlan& stdio) {
  if (spec.command.empty()) throw Error("sandbox: empty command");
  SandboxedProcess process;
  process.mode_ = spec.mode;
  const bool bubblewrap = spec.mode == SandboxMode::kBubblewrap;
  const bool drop = bubblewrap && spec.drop_root && ::geteuid() == 0;
  process.limits_record_ = {{"memory", "none"},
                            {"processes", "none"},
                            {"file_size", "none"},
                            {"uid", drop ? int(kSandboxUid) : int(::geteuid())}};
  std::string group_name = spec.cgroup_name.empty() ? "rebench-" + std::to_string(::getpid()) +
                                                          "-" + std::to_string(::time(nullptr))
                                                    : spec.cgroup_name;
  process.cgroups_ = make_cgroups(group_name, spec.limits, process.limits_record_);
  if (spec.limits.max_file_gb > 0) process.limits_record_["file_size"] = "rlimit";
  const bool nproc_rlimit = spec.limits.max_processes > 0 && ::geteuid() != 0 &&
                            process.limits_record_["processes"] == "none";
  if (drop && spec.limits.max_processes > 0 && process.limits_record_["processes"] == "none")
    process.limits_record_["processes"] = "rlimit (sandbox user)";
  if (nproc_rlimit) process.limits_record_["processes"] = "rlimit (per user)";
  const bool as_rlimit =
      spec.limits.memory_gb > 0 && spec.gpus.empty() && process.limits_record_["memory"] == "none";
  if (as_rlimit) process.limits_record_["memory"] = "rlimit (address space)";

  int status_pipe[2] = {-1, -1};
  if (bubblewrap && ::pipe2(status_pipe, O_CLOEXEC) != 0) throw Error("pipe failed");
  std::vector<std::string> argv =
      bubblewrap ? bwrap_argv(spec, drop, status_pipe[1], !stdio.stdin_null,
                              process.limits_record_["processes"] == "rlimit (sandbox user)")
                 : spec.command;
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env = spec.environment;
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // Resolve the executable before forking (execve does not search PATH).
  std::string executable = argv[0];
  if (executable.find('/') == std::string::npos) {
    ProcessResult which = run_process({"sh", "-c", "command -v " + executable}, 10);
    std::string found = which.output.substr(0, which.output.find('\n'));
    if (!which.ok() || found.empty()) throw Error("cannot find '" + executable + "' in PATH");
    executable = found;
  }

  pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (stdio.stdin_null) {
      ::setsid();  // no controlling terminal: Ctrl-C goes to the harness, not to the agent
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, STDIN_FILENO);
    }
    if (!stdio.stdout_file.empty()) {
      int fd = ::open(stdio.stdout_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) ::dup2(fd, STDOUT_FILENO);
    }
    if (!stdio.stderr_file.empty()) {
      int fd = ::open(stdio.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    }
    // Nothing of the harness leaks in: close every inherited descriptor (log files, sockets)
    // except stdio and bwrap's status pipe.
    for (int fd = 3; fd < 65536; ++fd)
      if (fd != status_pipe[1]) ::close(fd);
    if (status_pipe[1] >= 0) ::fcntl(status_pipe[1], F_SETFD, 0);  // bwrap writes here
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const fs::path& group : process.cgroups_) {
      std::ofstream procs(group / "cgroup.procs");
      procs << ::getpid();
    }
    rlimit core{0, 0};
    ::setrlimit(RLIMIT_CORE, &core);
    if (spec.limits.max_file_gb > 0) {
      rlim_t bytes = static_cast<rlim_t>(spec.limits.max_file_gb * (1ull << 30));
      rlimit fsize{bytes, bytes};
      ::setrlimit(RLIMIT_FSIZE, &fsize);
    }
    if (as_rlimit) {
      rlim_t bytes = static_cast<rlim_t>(spec.limits.memory_gb * (1ull << 30));
      rlimit as{bytes, bytes};
      ::setrlimit(RLIMIT_AS, &as);
    }
    if (nproc_rlimit) {
      rlimit nproc{rlim_t(spec.limits.max_processes), rlim_t(spec.limits.max_processes)};
      ::setrlimit(RLIMIT_NPROC, &nproc);
    }
    if (!bubblewrap && !spec.workdir.empty()) (void)!::chdir(spec.workdir.c_str());
    ::execve(executable.c_str(), args.data(), envp.data());
    std::string message = "cannot execute " + executable + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    _exit(127);
  }
  process.pid_ = pid;
  if (!bubblewrap) {
    process.namespace_init_ = pid;
    return process;
  }
  ::close(status_pipe[1]);
  // Read bwrap's status lines until it names the sandbox's PID 1 (or exits early on error).
  std::string buffer;
  char chunk[512];
  double deadline = monotonic_seconds() + 30;
  while (monotonic_seconds() < deadline) {
    pollfd ready{status_pipe[0], POLLIN, 0};
    if (::poll(&ready, 1, 200) <= 0) continue;
    ssize_t n = ::read(status_pipe[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    std::size_t at = buffer.find("\"child-pid\"");
    if (at != std::string::npos && buffer.find('\n', at) != std::string::npos) {
      std::size_t colon = buffer.find(':', at);
      process.namespace_init_ = static_cast<pid_t>(std::stol(buffer.substr(colon + 1)));
      // Remember which namespace it is now: a PID can be reused after the sandbox ends.
      std::error_code ec;
      process.namespace_id_ =
          fs::read_symlink(
              fs::path("/proc") / std::to_string(process.namespace_init_) / "ns" / "pid", ec)
              .string();
      break;
    }
  }
  // Keep the read end open: bwrap writes its exit-code line there when the sandbox ends, and a
  // closed pipe would kill it with SIGPIPE and hide the real exit status.
  process.status_fd_ = status_pipe[0];
  if (process.namespace_init_ <= 0) {
    process.wait(5);
    process.terminate(0);
    std::string err = stdio.stderr_file.empty() ? "" : read_small_file(stdio.stderr_file);
    throw Error("the sandbox did not start" + (err.empty() ? std::string() : ": " + err) + " — " +
                bubblewrap_problem());
  }
  return process;
}

SandboxedProcess::SandboxedProcess(SandboxedProcess&& other) noexcept
    : pid_(other.pid_),
      namespace_init_(other.namespace_init_),
      mode_(other.mode_),
      status_(other.status_),
      cgroups_(std::move(other.cgroups_)),
      limits_record_(std::move(other.limits_record_)),
      status_fd_(other.status_fd_),
      namespace_id_(std::move(other.namespace_id_)) {
  other.pid_ = -1;
  other.status_fd_ = -1;
  other.cgroups_.clear();
}

SandboxedProcess::~SandboxedProcess() {
  if (pid_ > 0 && !status_) terminate(0);
  cleanup_cgroup();
  if (status_fd_ >= 0) ::close(status_fd_);
}

std::optional<int> SandboxedProcess::poll() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return status_;
}

std::optional<int> SandboxedProcess::wait(double timeout_s) {
  const double deadline = monotonic_seconds() + timeout_s;
  while (!poll()) {
    if (timeout_s >= 0 && monotonic_seconds() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

void SandboxedProcess::signal_all(int signal) {
  std::vector<pid_t> targets;
  if (mode_ == SandboxMode::kBubblewrap) {
    // Every process whose PID namespace is the sandbox's: daemons and double forks included.
    // Compared with the namespace recorded at start, never re-derived from a PID that may have
    // been reused by an unrelated process.
    std::error_code ec;
    const std::string& ns = namespace_id_;
    if (!ns.empty()) {
      for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        std::string name = entry.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        std::error_code ignore;
        if (fs::read_symlink(entry.path() / "ns" / "pid", ignore).string() == ns)
          targets.push_back(static_cast<pid_t>(std::stol(name)));
      }
    }
    if (signal == SIGKILL && namespace_init_ > 0)
      targets.push_back(namespace_init_);  // ends the namespace
  } else {
    // No namespace: the descendant tree (the harness is a child subreaper, so orphans stay ours).
    std::vector<pid_t> frontier = {pid_};
    std::error_code ec;
    while (!frontier.empty()) {
      pid_t parent = frontier.back();
      frontier.pop_back();
      targets.push_back(parent);
      for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        std::string name = entry.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        std::string stat = read_small_file(entry.path() / "stat");
        std::size_t close = stat.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream fields(stat.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid == parent) frontier.push_back(static_cast<pid_t>(std::stol(name)));
      }
    }
  }
  for (pid_t target : targets) ::kill(target, signal);
}

int SandboxedProcess::terminate(double grace_s) {
  if (pid_ <= 0) return status_.value_or(-1);
  if (!poll()) {
    signal_all(SIGTERM);
    if (grace_s > 0) wait(grace_s);
  }
  // Whether or not the main process ended, nothing of the sandbox may survive it.
  for (int round = 0; round < 50; ++round) {
    signal_all(SIGKILL);
    if (mode_ == SandboxMode::kBubblewrap) ::kill(pid_, SIGKILL);
    if (wait(0.1)) break;
  }
  if (namespace_init_ > 0 && namespace_init_ != pid_) {
    int ignored = 0;  // PID 1 of the sandbox re-parents to us (child subreaper): reap it
    ::waitpid(namespace_init_, &ignored, WNOHANG);
  }
  for (const fs::path& group : cgroups_) {
    std::ifstream procs(group / "cgroup.procs");
    pid_t member = 0;
    while (procs >> member) ::kill(member, SIGKILL);
  }
  return status_.value_or(-1);
}

void SandboxedProcess::cleanup_cgroup() {
  for (const fs::path& group : cgroups_) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (::rmdir(group.c_str()) == 0 || errno == ENOENT) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  cgroups_.clear();
}

}  // namespace rebench
