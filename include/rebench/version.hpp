// Harness version and the git commit it was built from (stamped into every run's provenance).
#pragma once

#include <string>

namespace rebench {

const char* harness_version();
/// Commit hash of the build ("unknown" outside a git checkout; "+dirty" when modified).
const char* harness_commit();

}  // namespace rebench
