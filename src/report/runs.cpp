// Reading run directories for `rebench report` (see runs.hpp).
#include "report/runs.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"

namespace fs = std::filesystem;

namespace rebench::report {

namespace {

Direction direction_from(const ConfigReader& env) {
  const std::string text = env.string("direction");
  if (text == "lower") return Direction::kLowerIsBetter;
  if (text == "higher") return Direction::kHigherIsBetter;
  env.fail("direction", "expected \"lower\" or \"higher\", found \"" + text + "\"");
}

Selection selection_from(const ConfigReader& env) {
  const std::string text = env.string("selection");
  if (text == "best") return Selection::kBestValid;
  if (text == "last") return Selection::kLastValid;
  env.fail("selection", "expected \"best\" or \"last\", found \"" + text + "\"");
}

std::optional<double> optional_number(const ConfigReader& object, const std::string& key) {
  if (!object.has(key) || object.raw(key).is_null()) return std::nullopt;
  return object.number(key);
}

bool is_run_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "run.json", ec) || fs::is_regular_file(dir / "result.json", ec);
}

/// Run directories under `root` (itself included), never descending into one.
void find_run_dirs(const fs::path& root, std::vector<fs::path>& found) {
  if (is_run_dir(root)) {
    found.push_back(root);
    return;
  }
  std::error_code ec;
  std::vector<fs::path> children;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    // Symbolic links are not followed: a loop, or a link out of the tree, cannot be reported.
    if (it->is_directory(ec) && !it->is_symlink(ec)) children.push_back(it->path());
  }
  if (ec) throw UsageError("cannot read folder " + root.string() + ": " + ec.message());
  std::sort(children.begin(), children.end());
  for (const fs::path& child : children) find_run_dirs(child, found);
}

}  // namespace

LoadedRun load_run(const fs::path& dir) {
  LoadedRun run;
  run.dir = dir;
  const fs::path result_file = dir / "result.json";
  const fs::path run_file = dir / "run.json";
  const Json result_json = read_json_file(result_file);
  const Json run_json = read_json_file(run_file);
  const ConfigReader result(result_file.string(), result_json, "");
  const ConfigReader record(run_file.string(), run_json, "");

  const std::string schema = result.string("schema_version");
  if (schema.rfind("1.", 0) != 0)
    result.fail("schema_version",
                "expected a 1.x result (this rebench reads 1.x), found " + schema);
  run.run_id = result.string("run_id");
  const ConfigReader env = record.object("environment");
  run.environment = env.string("id");
  run.environment_version = env.string("version");
  run.direction = direction_from(env);
  run.selection = selection_from(env);
  run.profile = result.string("profile");
  run.status = result.string("status");
  if (run.status != "completed" && run.status != "interrupted")
    result.fail("status",
                "expected \"completed\" or \"interrupted\", found \"" + run.status + "\"");

  const ConfigReader agent = result.object("agent");
  run.agent_spec = agent.string("spec");
  run.self_test = agent.boolean("self_test");
  run.label = run.agent_spec;
  if (agent.has("label") && agent.raw("label").is_string() &&
      !agent.raw("label").get<std::string>().empty())
    run.label = agent.string("label");  // a suite's label, recorded by `batch`
  if (record.has("options")) {
    const ConfigReader options = record.object("options");
    if (options.has("label") && !options.raw("label").is_null()) {
      const std::string label = options.string("label");
      if (!label.empty()) run.label = label;
    }
  }

  const ConfigReader time = result.object("time");
  run.limit_s = time.number("limit_s");
  run.used_s = time.number("used_s");
  run.score_calls = static_cast<int>(result.integer("score_calls"));
  run.invalid_score_calls = static_cast<int>(result.integer("invalid_score_calls"));

  const ConfigReader final = result.object("final");
  run.final_valid = final.boolean("valid");
  run.final_reason = final.has("reason") ? final.string("reason") : "";
  if (!result.raw("anchors").is_null()) {
    const ConfigReader anchors = result.object("anchors");
    run.starting_score = anchors.number("starting_score");
    run.reference_score = anchors.number("reference_score");
    run.normalized = optional_number(final, "normalized");
    run.normalized_clipped = optional_number(final, "normalized_clipped");
  }

  ScoreLogContents log = read_score_log(dir / "score_log.jsonl");
  if (log.header.environment != run.environment)
    throw ConfigError((dir / "score_log.jsonl").string(), "/environment",
                      "expected \"" + run.environment + "\" (as in run.json), found \"" +
                          log.header.environment + "\"");
  run.entries = std::move(log.entries);
  run.torn_tail = log.torn_tail;
  return run;
}

RunScan load_runs(const std::vector<fs::path>& paths) {
  if (paths.empty()) throw UsageError("no run directories given");
  std::vector<fs::path> dirs;
  for (const fs::path& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec))
      throw UsageError(path.string() +
                       " is not a folder (expected a run directory or a folder "
                       "of them)");
    find_run_dirs(path, dirs);
  }
  RunScan scan;
  std::set<fs::path> seen;
  for (const fs::path& dir : dirs) {
    const fs::path canonical = fs::weakly_canonical(dir);
    if (!seen.insert(canonical).second) continue;  // the same run named twice
    if (!fs::exists(dir / "result.json")) {
      scan.notes.push_back(dir.filename().string() +
                           ": no result.json (still running, or stopped before its end); skipped");
      continue;
    }
    LoadedRun run = load_run(dir);
    if (run.torn_tail)
      scan.notes.push_back(run.run_id +
                           ": the score log's last line was torn (a crash mid-write); ignored");
    scan.runs.push_back(std::move(run));
  }
  if (scan.runs.empty()) {
    std::string list;
    for (const fs::path& path : paths) list += (list.empty() ? "" : ", ") + path.string();
    throw UsageError("no finished run (a folder with result.json) under " + list);
  }
  std::sort(scan.runs.begin(), scan.runs.end(), [](const LoadedRun& a, const LoadedRun& b) {
    return std::tie(a.environment, a.label, a.limit_s, a.run_id) <
           std::tie(b.environment, b.label, b.limit_s, b.run_id);
  });
  return scan;
}

}  // namespace rebench::report
