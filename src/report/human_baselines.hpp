// The human expert baselines of the RE-Bench paper and task READMEs (configs/human_baselines.json),
// normalised the way the paper did, for comparing agents with human experts in `rebench report`.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench::report {

struct HumanRun {
  std::string time;    ///< h:mm of work as printed in the README
  double score = 0.0;  ///< in the task's transformed units (a loss row is converted first)
  double normalized = 0.0;
  double normalized_clipped = 0.0;  ///< max(0, normalized): the paper's rule
};

struct HumanEnvironment {
  std::string environment;  ///< rebench environment id
  std::string metr_family;  ///< e.g. ai_rd_triton_cumsum
  std::string metr_version;
  double starting_score = 0.0;
  double reference_score = 1.0;
  std::string anchors_where;
  std::string rows_where;
  int paper_expert_runs = 0;
  std::vector<HumanRun> runs;
  std::vector<std::string> notes;

  /// Clipped normalised scores of the human runs.
  [[nodiscard]] std::vector<double> normalized_values() const;
};

struct HumanBaselines {
  std::string file;
  std::map<std::string, HumanEnvironment> environments;
  Json paper_aggregates = Json::array();  ///< as in the file: name, value/text, source, where, note
  Json sources = Json::object();

  [[nodiscard]] const HumanEnvironment* find(const std::string& environment) const;
};

/// Reads and validates the file; ConfigError names the field on any problem.
HumanBaselines load_human_baselines(const std::filesystem::path& file);

}  // namespace rebench::report
