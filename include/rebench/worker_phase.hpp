// Phase markers a scoring worker prints on stderr, so the harness can say in which phase a
// solution crashed or hung ("build", "load", "measure").
#pragma once

#include <string>

namespace rebench {

inline constexpr const char* kPhaseMarker = "@@rebench-phase ";

/// Prints the marker line for `phase` to stderr and flushes it.
void report_phase(const std::string& phase);

/// The last phase named in `output` (a worker's stderr), or "" when none.
std::string last_phase(const std::string& output);

}  // namespace rebench
