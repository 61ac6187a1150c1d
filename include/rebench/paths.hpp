// Where rebench finds its data (configs/, environments/) and its cache.
#pragma once

#include <filesystem>

namespace rebench {

/// Root holding configs/ and environments/: $REBENCH_ROOT, else the source tree it was built from.
std::filesystem::path data_root();
std::filesystem::path configs_dir();
std::filesystem::path environments_dir();
/// $REBENCH_CACHE, else $XDG_CACHE_HOME/rebench, else ~/.cache/rebench.
std::filesystem::path cache_dir();
/// Folder holding the in-sandbox tools (score, score-log, time-left): next to the executable.
std::filesystem::path tools_dir();
/// Absolute path of the running executable.
std::filesystem::path self_executable();

}  // namespace rebench
