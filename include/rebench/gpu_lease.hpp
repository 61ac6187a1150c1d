// Exclusive GPU pinning across processes: one flock per device, released by the kernel when the
// holder dies, so a killed run never keeps its GPUs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rebench {

/// A process that took leases for a child it starts (`rebench batch`) names the inherited lock
/// descriptors here, "GPU=FD,…"; the child adopts them instead of locking again (which would
/// fail: the parent's open file holds the lock). Only a holder of the lock can pass it on.
inline constexpr const char* kGpuLeaseFdsVariable = "REBENCH_GPU_LEASE_FDS";

class GpuLease {
 public:
  /// `request`: "auto" (the first `count` free visible GPUs) or a list like "0,2". Throws Error
  /// when not enough are free. `available` are the indexes visible on this host.
  static GpuLease acquire(const std::string& request, int count, const std::vector<int>& available,
                          const std::filesystem::path& lock_dir);
  GpuLease() = default;
  GpuLease(GpuLease&& other) noexcept;
  GpuLease& operator=(GpuLease&& other) noexcept;
  GpuLease(const GpuLease&) = delete;
  GpuLease& operator=(const GpuLease&) = delete;
  ~GpuLease();
  [[nodiscard]] const std::vector<int>& gpus() const { return gpus_; }
  /// The lock descriptors, in gpus() order (close-on-exec; see kGpuLeaseFdsVariable).
  [[nodiscard]] const std::vector<int>& lock_fds() const { return fds_; }

 private:
  void release();
  std::vector<int> gpus_;
  std::vector<int> fds_;
};

class Environment;
class Profile;

/// Leases the GPUs `environment` needs under `profile` (none on CPU profiles); a UsageError when
/// the profile needs a GPU and none is visible.
GpuLease lease_gpus_for(const Environment& environment, const Profile& profile,
                        const std::string& request);

/// $REBENCH_LOCK_DIR, else /tmp/rebench-gpu-locks.
std::filesystem::path default_gpu_lock_dir();

}  // namespace rebench
