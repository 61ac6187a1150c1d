// Hardware profiles: loading, validation and automatic selection from the visible hardware.
#include "rebench/profile.hpp"

#include <algorithm>

#include "rebench/errors.hpp"
#include "rebench/hardware.hpp"

namespace rebench {

Profile Profile::load(const std::filesystem::path& file) {
  Json json = read_json_file(file);
  ConfigReader reader(file.string(), json, "");
  Profile profile;
  profile.file_ = file.string();
  profile.name_ = reader.string("name");
  if (profile.name_ != file.stem().string())
    reader.fail("name", "must equal the file name '" + file.stem().string() + "'");
  profile.description_ = reader.string("description");
  profile.requires_gpu_ = reader.boolean("requires_gpu");
  if (reader.has("environments")) {
    ConfigReader envs = reader.object("environments");
    for (const auto& [id, settings] : envs.json().items())
      if (!settings.is_object()) envs.fail(id, "expected an object of settings");
  }
  profile.json_ = std::move(json);
  return profile;
}

Json Profile::settings_for(const std::string& environment_id) const {
  if (json_.contains("environments") && json_["environments"].contains(environment_id))
    return json_["environments"][environment_id];
  return Json::object();
}

std::vector<std::string> available_profiles(const std::filesystem::path& profiles_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(profiles_dir, ec))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string detect_profile_name() { return visible_gpus().empty() ? "cpu" : "h100"; }

Profile resolve_profile(const std::filesystem::path& profiles_dir, const std::string& requested) {
  std::string name = requested.empty() ? detect_profile_name() : requested;
  std::filesystem::path file = profiles_dir / (name + ".json");
  if (!std::filesystem::exists(file)) {
    std::string known;
    for (const std::string& p : available_profiles(profiles_dir))
      known += (known.empty() ? "" : ", ") + p;
    throw UsageError("unknown profile '" + name + "' (available: " + known + ")");
  }
  return Profile::load(file);
}

}  // namespace rebench
