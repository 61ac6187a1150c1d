// Machine description for provenance. GPUs come from nvidia-smi so the core needs no CUDA headers.
#include "rebench/hardware.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace rebench {

namespace {

std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return "";
  std::string out;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) out += buffer;
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return trim(line.substr(line.find(':') + 1));
  return "unknown";
}

double memory_gib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  in >> key >> kib;
  return kib / (1024.0 * 1024.0);
}

}  // namespace

std::vector<GpuInfo> visible_gpus() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (visible != nullptr && (std::string(visible).empty() || std::string(visible) == "-1"))
    return {};
  if (::access("/dev/nvidiactl", F_OK) != 0) return {};
  std::string out = run_command(
      "nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version "
      "--format=csv,noheader,nounits 2>/dev/null");
  std::vector<GpuInfo> gpus;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::stringstream fs(line);
    std::string field;
    while (std::getline(fs, field, ',')) fields.push_back(trim(field));
    if (fields.size() < 5) continue;
    GpuInfo gpu;
    try {
      gpu.index = std::stoi(fields[0]);
      gpu.memory_gib = std::stod(fields[3]) / 1024.0;
    } catch (const std::exception&) {
      continue;
    }
    gpu.name = fields[1];
    gpu.uuid = fields[2];
    gpu.driver = fields[4];
    gpus.push_back(gpu);
  }
  if (visible != nullptr) {  // keep only the devices this process may use
    std::vector<GpuInfo> kept;
    std::stringstream ids(visible);
    std::string id;
    while (std::getline(ids, id, ','))
      for (const GpuInfo& gpu : gpus)
        if (std::to_string(gpu.index) == trim(id) || gpu.uuid == trim(id)) kept.push_back(gpu);
    return kept;
  }
  return gpus;
}

Json describe_hardware() {
  struct utsname uts {};
  ::uname(&uts);
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  Json gpus = Json::array();
  for (const GpuInfo& gpu : visible_gpus())
    gpus.push_back({{"index", gpu.index},
                    {"name", gpu.name},
                    {"uuid", gpu.uuid},
                    {"memory_gib", gpu.memory_gib},
                    {"driver", gpu.driver}});
  return {{"host", host},
          {"kernel", std::string(uts.sysname) + " " + uts.release},
          {"cpu", cpu_model()},
          {"cpu_count", std::thread::hardware_concurrency()},
          {"memory_gib", memory_gib()},
          {"gpus", gpus}};
}

std::string hardware_label() {
  std::vector<GpuInfo> gpus = visible_gpus();
  if (!gpus.empty()) return gpus.front().name;
  return "cpu: " + cpu_model() + " x" + std::to_string(std::thread::hardware_concurrency());
}

}  // namespace rebench
