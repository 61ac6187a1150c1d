// The scoring worker: harness side (sandbox, time limit, classification of failures, verify)
// and worker side (score, write the result).
#include "rebench/scoring_worker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "rebench/build_config.hpp"
#include "rebench/errors.hpp"
#include "rebench/hardware.hpp"
#include "rebench/paths.hpp"
#include "rebench/process.hpp"
#include "rebench/profile.hpp"
#include "rebench/time_util.hpp"
#include "rebench/torch_tool.hpp"
#include "rebench/worker_phase.hpp"

namespace rebench {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWorkerBinary = "/opt/rebench/bin/rebench";
constexpr const char* kWorkerTorchTool = "/opt/rebench/bin/rebench-lm";

/// The last `bytes` of a file, read from its end (the file can be huge).
std::string tail_of(const fs::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(bytes) ? size - bytes : 0;
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

/// Reads the worker's result file, which agent code could have replaced: a regular file only
/// (no FIFO, device or link), opened without blocking, at most 16 MiB.
Json read_result_file(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open the result file");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
    ::close(fd);
    throw Error("the result file is not a regular file of at most 16 MiB");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) throw Error("the result file could not be read");
  return Json::parse(text);
}

std::string without_phase_markers(const std::string& text) {
  std::istringstream lines(text);
  std::string line, out;
  while (std::getline(lines, line))
    if (line.rfind(kPhaseMarker, 0) != 0) out += line + "\n";
  return out;
}

}  // namespace

std::vector<fs::path> toolchain_folders() {
  const BuildConfig& config = build_config();
  std::vector<fs::path> folders;
  auto add = [&](const std::string& path) {
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec)) return;
    fs::path folder = fs::canonical(path, ec);  // /lib/… is /usr/lib/… on merged-/usr systems
    if (ec || folder.string().rfind("/usr/", 0) == 0) return;
    folders.push_back(folder);
  };
  std::stringstream includes(config.torch_include_dirs);
  std::string dir;
  while (std::getline(includes, dir, ':')) add(dir);
  add(config.torch_library_dir);
  // A pip-installed PyTorch loads the CUDA libraries of sibling packages (site-packages/nvidia/…)
  // through relative RPATHs: bind the whole site-packages folder that holds torch.
  if (!config.torch_library_dir.empty()) {
    fs::path torch_package = fs::path(config.torch_library_dir).parent_path();
    if (torch_package.filename() == "torch") add(torch_package.parent_path().string());
  }
  // Compilers installed outside /usr (e.g. a GCC under /opt/gcc) come with their whole prefix.
  for (const std::string& compiler : {config.cxx_compiler, config.cuda_compiler})
    if (!compiler.empty()) {
      std::error_code ec;
      fs::path real = fs::canonical(compiler, ec);
      if (!ec) add(real.parent_path().parent_path().string());
    }
  // Shared libraries of the worker binary that live outside /usr (e.g. dependencies unpacked
  // under /opt on a machine without a package registry).
  // rebench-lm (the worker's libtorch side) brings libtorch's dependencies.
  static const std::vector<std::string> library_dirs = [] {
    std::vector<std::string> dirs;
    std::vector<fs::path> binaries = {worker_executable()};
    if (auto tool = worker_torch_tool()) binaries.push_back(*tool);
    for (const fs::path& binary : binaries) {
      ProcessResult ldd = run_process({"ldd", binary.string()}, 30);
      std::istringstream lines(ldd.output);
      std::string line;
      while (std::getline(lines, line)) {
        std::size_t arrow = line.find("=> /");
        if (arrow == std::string::npos) continue;
        std::string lib = line.substr(arrow + 3, line.find(" (", arrow) - arrow - 3);
        dirs.push_back(fs::path(lib).parent_path().string());
      }
    }
    return dirs;
  }();
  for (const std::string& dir : library_dirs) add(dir);
  std::sort(folders.begin(), folders.end());
  folders.erase(std::unique(folders.begin(), folders.end()), folders.end());
  return folders;
}

namespace {
std::filesystem::path& worker_executable_override() {
  static std::filesystem::path path;
  return path;
}
}  // namespace

void set_worker_executable(const fs::path& executable) {
  worker_executable_override() = executable;
}

fs::path worker_executable() {
  return worker_executable_override().empty() ? self_executable() : worker_executable_override();
}

std::optional<fs::path> worker_torch_tool() {
  std::error_code ec;
  const fs::path tool = fs::canonical(worker_executable().parent_path() / kTorchToolName, ec);
  if (ec || !fs::is_regular_file(tool, ec)) return std::nullopt;
  return tool;
}

std::uint64_t fresh_seed() {
  std::uint64_t seed = 0;
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(&seed), sizeof seed);
  if (!urandom) throw Error("cannot read /dev/urandom");
  return seed;
}

ScoreResult score_in_worker(const ScoringCall& call) {
  const Environment& env = *call.environment;
  fs::create_directories(call.call_dir);
  fs::create_directories(call.scratch);
  // A fresh call folder: nothing left by an earlier (crashed) call can pass for this result.
  std::error_code stale;
  fs::remove_all(call.call_dir, stale);
  fs::create_directories(call.call_dir);
  const std::string profile_file = call.profile->name() + ".json";
  write_json_atomic(call.call_dir / profile_file, call.profile->to_json());
  // The worker runs as the sandbox user, and private/ is the harness's alone (mode 0700): a
  // scorer that reads it gets a copy for this call, removed when the call ends.
  fs::path private_view = call.private_dir;
  const bool copy_private =
      env.info().scorer_reads_private && ::geteuid() == 0 && call.mode == SandboxMode::kBubblewrap;
  if (copy_private) {
    private_view = call.call_dir / "private";
    std::error_code ec;
    fs::copy(call.private_dir, private_view, fs::copy_options::recursive, ec);
    if (ec) {
      fs::remove_all(private_view, ec);
      return ScoreResult::invalid(
          "the scoring call could not be prepared: copying private/ failed: " + ec.message());
    }
  }
  struct RemoveCopy {
    fs::path dir;
    ~RemoveCopy() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } remove_copy{copy_private ? private_view : fs::path()};
  give_to_sandbox_user(call.call_dir);
  give_to_sandbox_user(call.scratch);

  const bool sandboxed = call.mode == SandboxMode::kBubblewrap;
  auto inside = [&](const fs::path& host, const char* sandbox_path) {
    return sandboxed ? fs::path(sandbox_path) : host;
  };
  std::vector<std::string> command = {
      sandboxed ? kWorkerBinary : worker_executable().string(),
      "score-worker",
      "--env",
      env.info().id,
      "--profile-file",
      (inside(call.call_dir, "/rebench/call") / profile_file).string(),
      "--solution",
      inside(call.snapshot, "/rebench/solution").string(),
      "--scratch",
      inside(call.scratch, "/rebench/scratch").string(),
      "--seed",
      std::to_string(call.seed),
      "--result",
      (inside(call.call_dir, "/rebench/call") / "result.json").string()};
  SandboxSpec spec;
  spec.mode = call.mode;
  spec.network = false;
  spec.gpus = call.gpus;
  spec.workdir = sandboxed ? fs::path("/rebench/call") : call.call_dir;
  // rebench-lm next to the worker binary, where the worker looks for it (torch_tool.hpp).
  if (auto tool = worker_torch_tool())
    spec.binds.push_back({*tool, sandboxed ? fs::path(kWorkerTorchTool) : *tool, false});
  spec.binds.insert(spec.binds.begin(), {{worker_executable(), kWorkerBinary, false},
                                         {call.snapshot, "/rebench/solution", false},
                                         {call.scratch, "/rebench/scratch", true},
                                         {call.call_dir, "/rebench/call", true}});
  if (env.info().scorer_reads_private) {
    spec.binds.push_back({private_view, "/rebench/private", false});
    command.insert(command.end(),
                   {"--private", inside(call.private_dir, "/rebench/private").string()});
  }
  for (const fs::path& folder : toolchain_folders()) spec.binds.push_back({folder, folder, false});
  spec.command = command;
  std::string path_var = "PATH=/usr/local/cuda/bin:/usr/local/bin:/usr/bin:/bin";
  if (!build_config().cuda_compiler.empty())
    path_var = "PATH=" + fs::path(build_config().cuda_compiler).parent_path().string() +
               ":/usr/local/bin:/usr/bin:/bin";
  // Inside the sandbox the worker has no view of the repository; unsandboxed it must find it.
  spec.environment = {
      path_var,
      "HOME=/tmp",
      "TMPDIR=/tmp",
      "LANG=C.UTF-8",
      "REBENCH_CACHE=/tmp/cache",
      "REBENCH_ROOT=" + (sandboxed ? std::string("/nonexistent") : data_root().string())};
  if (!call.gpus.empty()) {
    std::string ids;
    for (const GpuInfo& gpu : visible_gpus())
      for (int index : call.gpus)
        if (gpu.index == index) ids += (ids.empty() ? "" : ",") + gpu.uuid;
    spec.environment.push_back("CUDA_VISIBLE_DEVICES=" + ids);
  } else {
    spec.environment.push_back("CUDA_VISIBLE_DEVICES=");
  }
  // The worker runs agent code: it gets the environment's memory and process limits too.
  spec.limits = {env.info().resources.memory_gb, env.info().resources.max_processes, 64.0};
  spec.cgroup_name = "rebench-worker-" + fs::path(call.call_dir).filename().string() + "-" +
                     std::to_string(::getpid());

  ScoreResult result;
  std::optional<int> status;
  bool timed_out = false;
  try {
    SandboxedProcess worker = SandboxedProcess::start(spec, {call.log_file, call.log_file, true});
    const double deadline = monotonic_seconds() + call.timeout_s;
    while (!(status = worker.wait(0.05))) {
      if (call.cancel != nullptr && call.cancel->load() != 0) {  // Ctrl-C: do not wait 10 minutes
        worker.terminate(0.2);
        return ScoreResult::invalid("scoring interrupted");
      }
      if (monotonic_seconds() >= deadline) {
        timed_out = true;
        status = worker.terminate(1.0);
        break;
      }
    }
  } catch (const Error& e) {
    return ScoreResult::invalid(std::string("the scoring worker could not start: ") + e.what());
  }
  const std::string log = tail_of(call.log_file, 64 * 1024);
  const std::string phase = last_phase(log);
  const std::string where = phase.empty() ? "" : " during " + phase;
  std::string output_tail = without_phase_markers(log);
  if (output_tail.size() > 2000) output_tail = output_tail.substr(output_tail.size() - 2000);
  Json failure_details = {{"phase", phase}, {"worker_output_tail", output_tail}};

  if (timed_out) {
    result = ScoreResult::invalid(
        fmt::format("timed out after {:.0f} s{} (the scoring time limit)", call.timeout_s, where),
        failure_details);
    result.details["timeout"] = true;
  } else if (*status != 0 || !fs::exists(call.call_dir / "result.json")) {
    std::string reason;
    if (*status > 128) {
      int signal = *status - 128;
      reason = "the solution crashed (" + signal_name(signal) + ")" + where;
      if (signal == SIGKILL) reason += ": killed, most likely out of memory";
      failure_details["signal"] = signal_name(signal);
      failure_details["out_of_memory"] = signal == SIGKILL;
    } else {
      reason = fmt::format("the scoring worker failed (exit code {}){}", *status, where);
    }
    if (!output_tail.empty()) {
      std::string last =
          output_tail.substr(output_tail.size() > 400 ? output_tail.size() - 400 : 0);
      reason += "; last output: " + last;
    }
    result = ScoreResult::invalid(reason, failure_details);
  } else {
    try {
      result = ScoreResult::from_json(read_result_file(call.call_dir / "result.json"));
    } catch (const std::exception& e) {
      result = ScoreResult::invalid(std::string("the scoring worker's result is unreadable: ") +
                                    e.what());
    }
    ScoreRequest request{call.snapshot, call.private_dir, call.scratch, call.profile, call.seed};
    // The transform is applied here, not taken from the worker, which ran agent code.
    if (result.valid) result.score = env.info().transform.apply(result.raw);
    if (result.valid && !std::isfinite(result.score))
      result = ScoreResult::invalid("the scored value is not finite");
    env.verify(request, result);
  }
  return result;
}

void run_worker(const Environment& environment, const Profile& profile, const fs::path& solution,
                const fs::path& private_dir, const fs::path& scratch, std::uint64_t seed,
                const fs::path& result_file) {
  ScoreRequest request{solution, private_dir, scratch, &profile, seed};
  ScoreResult result = environment.score(request);
  write_json_atomic(result_file, result.to_json());
}

}  // namespace rebench
