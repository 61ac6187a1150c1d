// Anchor table (configs/anchors.json): starting and reference raw values per environment and
// profile, with where/when/at which commit they were measured, and the paper's values beside them.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "rebench/json_file.hpp"

namespace rebench {

struct Anchor {
  double raw = 0.0;      ///< raw primary metric, in the environment's unit
  std::string hardware;  ///< e.g. "NVIDIA H100 80GB HBM3"
  std::string date;      ///< ISO date of the measurement
  std::string commit;    ///< harness commit it was measured at
  std::string note;      ///< optional: how it was measured
};

struct AnchorPair {
  Anchor starting;
  Anchor reference;
};

struct EnvironmentAnchors {
  std::map<std::string, AnchorPair> profiles;  ///< by profile name
  std::optional<double> paper_starting_raw;
  std::optional<double> paper_reference_raw;
  double check_tolerance = 0.15;  ///< |normalised − expected| allowed by `check`
};

class AnchorTable {
 public:
  static AnchorTable load(const std::filesystem::path& file);
  /// An empty table (no anchors); used when a local table does not exist yet.
  AnchorTable() = default;

  [[nodiscard]] const EnvironmentAnchors* find(const std::string& environment_id) const;
  [[nodiscard]] const AnchorPair* find(const std::string& environment_id,
                                       const std::string& profile) const;
  /// Sets (or replaces) the anchors of one environment/profile; keeps everything else.
  void set(const std::string& environment_id, const std::string& profile, const AnchorPair& pair);
  [[nodiscard]] Json to_json() const;
  void save(const std::filesystem::path& file) const;

 private:
  std::map<std::string, EnvironmentAnchors> environments_;
};

Json to_json(const Anchor& anchor);

}  // namespace rebench
