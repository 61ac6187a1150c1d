// Suites (configs/suites/*.json): environments × agents × time limits × repeats under one
// profile, validated with errors that name the file and the JSON path of the bad field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"
#include "rebench/registry.hpp"

namespace rebench::batch {

/// One agent of a suite: a spec as `rebench run --agent` takes it, and a label that names it in
/// run directories and reports.
struct SuiteAgent {
  std::string label;
  std::string spec;
  std::filesystem::path agent_dir;    ///< "": the suite's
  std::vector<std::string> pass_env;  ///< added to the suite's
};

/// One matrix block: every environment × agent × time limit, `repeats` times.
struct SuiteBlock {
  std::vector<std::string> environments;
  std::vector<SuiteAgent> agents;
  std::vector<double> time_limits_s;  ///< empty: each environment's default
  int repeats = 1;
  std::string where;  ///< JSON path of the block, for messages
};

/// Options passed through to every run of the suite (as `rebench run` flags).
struct RunSettings {
  std::string sandbox = "bubblewrap";
  bool network = true;
  std::vector<std::string> pass_env;
  bool exclude_score_time = false;
  double score_timeout_s = 0;  ///< 0: the environment's
  std::filesystem::path agent_dir;
  std::filesystem::path anchors;  ///< "": configs/anchors.json
};

struct Suite {
  std::string name;
  std::string description;
  std::string file;
  std::string profile;             ///< "": detected where the runs execute
  std::filesystem::path runs_dir;  ///< "": `runs`
  std::uint64_t seed = 0;          ///< base of the per-run seeds
  RunSettings settings;
  std::vector<SuiteBlock> blocks;
};

/// Reads and validates a suite file (ConfigError naming file and JSON path; unknown
/// environments get a did-you-mean from `registry`). Relative paths stay relative to the current
/// directory.
Suite load_suite(const std::filesystem::path& file, const Registry& registry);
/// Validates an already parsed suite; `file` is used in messages.
Suite parse_suite(const Json& json, const std::string& file, const Registry& registry);

/// SUITE as given on the command line: an existing file, else configs/suites/SUITE(.json).
std::filesystem::path resolve_suite_path(const std::string& suite);

/// True when `name` may name a suite, a label or a run directory: letters, digits, `._-`.
bool valid_name(const std::string& name);

}  // namespace rebench::batch
