// Suite expansion, run naming and seeds, and the frozen plan file (see plan.hpp).
#include "batch/plan.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "rebench/agent_spec.hpp"
#include "rebench/errors.hpp"
#include "rebench/sha256.hpp"
#include "rebench/time_util.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

std::string duration_tag(double seconds) {
  long long total = std::llround(std::max(0.0, seconds));
  const long long h = total / 3600, m = (total % 3600) / 60, s = total % 60;
  if (h > 0)
    return m == 0 && s == 0 ? fmt::format("{}h", h)
           : s == 0         ? fmt::format("{}h{:02d}m", h, m)
                            : fmt::format("{}h{:02d}m{:02d}s", h, m, s);
  if (m > 0) return s == 0 ? fmt::format("{}m", m) : fmt::format("{}m{:02d}s", m, s);
  return fmt::format("{}s", s);
}

std::string run_name(const std::string& suite, const std::string& environment,
                     const std::string& label, double time_limit_s, int repeat) {
  return fmt::format("{}-{}-{}-{}-r{}", suite, environment, label, duration_tag(time_limit_s),
                     repeat);
}

std::uint64_t derive_seed(std::uint64_t base, const std::string& run_name) {
  // 52 bits: exact in every JSON reader (doubles), and plenty for a seed.
  const std::string digest = sha256_hex(fmt::format("rebench-batch-seed\n{}\n{}", base, run_name));
  return std::stoull(digest.substr(0, 13), nullptr, 16);
}

fs::path BatchPlan::batch_dir() const { return runs_dir / (suite + ".batch"); }

fs::path BatchPlan::run_dir(std::size_t index) const { return runs_dir / runs.at(index).name; }

RunOptions BatchPlan::run_options(std::size_t index, const std::string& gpus) const {
  const PlannedRun& run = runs.at(index);
  RunOptions options;
  options.environment_id = run.environment;
  options.agent = parse_agent_spec(run.agent_spec);
  options.time_limit_s = run.time_limit_s;
  options.profile = profile;
  options.gpus = gpus.empty() ? "auto" : gpus;
  options.network = settings.network;
  options.runs_dir = runs_dir;
  options.seed = run.seed;
  options.sandbox = settings.sandbox == "none" ? SandboxMode::kNone : SandboxMode::kBubblewrap;
  options.agent_dir = run.agent_dir;
  options.pass_env = run.pass_env;
  options.count_score_time = !settings.exclude_score_time;
  options.anchors_file = settings.anchors;
  options.score_timeout_s = settings.score_timeout_s;
  options.run_name = run.name;
  options.label = run.label;
  options.suite = suite;
  return options;
}

namespace {

fs::path absolute_or_empty(const fs::path& path) {
  return path.empty() ? path : fs::absolute(path).lexically_normal();
}

/// replay:DIR with DIR made absolute (array tasks may start in another directory).
std::string absolute_spec(const std::string& text) {
  AgentSpec spec = parse_agent_spec(text);
  if (spec.kind != AgentSpec::Kind::kReplay) return text;
  return "replay:" + absolute_or_empty(spec.replay_dir).string();
}

}  // namespace

BatchPlan expand_suite(const Suite& suite, const Registry& registry, const Profile& profile,
                       const fs::path& runs_dir) {
  BatchPlan plan;
  plan.suite = suite.name;
  plan.suite_file = suite.file;
  plan.profile = profile.name();
  plan.runs_dir = absolute_or_empty(!runs_dir.empty()         ? runs_dir
                                    : !suite.runs_dir.empty() ? suite.runs_dir
                                                              : fs::path("runs"));
  plan.settings = suite.settings;
  plan.settings.agent_dir = absolute_or_empty(suite.settings.agent_dir);
  plan.settings.anchors = absolute_or_empty(suite.settings.anchors);
  std::map<std::string, std::string> seen;  // run name -> block that made it
  for (const SuiteBlock& block : suite.blocks) {
    for (const std::string& id : block.environments) {
      const EnvironmentInfo& info = registry.get(id).info();
      std::vector<double> limits = block.time_limits_s;
      if (limits.empty()) limits.push_back(info.default_time_limit_s);
      for (const SuiteAgent& agent : block.agents) {
        for (double limit : limits) {
          for (int repeat = 1; repeat <= block.repeats; ++repeat) {
            PlannedRun run;
            run.name = run_name(suite.name, id, agent.label, limit, repeat);
            auto [at, fresh] = seen.emplace(run.name, block.where);
            if (!fresh)
              throw ConfigError(suite.file, block.where,
                                "run " + run.name + " is also made by block " + at->second +
                                    " (use another label or time limit)");
            run.environment = id;
            run.agent_spec = absolute_spec(agent.spec);
            run.label = agent.label;
            run.agent_dir = absolute_or_empty(!agent.agent_dir.empty() ? agent.agent_dir
                                                                       : suite.settings.agent_dir);
            run.pass_env = suite.settings.pass_env;
            for (const std::string& name : agent.pass_env)
              if (std::find(run.pass_env.begin(), run.pass_env.end(), name) == run.pass_env.end())
                run.pass_env.push_back(name);
            run.time_limit_s = limit;
            run.repeat = repeat;
            run.seed = derive_seed(suite.seed, run.name);
            run.gpus = profile.requires_gpu() ? info.resources.gpus : 0;
            run.memory_gb = info.resources.memory_gb;
            plan.runs.push_back(std::move(run));
          }
        }
      }
    }
  }
  return plan;
}

Json BatchPlan::to_json() const {
  Json list = Json::array();
  for (const PlannedRun& r : runs)
    list.push_back({{"name", r.name},
                    {"environment", r.environment},
                    {"agent", r.agent_spec},
                    {"label", r.label},
                    {"agent_dir", r.agent_dir.string()},
                    {"pass_env", r.pass_env},
                    {"time_limit_s", r.time_limit_s},
                    {"repeat", r.repeat},
                    {"seed", r.seed},
                    {"gpus", r.gpus},
                    {"memory_gb", r.memory_gb}});
  return {{"format", kPlanFormat},
          {"version", kPlanVersion},
          {"suite", suite},
          {"suite_file", suite_file},
          {"profile", profile},
          {"runs_dir", runs_dir.string()},
          {"settings",
           {{"sandbox", settings.sandbox},
            {"network", settings.network ? "on" : "none"},
            {"pass_env", settings.pass_env},
            {"exclude_score_time", settings.exclude_score_time},
            {"score_timeout_s", settings.score_timeout_s},
            {"agent_dir", settings.agent_dir.string()},
            {"anchors", settings.anchors.string()}}},
          {"runs", list}};
}

BatchPlan BatchPlan::load(const fs::path& file) {
  const Json json = read_json_file(file);
  const std::string name = file.string();
  ConfigReader reader(name, json, "");
  if (reader.string("format") != kPlanFormat) reader.fail("format", "not a rebench batch plan");
  if (reader.integer("version") != kPlanVersion)
    reader.fail("version", "plan version " + std::to_string(reader.integer("version")) +
                               " is not " + std::to_string(kPlanVersion) +
                               " (written by another rebench version)");
  BatchPlan plan;
  plan.suite = reader.string("suite");
  plan.suite_file = reader.string("suite_file");
  plan.profile = reader.string("profile");
  plan.runs_dir = reader.string("runs_dir");
  ConfigReader s = reader.object("settings");
  plan.settings.sandbox = s.string("sandbox");
  plan.settings.network = s.string("network") == "on";
  plan.settings.pass_env = s.raw("pass_env").get<std::vector<std::string>>();
  plan.settings.exclude_score_time = s.boolean("exclude_score_time");
  plan.settings.score_timeout_s = s.number("score_timeout_s");
  plan.settings.agent_dir = s.string("agent_dir");
  plan.settings.anchors = s.string("anchors");
  const Json& runs = reader.raw("runs");
  if (!runs.is_array()) reader.fail("runs", "expected an array");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    ConfigReader r(name, runs[i], "/runs/" + std::to_string(i));
    PlannedRun run;
    run.name = r.string("name");
    run.environment = r.string("environment");
    run.agent_spec = r.string("agent");
    run.label = r.string("label");
    run.agent_dir = r.string("agent_dir");
    run.pass_env = r.raw("pass_env").get<std::vector<std::string>>();
    run.time_limit_s = r.number("time_limit_s");
    run.repeat = static_cast<int>(r.integer("repeat"));
    run.seed = r.raw("seed").get<std::uint64_t>();
    run.gpus = static_cast<int>(r.integer("gpus"));
    run.memory_gb = r.number("memory_gb");
    plan.runs.push_back(std::move(run));
  }
  return plan;
}

void write_plan(const BatchPlan& plan) {
  fs::create_directories(plan.batch_dir());
  write_json_atomic(plan.plan_file(), plan.to_json());
}

}  // namespace rebench::batch
