// A description of this machine for provenance: host, CPU, memory, GPUs (via nvidia-smi).
#pragma once

#include <string>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench {

struct GpuInfo {
  int index = 0;
  std::string name;
  std::string uuid;
  double memory_gib = 0.0;
  std::string driver;
};

/// GPUs visible to this process (honours CUDA_VISIBLE_DEVICES); empty without nvidia-smi.
std::vector<GpuInfo> visible_gpus();
/// Host name, kernel, CPU model and count, memory, GPUs.
Json describe_hardware();
/// A short one-line label, e.g. "NVIDIA H100 80GB HBM3" or "cpu: AMD EPYC 7B13 x2".
std::string hardware_label();

}  // namespace rebench
