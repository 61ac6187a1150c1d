// Reading configs/human_baselines.json (see human_baselines.hpp).
#include "report/human_baselines.hpp"

#include <algorithm>
#include <cmath>

#include "rebench/errors.hpp"

namespace rebench::report {

std::vector<double> HumanEnvironment::normalized_values() const {
  std::vector<double> values;
  for (const HumanRun& run : runs) values.push_back(run.normalized_clipped);
  return values;
}

const HumanEnvironment* HumanBaselines::find(const std::string& environment) const {
  auto it = environments.find(environment);
  return it == environments.end() ? nullptr : &it->second;
}

HumanBaselines load_human_baselines(const std::filesystem::path& file) {
  const Json json = read_json_file(file);
  const ConfigReader root(file.string(), json, "");
  if (root.string("format") != "rebench-human-baselines")
    root.fail("format", "expected \"rebench-human-baselines\"");
  if (root.string("version").rfind("1.", 0) != 0) root.fail("version", "expected a 1.x version");
  HumanBaselines baselines;
  baselines.file = file.string();
  if (!root.raw("paper_aggregates").is_array()) root.fail("paper_aggregates", "expected an array");
  baselines.paper_aggregates = root.raw("paper_aggregates");
  if (root.has("sources")) baselines.sources = root.raw("sources");
  const ConfigReader environments = root.object("environments");
  for (const auto& item : environments.json().items()) {
    const ConfigReader env = environments.object(item.key());
    HumanEnvironment h;
    h.environment = item.key();
    h.metr_family = env.string("metr_family");
    h.metr_version = env.string("metr_version");
    const ConfigReader anchors = env.object("anchors");
    h.starting_score = anchors.number("starting_score");
    h.reference_score = anchors.number("reference_score");
    if (h.starting_score == h.reference_score)
      anchors.fail("reference_score", "expected a value different from starting_score");
    h.anchors_where = anchors.string("where");
    h.rows_where = env.object("rows_source").string("where");
    h.paper_expert_runs = static_cast<int>(env.integer("paper_expert_runs"));
    const Json& rows = env.raw("rows");
    if (!rows.is_array() || rows.empty()) env.fail("rows", "expected a non-empty array");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const ConfigReader row(file.string(), rows[i], env.path_of("rows") + "/" + std::to_string(i));
      HumanRun run;
      run.time = row.string("time");
      if (row.has("loss")) {
        // Older tables list raw losses: converted with the task's own transform ln(loss − c).
        if (!env.has("loss_offset")) row.fail("loss", "needs the environment's loss_offset");
        const double loss = row.number("loss") - env.number("loss_offset");
        if (!(loss > 0)) row.fail("loss", "expected a loss above loss_offset");
        run.score = std::log(loss);
      } else {
        run.score = row.number("score");
      }
      run.normalized = (run.score - h.starting_score) / (h.reference_score - h.starting_score);
      run.normalized_clipped = std::max(0.0, run.normalized);
      h.runs.push_back(run);
    }
    if (env.has("notes")) {
      for (const Json& note : env.raw("notes")) {
        if (!note.is_string()) env.fail("notes", "expected an array of strings");
        h.notes.push_back(note.get<std::string>());
      }
    }
    baselines.environments.emplace(h.environment, std::move(h));
  }
  return baselines;
}

}  // namespace rebench::report
