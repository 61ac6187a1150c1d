// Hardware profiles (configs/profiles/*.json): the sizes that differ between a GPU box and a CPU.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench {

class Profile {
 public:
  /// Loads and validates configs/profiles/<name>.json (ConfigError names file and field).
  static Profile load(const std::filesystem::path& file);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& description() const { return description_; }
  [[nodiscard]] bool requires_gpu() const { return requires_gpu_; }
  [[nodiscard]] const std::string& file() const { return file_; }
  /// Settings of one environment under this profile; an empty object when the profile has none.
  [[nodiscard]] Json settings_for(const std::string& environment_id) const;
  [[nodiscard]] Json to_json() const { return json_; }

 private:
  std::string name_;
  std::string description_;
  bool requires_gpu_ = false;
  std::string file_;
  Json json_;
};

/// Profiles found in `profiles_dir`, sorted by name.
std::vector<std::string> available_profiles(const std::filesystem::path& profiles_dir);

/// "h100" when a CUDA GPU is visible to this process, else "cpu".
std::string detect_profile_name();

/// Loads `requested` (or the detected profile when empty) from `profiles_dir`; an unknown name is
/// a UsageError listing the available ones.
Profile resolve_profile(const std::filesystem::path& profiles_dir, const std::string& requested);

}  // namespace rebench
