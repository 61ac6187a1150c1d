// GPU leases: per-device lock files taken with flock(LOCK_EX | LOCK_NB).
#include "rebench/gpu_lease.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "rebench/environment.hpp"
#include "rebench/errors.hpp"
#include "rebench/hardware.hpp"
#include "rebench/profile.hpp"

namespace rebench {

std::filesystem::path default_gpu_lock_dir() {
  const char* dir = std::getenv("REBENCH_LOCK_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp/rebench-gpu-locks";
}

namespace {

/// The descriptor a parent passed down for `gpu` (kGpuLeaseFdsVariable), when it really is an
/// open file of `lock` that holds its lock; -1 otherwise.
int inherited_lock(int gpu, const std::filesystem::path& lock) {
  const char* list = std::getenv(kGpuLeaseFdsVariable);
  if (list == nullptr) return -1;
  std::stringstream items(list);
  std::string item;
  while (std::getline(items, item, ',')) {
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || item.substr(0, eq) != std::to_string(gpu)) continue;
    int fd = -1;
    try {
      fd = std::stoi(item.substr(eq + 1));
    } catch (const std::exception&) {
      return -1;
    }
    struct stat held {}, named {};
    if (::fstat(fd, &held) != 0 || ::stat(lock.c_str(), &named) != 0 ||
        held.st_dev != named.st_dev || held.st_ino != named.st_ino)
      return -1;
    // Succeeds at once when this open file already holds the lock (the parent's); otherwise it
    // takes the lock like any other holder would.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return -1;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // not handed further down (agents, workers)
    return fd;
  }
  return -1;
}

}  // namespace

GpuLease GpuLease::acquire(const std::string& request, int count, const std::vector<int>& available,
                           const std::filesystem::path& lock_dir) {
  GpuLease lease;
  if (count <= 0) return lease;
  std::filesystem::create_directories(lock_dir);
  auto try_lock = [&](int gpu) {
    std::filesystem::path file = lock_dir / ("gpu" + std::to_string(gpu) + ".lock");
    int fd = inherited_lock(gpu, file);
    if (fd < 0) {
      fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      if (fd < 0) throw Error("cannot open GPU lock " + file.string());
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return false;
      }
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) (void)!::write(fd, pid.data(), pid.size());
    lease.gpus_.push_back(gpu);
    lease.fds_.push_back(fd);
    return true;
  };
  if (request.empty() || request == "auto") {
    for (int gpu : available) {
      if (static_cast<int>(lease.gpus_.size()) == count) break;
      try_lock(gpu);
    }
    if (static_cast<int>(lease.gpus_.size()) < count)
      throw Error("needs " + std::to_string(count) + " free GPU(s) but only " +
                  std::to_string(lease.gpus_.size()) + " of " + std::to_string(available.size()) +
                  " visible are free (others are pinned by running rebench processes)");
    return lease;
  }
  std::stringstream list(request);
  std::string item;
  while (std::getline(list, item, ',')) {
    int gpu = 0;
    try {
      gpu = std::stoi(item);
    } catch (const std::exception&) {
      throw UsageError("--gpus: '" + item + "' is not a GPU index (use auto or e.g. 0,1)");
    }
    bool visible = false;
    for (int a : available) visible |= a == gpu;
    if (!visible) throw UsageError("--gpus: GPU " + item + " is not visible on this machine");
    if (!try_lock(gpu)) throw Error("GPU " + item + " is pinned by another rebench process");
  }
  if (static_cast<int>(lease.gpus_.size()) < count)
    throw UsageError("this environment needs " + std::to_string(count) + " GPU(s); --gpus names " +
                     std::to_string(lease.gpus_.size()));
  return lease;
}

GpuLease lease_gpus_for(const Environment& environment, const Profile& profile,
                        const std::string& request) {
  int count = profile.requires_gpu() ? environment.info().resources.gpus : 0;
  if (count == 0) return GpuLease();
  std::vector<int> available;
  for (const GpuInfo& gpu : visible_gpus()) available.push_back(gpu.index);
  if (available.empty())
    throw UsageError("profile " + profile.name() +
                     " needs a CUDA GPU and none is visible (use --profile cpu)");
  return GpuLease::acquire(request, count, available, default_gpu_lock_dir());
}

GpuLease::GpuLease(GpuLease&& other) noexcept
    : gpus_(std::move(other.gpus_)), fds_(std::move(other.fds_)) {
  other.fds_.clear();
}

GpuLease& GpuLease::operator=(GpuLease&& other) noexcept {
  release();
  gpus_ = std::move(other.gpus_);
  fds_ = std::move(other.fds_);
  other.fds_.clear();
  return *this;
}

GpuLease::~GpuLease() { release(); }

void GpuLease::release() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

}  // namespace rebench
