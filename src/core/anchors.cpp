// The anchor table: load with field-level validation, update one entry, save atomically.
#include "rebench/anchors.hpp"

#include <cmath>

#include "rebench/errors.hpp"

namespace rebench {

namespace {

Anchor read_anchor(const ConfigReader& reader) {
  Anchor anchor;
  anchor.raw = reader.number("raw");
  if (!std::isfinite(anchor.raw)) reader.fail("raw", "expected a finite number");
  anchor.hardware = reader.string("hardware");
  anchor.date = reader.string("date");
  anchor.commit = reader.string("commit");
  if (reader.has("note")) anchor.note = reader.string("note");
  return anchor;
}

}  // namespace

Json to_json(const Anchor& anchor) {
  Json json = {{"raw", anchor.raw},
               {"hardware", anchor.hardware},
               {"date", anchor.date},
               {"commit", anchor.commit}};
  if (!anchor.note.empty()) json["note"] = anchor.note;
  return json;
}

AnchorTable AnchorTable::load(const std::filesystem::path& file) {
  Json json = read_json_file(file);
  ConfigReader root(file.string(), json, "");
  if (root.integer("version") != 1) root.fail("version", "expected 1");
  AnchorTable table;
  ConfigReader envs = root.object("environments");
  for (const auto& item : envs.json().items()) {
    ConfigReader env = envs.object(item.key());
    EnvironmentAnchors anchors;
    if (env.has("check_tolerance")) anchors.check_tolerance = env.number("check_tolerance");
    if (env.has("paper")) {
      ConfigReader paper = env.object("paper");
      anchors.paper_starting_raw = paper.number("starting_raw");
      anchors.paper_reference_raw = paper.number("reference_raw");
    }
    if (env.has("profiles")) {
      ConfigReader profiles = env.object("profiles");
      for (const auto& profile : profiles.json().items()) {
        ConfigReader pair = profiles.object(profile.key());
        anchors.profiles[profile.key()] = {read_anchor(pair.object("starting")),
                                           read_anchor(pair.object("reference"))};
      }
    }
    table.environments_[item.key()] = std::move(anchors);
  }
  return table;
}

const EnvironmentAnchors* AnchorTable::find(const std::string& environment_id) const {
  auto it = environments_.find(environment_id);
  return it == environments_.end() ? nullptr : &it->second;
}

const AnchorPair* AnchorTable::find(const std::string& environment_id,
                                    const std::string& profile) const {
  const EnvironmentAnchors* env = find(environment_id);
  if (env == nullptr) return nullptr;
  auto it = env->profiles.find(profile);
  return it == env->profiles.end() ? nullptr : &it->second;
}

void AnchorTable::set(const std::string& environment_id, const std::string& profile,
                      const AnchorPair& pair) {
  environments_[environment_id].profiles[profile] = pair;
}

Json AnchorTable::to_json() const {
  Json envs = Json::object();
  for (const auto& [id, anchors] : environments_) {
    Json env = {{"check_tolerance", anchors.check_tolerance}};
    if (anchors.paper_starting_raw && anchors.paper_reference_raw)
      env["paper"] = {{"starting_raw", *anchors.paper_starting_raw},
                      {"reference_raw", *anchors.paper_reference_raw}};
    Json profiles = Json::object();
    for (const auto& [name, pair] : anchors.profiles)
      profiles[name] = {{"starting", rebench::to_json(pair.starting)},
                        {"reference", rebench::to_json(pair.reference)}};
    env["profiles"] = profiles;
    envs[id] = env;
  }
  return {{"version", 1}, {"environments", envs}};
}

void AnchorTable::save(const std::filesystem::path& file) const {
  write_json_atomic(file, to_json());
}

}  // namespace rebench
