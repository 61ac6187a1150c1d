// Locations of rebench's data, cache and in-sandbox tools.
#include "rebench/paths.hpp"

#include <unistd.h>

#include <cstdlib>

#include "rebench/errors.hpp"

#ifndef REBENCH_SOURCE_DIR
#error "REBENCH_SOURCE_DIR must be defined by the build"
#endif

namespace rebench {

namespace {
std::filesystem::path from_env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::filesystem::path(value)
                                            : std::filesystem::path();
}
}  // namespace

std::filesystem::path data_root() {
  std::filesystem::path root = from_env("REBENCH_ROOT");
  return root.empty() ? std::filesystem::path(REBENCH_SOURCE_DIR) : root;
}

std::filesystem::path configs_dir() { return data_root() / "configs"; }
std::filesystem::path environments_dir() { return data_root() / "environments"; }

std::filesystem::path cache_dir() {
  if (auto dir = from_env("REBENCH_CACHE"); !dir.empty()) return dir;
  if (auto xdg = from_env("XDG_CACHE_HOME"); !xdg.empty()) return xdg / "rebench";
  if (auto home = from_env("HOME"); !home.empty()) return home / ".cache" / "rebench";
  return std::filesystem::temp_directory_path() / "rebench-cache";
}

std::filesystem::path self_executable() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot locate the rebench executable: " + ec.message());
  return self;
}

std::filesystem::path tools_dir() { return self_executable().parent_path() / "sandbox-tools"; }

}  // namespace rebench
