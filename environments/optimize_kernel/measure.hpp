// Correctness checks and timing of a loaded solution, on the CPU or on a CUDA GPU.
// Plain structs only: measure_cuda.cu is compiled by nvcc and includes no JSON or spdlog.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rebench::optimize_kernel {

/// The entry point every solution exports (see instructions.md).
using PrefixSumFn = int (*)(const int32_t* x, int32_t* y, int64_t n, void* stream);
inline constexpr const char* kEntryPoint = "rebench_prefix_sum";

struct MeasureSettings {
  int64_t n = 0;      ///< elements of the timed input
  int warmups = 3;    ///< untimed calls before sampling
  int samples = 10;   ///< timed calls; each on a fresh input, each output checked
  uint64_t seed = 0;  ///< sample k uses sample_seed(seed, k)
};

inline uint64_t sample_seed(uint64_t seed, int k) {
  return seed + 0xD1B54A32D192ED03ull * static_cast<uint64_t>(k + 1);
}

struct Measurement {
  bool correct = false;
  std::string message;             ///< why it is not correct (first mismatch, error code …)
  std::vector<double> samples_ms;  ///< per timed call (CUDA events, or steady clock on CPU)
  std::vector<double> host_ms;     ///< host wall clock around each call (cross-check)
  std::vector<double> tail_ms;     ///< GPU: device-wide sync after the timed stream was done
  uint64_t checksum0 = 0;          ///< checksum of sample 0's output (verified by the harness)
  std::string device_name;
  std::string device_detail;       ///< e.g. "sm_90, 132 SMs, L2 50 MiB, driver 13.0"
  bool suspicious_timing = false;  ///< the cross-checks disagree with the events
  std::string timing_note;
};

Measurement measure_on_cpu(PrefixSumFn fn, const MeasureSettings& settings);

/// Available when rebench was built with CUDA; otherwise returns a Measurement explaining so.
Measurement measure_on_cuda(PrefixSumFn fn, const MeasureSettings& settings);

}  // namespace rebench::optimize_kernel
