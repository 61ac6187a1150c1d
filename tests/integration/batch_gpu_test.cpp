// GPU pinning of local batches, on a simulated device list (the scheduler's library API with
// explicit devices and lock folder; no GPU needed): two batches running at the same time never
// hold one GPU at once, a child adopts the leases its batch took for it, and a SIGKILLed batch
// frees its GPUs (its children die with it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "batch/local_executor.hpp"
#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "support/temp_dir.hpp"

namespace rebench::batch {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

/// Runs `body` in a forked process (a separate batch) and returns its pid; the child exits with
/// body's return value.
template <typename Body>
pid_t fork_batch(Body body) {
  pid_t pid = ::fork();
  if (pid == 0) _exit(body());
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Each child: checks that its GPU's lock is really held (a fresh flock must fail), then records
// when it holds the GPU.
const char* const kHolder = R"SH(batch=$1 job=$2 gpu=$3 lock=$4 log=$5
if flock -n "$lock" true; then echo "UNLOCKED $batch $job $gpu" >> "$log"; fi
echo "start $batch $job $gpu $(date +%s.%N)" >> "$log"
sleep 0.4
echo "end $batch $job $gpu $(date +%s.%N)" >> "$log"
)SH";

TEST(BatchGpus, TwoConcurrentBatchesNeverShareAGpu) {
  TempDir dir;
  const fs::path locks = dir / "locks", log = dir / "holders.log", go = dir / "go";
  auto batch = [&](const std::string& name) {
    return fork_batch([&, name] {
      while (!fs::exists(go)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      LocalConfig config;
      config.parallel = 2;
      config.available_gpus = {0, 1, 2};  // 3 devices for up to 4 wanted at once: contention
      config.lock_dir = locks;
      config.poll_s = 0.02;
      config.command = [&](std::size_t index, const std::vector<int>& gpus) {
        ChildCommand c;
        const std::string gpu = std::to_string(gpus.at(0));
        c.argv = {"/bin/sh",   "-c",
                  kHolder,     "sh",
                  name,        std::to_string(index),
                  gpu,         (locks / ("gpu" + gpu + ".lock")).string(),
                  log.string()};
        c.log_file = dir / ("children-" + name + ".log");
        return c;
      };
      std::vector<Job> jobs;
      for (std::size_t i = 0; i < 5; ++i) jobs.push_back({i, 1});
      LocalReport report = run_local(jobs, config, {});
      int ok = 0;
      for (const JobExit& e : report.exits) ok += e.exit_code == 0 ? 1 : 0;
      return ok == 5 ? 0 : 1;
    });
  };
  pid_t a = batch("A"), b = batch("B");
  testing::write_text(go, "");
  EXPECT_EQ(wait_exit(a), 0);
  EXPECT_EQ(wait_exit(b), 0);

  struct Interval {
    std::string batch;
    double start = 0, end = 0;
  };
  std::map<std::string, Interval> by_job;  // "A/3" -> interval
  std::map<int, std::vector<Interval>> by_gpu;
  std::map<std::string, int> gpu_of;
  for (const std::string& line : lines_of(log)) {
    std::istringstream in(line);
    std::string what, batch_name, job;
    int gpu = -1;
    double t = 0;
    in >> what >> batch_name >> job >> gpu >> t;
    ASSERT_NE(what, "UNLOCKED") << "a child ran while its GPU lock was free: " << line;
    const std::string key = batch_name + "/" + job;
    by_job[key].batch = batch_name;
    gpu_of[key] = gpu;
    (what == "start" ? by_job[key].start : by_job[key].end) = t;
  }
  ASSERT_EQ(by_job.size(), 10u);
  for (const auto& [key, interval] : by_job) {
    ASSERT_GT(interval.start, 0) << key;
    ASSERT_GT(interval.end, interval.start) << key;
    by_gpu[gpu_of[key]].push_back(interval);
  }
  // Disjoint on every device: sorted by start, each holder ends before the next one starts.
  for (auto& [gpu, intervals] : by_gpu) {
    std::sort(intervals.begin(), intervals.end(),
              [](const Interval& x, const Interval& y) { return x.start < y.start; });
    for (std::size_t i = 1; i < intervals.size(); ++i)
      EXPECT_LE(intervals[i - 1].end, intervals[i].start) << "GPU " << gpu << " shared";
  }
  // The two batches really ran at the same time (else the test proves nothing).
  bool overlapped = false;
  for (const auto& [ka, x] : by_job)
    for (const auto& [kb, y] : by_job)
      if (x.batch == "A" && y.batch == "B" && x.start < y.end && y.start < x.end) overlapped = true;
  EXPECT_TRUE(overlapped);
}

TEST(BatchGpus, AChildAdoptsTheLeaseItsBatchTook) {
  TempDir dir;
  GpuLease lease = GpuLease::acquire("auto", 1, {0, 1}, dir.path());
  ASSERT_EQ(lease.gpus(), std::vector<int>{0});
  const std::string request = "0";
  auto child = [&](bool handed_down) {
    return fork_batch([&, handed_down] {
      if (handed_down) {
        ::fcntl(lease.lock_fds()[0], F_SETFD, 0);
        ::setenv(kGpuLeaseFdsVariable, ("0=" + std::to_string(lease.lock_fds()[0])).c_str(), 1);
      }
      try {
        GpuLease mine = GpuLease::acquire(request, 1, {0, 1}, dir.path());
        return mine.gpus() == std::vector<int>{0} ? 0 : 2;
      } catch (const Error&) {
        return 1;
      }
    });
  };
  EXPECT_EQ(wait_exit(child(true)), 0);   // the batch's lease, passed down: adopted
  EXPECT_EQ(wait_exit(child(false)), 1);  // anyone else: refused while the batch holds it
  // A forged variable naming a descriptor of another file gives nothing.
  pid_t forged = fork_batch([&] {
    int fd = ::open((dir / "other").c_str(), O_RDWR | O_CREAT, 0644);
    ::setenv(kGpuLeaseFdsVariable, ("0=" + std::to_string(fd)).c_str(), 1);
    try {
      GpuLease stolen = GpuLease::acquire("0", 1, {0, 1}, dir.path());
      return 0;
    } catch (const Error&) {
      return 1;
    }
  });
  EXPECT_EQ(wait_exit(forged), 1);
}

TEST(BatchGpus, AKilledBatchFreesItsGpus) {
  TempDir dir;
  const fs::path locks = dir / "locks", pids = dir / "pids";
  pid_t batch = fork_batch([&] {
    LocalConfig config;
    config.parallel = 2;
    config.available_gpus = {0, 1};
    config.lock_dir = locks;
    config.poll_s = 0.02;
    config.command = [&](std::size_t, const std::vector<int>&) {
      return ChildCommand{{"/bin/sh", "-c", "echo $$ >> \"$0\"; exec sleep 60", pids.string()},
                          dir / "children.log"};
    };
    run_local({{0, 1}, {1, 1}}, config, {});
    return 0;
  });
  for (int i = 0; i < 500 && lines_of(pids).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(lines_of(pids).size(), 2u);
  EXPECT_THROW(GpuLease::acquire("auto", 1, {0, 1}, locks), Error);  // both pinned
  ::kill(batch, SIGKILL);
  EXPECT_EQ(wait_exit(batch), 128 + SIGKILL);
  // The children get SIGTERM from the kernel when their batch dies; their locks go with them.
  bool freed = false;
  for (int i = 0; i < 500 && !freed; ++i) {
    try {
      GpuLease both = GpuLease::acquire("0,1", 2, {0, 1}, locks);
      freed = true;
    } catch (const Error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_TRUE(freed) << "a SIGKILLed batch left its GPUs pinned";
  for (const std::string& pid : lines_of(pids)) {
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string skip, state;
    if (stat >> skip >> skip >> state) EXPECT_EQ(state, "Z") << "child " << pid << " still runs";
  }
}

TEST(BatchGpus, RunsNeedingMoreGpusThanTheBatchMayUseAreRefused) {
  TempDir dir;
  LocalConfig config;
  config.available_gpus = {0};
  config.lock_dir = dir.path();
  config.command = [](std::size_t, const std::vector<int>&) { return ChildCommand{}; };
  EXPECT_THROW(run_local({{0, 2}}, config, {}), UsageError);
}

}  // namespace
}  // namespace rebench::batch
