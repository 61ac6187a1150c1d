// Phase markers of scoring workers (see worker_phase.hpp).
#include "rebench/worker_phase.hpp"

#include <cstdio>

namespace rebench {

void report_phase(const std::string& phase) {
  std::fprintf(stderr, "%s%s\n", kPhaseMarker, phase.c_str());
  std::fflush(stderr);
}

std::string last_phase(const std::string& output) {
  std::size_t at = output.rfind(kPhaseMarker);
  if (at == std::string::npos) return "";
  at += std::string(kPhaseMarker).size();
  std::size_t end = output.find('\n', at);
  return output.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace rebench
