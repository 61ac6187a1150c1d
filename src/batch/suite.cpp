// Suite files: parsing and validation (see suite.hpp; the format is in the README, "Batch and CI").
#include "batch/suite.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "rebench/agent_spec.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/time_util.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTopKeys = {"name",   "description", "profile",     "runs_dir",
                                           "seed",   "repeats",     "time_limits", "environments",
                                           "agents", "matrix",      "options"};
const std::vector<std::string> kBlockKeys = {"environments", "agents", "time_limits", "repeats"};
const std::vector<std::string> kAgentKeys = {"label", "spec", "agent_dir", "pass_env"};
const std::vector<std::string> kOptionKeys = {
    "sandbox",       "network",   "pass_env", "exclude_score_time",
    "score_timeout", "agent_dir", "anchors"};

/// Unknown keys are errors (a typo would otherwise silently change what runs).
void check_keys(const ConfigReader& reader, const std::vector<std::string>& allowed) {
  for (const auto& item : reader.json().items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) != allowed.end()) continue;
    std::string message = "unknown key";
    if (std::string close = closest_match(item.key(), allowed); !close.empty())
      message += " (did you mean '" + close + "'?)";
    message += "; allowed: ";
    for (std::size_t i = 0; i < allowed.size(); ++i) message += (i ? ", " : "") + allowed[i];
    reader.fail(item.key(), message);
  }
}

/// A non-empty array of `key`; a single value counts as an array of one when `single_ok`.
std::vector<Json> list_of(const ConfigReader& reader, const std::string& key, bool single_ok) {
  const Json& value = reader.raw(key);
  if (value.is_array()) {
    if (value.empty()) reader.fail(key, "expected a non-empty array");
    return {value.begin(), value.end()};
  }
  if (!single_ok) reader.fail(key, std::string("expected an array, found ") + value.type_name());
  return {value};
}

std::string element_path(const std::string& key, std::size_t i, bool is_array) {
  return is_array ? key + "/" + std::to_string(i) : key;
}

double duration_value(const ConfigReader& reader, const std::string& key, const Json& value) {
  double seconds = 0;
  if (value.is_number()) {
    seconds = value.get<double>();
  } else if (value.is_string()) {
    try {
      seconds = parse_duration(value.get<std::string>());
    } catch (const Error&) {
      reader.fail(key, "'" + value.get<std::string>() +
                           "' is not a duration (e.g. 90s, 30m, 8h, 1h30m, or seconds)");
    }
  } else {
    reader.fail(
        key, std::string("expected a duration (\"30m\" or seconds), found ") + value.type_name());
  }
  if (!(seconds > 0)) reader.fail(key, "expected a positive duration");
  return seconds;
}

std::vector<double> time_limits(const ConfigReader& reader) {
  const bool is_array = reader.raw("time_limits").is_array();
  std::vector<double> out;
  std::vector<Json> items = list_of(reader, "time_limits", true);
  for (std::size_t i = 0; i < items.size(); ++i) {
    double seconds = duration_value(reader, element_path("time_limits", i, is_array), items[i]);
    if (std::find(out.begin(), out.end(), seconds) != out.end())
      reader.fail(element_path("time_limits", i, is_array), "duplicate time limit");
    out.push_back(seconds);
  }
  return out;
}

int repeats(const ConfigReader& reader) {
  const Json& value = reader.raw("repeats");
  if (!value.is_number_integer()) reader.fail("repeats", "expected an integer >= 1");
  long long n = value.get<long long>();
  if (n < 1 || n > 10000) reader.fail("repeats", "expected an integer >= 1 (and <= 10000)");
  return static_cast<int>(n);
}

bool valid_variable_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::vector<std::string> pass_env(const ConfigReader& reader) {
  std::vector<Json> items = list_of(reader, "pass_env", false);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string where = "pass_env/" + std::to_string(i);
    if (!items[i].is_string() || !valid_variable_name(items[i].get<std::string>()))
      reader.fail(where, "expected an environment variable name");
    out.push_back(items[i].get<std::string>());
  }
  return out;
}

fs::path existing_folder(const ConfigReader& reader, const std::string& key) {
  fs::path folder = reader.string(key);
  if (!fs::is_directory(folder))
    reader.fail(key, "folder '" + folder.string() + "' does not exist");
  return folder;
}

std::string default_label(const AgentSpec& spec) {
  switch (spec.kind) {
    case AgentSpec::Kind::kNoop:
      return "noop";
    case AgentSpec::Kind::kReference:
      return "reference";
    case AgentSpec::Kind::kReplay: {
      std::string base = fs::path(spec.replay_dir).lexically_normal().filename().string();
      if (base.empty()) base = fs::path(spec.replay_dir).parent_path().filename().string();
      return "replay-" + base;
    }
    default:
      return "";
  }
}

SuiteAgent parse_agent(const ConfigReader& parent, const std::string& key, const Json& value) {
  SuiteAgent agent;
  std::string where = key;
  if (value.is_string()) {
    agent.spec = value.get<std::string>();
  } else if (value.is_object()) {
    ConfigReader reader(parent.file(), value, parent.path_of(key));
    check_keys(reader, kAgentKeys);
    agent.spec = reader.string("spec");
    if (reader.has("label")) agent.label = reader.string("label");
    if (reader.has("agent_dir")) agent.agent_dir = existing_folder(reader, "agent_dir");
    if (reader.has("pass_env")) agent.pass_env = pass_env(reader);
    where = key + "/spec";
  } else {
    parent.fail(key, std::string("expected an agent spec string or an object with label and "
                                 "spec, found ") +
                         value.type_name());
  }
  AgentSpec spec;
  try {
    spec = parse_agent_spec(agent.spec);
  } catch (const Error& e) {
    parent.fail(where, e.what());
  }
  if (spec.kind == AgentSpec::Kind::kReplay && !fs::exists(spec.replay_dir / "score_log.jsonl"))
    parent.fail(where, "replay: " + spec.replay_dir.string() + " is not a run directory");
  if (agent.label.empty()) agent.label = default_label(spec);
  if (agent.label.empty())
    parent.fail(key, "a " + agent.spec.substr(0, agent.spec.find(':') + 1) +
                         " agent needs a label: {\"label\": \"my-agent\", \"spec\": \"…\"}");
  if (!valid_name(agent.label))
    parent.fail(value.is_object() ? key + "/label" : key,
                "label '" + agent.label + "' may only use letters, digits, '.', '_', '-'");
  return agent;
}

SuiteBlock parse_block(const ConfigReader& reader, const std::string& where,
                       const Registry& registry, const std::vector<double>& default_limits,
                       int default_repeats) {
  SuiteBlock block;
  block.where = where;
  if (!reader.has("environments")) reader.fail("environments", "required (a list of ids)");
  if (!reader.has("agents")) reader.fail("agents", "required (a list of agents)");
  std::vector<Json> envs = list_of(reader, "environments", false);
  for (std::size_t i = 0; i < envs.size(); ++i) {
    const std::string where = "environments/" + std::to_string(i);
    if (!envs[i].is_string()) reader.fail(where, "expected an environment id");
    const std::string id = envs[i].get<std::string>();
    if (registry.find(id) == nullptr) {
      std::string message = "unknown environment '" + id + "'";
      if (std::string close = closest_match(id, registry.ids()); !close.empty())
        message += " (did you mean '" + close + "'?)";
      reader.fail(where, message + "; `rebench list` shows all");
    }
    if (std::find(block.environments.begin(), block.environments.end(), id) !=
        block.environments.end())
      reader.fail(where, "environment '" + id + "' is listed twice");
    block.environments.push_back(id);
  }
  std::vector<Json> agents = list_of(reader, "agents", false);
  std::set<std::string> labels;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    SuiteAgent agent = parse_agent(reader, "agents/" + std::to_string(i), agents[i]);
    if (!labels.insert(agent.label).second)
      reader.fail("agents/" + std::to_string(i),
                  "label '" + agent.label + "' is used twice (give each agent its own label)");
    block.agents.push_back(std::move(agent));
  }
  block.time_limits_s = reader.has("time_limits") ? time_limits(reader) : default_limits;
  block.repeats = reader.has("repeats") ? repeats(reader) : default_repeats;
  return block;
}

RunSettings parse_options(const ConfigReader& reader) {
  check_keys(reader, kOptionKeys);
  RunSettings settings;
  if (reader.has("sandbox")) {
    settings.sandbox = reader.string("sandbox");
    if (settings.sandbox != "bubblewrap" && settings.sandbox != "none")
      reader.fail("sandbox", "expected \"bubblewrap\" or \"none\"");
  }
  if (reader.has("network")) {
    const std::string network = reader.string("network");
    if (network != "on" && network != "none") reader.fail("network", "expected \"on\" or \"none\"");
    settings.network = network == "on";
  }
  if (reader.has("pass_env")) settings.pass_env = pass_env(reader);
  if (reader.has("exclude_score_time"))
    settings.exclude_score_time = reader.boolean("exclude_score_time");
  if (reader.has("score_timeout"))
    settings.score_timeout_s = duration_value(reader, "score_timeout", reader.raw("score_timeout"));
  if (reader.has("agent_dir")) settings.agent_dir = existing_folder(reader, "agent_dir");
  if (reader.has("anchors")) {
    settings.anchors = reader.string("anchors");
    if (!fs::is_regular_file(settings.anchors))
      reader.fail("anchors", "file '" + settings.anchors.string() + "' does not exist");
  }
  return settings;
}

}  // namespace

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 80 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Suite parse_suite(const Json& json, const std::string& file, const Registry& registry) {
  if (!json.is_object()) throw ConfigError(file, "/", "expected a JSON object");
  ConfigReader reader(file, json, "");
  check_keys(reader, kTopKeys);
  Suite suite;
  suite.file = file;
  suite.name = reader.string("name");
  if (!valid_name(suite.name))
    reader.fail("name", "'" + suite.name +
                            "' may only use letters, digits, '.', '_', '-' (it names folders)");
  if (reader.has("description")) suite.description = reader.string("description");
  if (reader.has("profile")) {
    suite.profile = reader.string("profile");
    std::vector<std::string> known = available_profiles(configs_dir() / "profiles");
    if (std::find(known.begin(), known.end(), suite.profile) == known.end()) {
      std::string list;
      for (const std::string& p : known) list += (list.empty() ? "" : ", ") + p;
      reader.fail("profile", "unknown profile '" + suite.profile + "' (available: " + list + ")");
    }
  }
  if (reader.has("runs_dir")) suite.runs_dir = reader.string("runs_dir");
  if (reader.has("seed")) {
    const Json& seed = reader.raw("seed");
    if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<long long>() >= 0))
      reader.fail("seed", "expected a non-negative integer");
    suite.seed = seed.get<std::uint64_t>();
  }
  if (reader.has("options")) suite.settings = parse_options(reader.object("options"));
  const std::vector<double> limits =
      reader.has("time_limits") ? time_limits(reader) : std::vector<double>{};
  const int default_repeats = reader.has("repeats") ? repeats(reader) : 1;
  if (reader.has("matrix")) {
    if (reader.has("environments") || reader.has("agents"))
      reader.fail("matrix",
                  "give either \"matrix\" blocks or top-level \"environments\" and "
                  "\"agents\", not both");
    const Json& matrix = reader.raw("matrix");
    if (!matrix.is_array() || matrix.empty())
      reader.fail("matrix", "expected a non-empty array of blocks");
    for (std::size_t i = 0; i < matrix.size(); ++i) {
      if (!matrix[i].is_object())
        reader.fail("matrix/" + std::to_string(i), "expected an object (a matrix block)");
      ConfigReader block(file, matrix[i], "/matrix/" + std::to_string(i));
      check_keys(block, kBlockKeys);
      suite.blocks.push_back(
          parse_block(block, "/matrix/" + std::to_string(i), registry, limits, default_repeats));
    }
  } else {
    suite.blocks.push_back(parse_block(reader, "/", registry, limits, default_repeats));
  }
  return suite;
}

Suite load_suite(const fs::path& file, const Registry& registry) {
  if (!fs::is_regular_file(file)) throw UsageError("suite file " + file.string() + " not found");
  return parse_suite(read_json_file(file), file.string(), registry);
}

fs::path resolve_suite_path(const std::string& suite) {
  if (fs::exists(suite)) return suite;
  const fs::path in_configs = configs_dir() / "suites" / suite;
  if (fs::exists(in_configs)) return in_configs;
  if (fs::exists(in_configs.string() + ".json")) return in_configs.string() + ".json";
  std::string message = "suite '" + suite + "' not found (neither a file nor in " +
                        (configs_dir() / "suites").string() + ")";
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(configs_dir() / "suites", ec))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  if (std::string close = closest_match(suite, names); !close.empty())
    message += "; did you mean '" + close + "'?";
  throw UsageError(message);
}

}  // namespace rebench::batch
