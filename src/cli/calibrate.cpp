// `rebench calibrate ENV`: measures the starting and reference raw values on this machine
// (median of repeats) and writes them, with provenance, to an anchor table.
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "rebench/anchors.hpp"
#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "rebench/hardware.hpp"
#include "rebench/logging.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/solution_scoring.hpp"
#include "rebench/time_util.hpp"
#include "rebench/version.hpp"

namespace rebench::cli {

void add_calibrate_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand(
      "calibrate", "Measure starting/reference raw values here and store them as anchors");
  struct Options {
    std::string environment, write;
    MachineOptions machine;
    int repeats = 3;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  command->add_option("ENV", o->environment, "Environment id")->required();
  command->add_option("--repeats", o->repeats, "Scorings per solution; the median is stored")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  command->add_option("--write", o->write,
                      "Anchor table to update (default: $REBENCH_CACHE/anchors.local.json; pass "
                      "configs/anchors.json to update the committed table)");
  add_machine_options(command, o->machine);
  command->add_flag("--json", o->json, "Print JSON");
  const Registry* registry = context.registry;
  context.actions["calibrate"] = [o, registry] {
    const Environment& env = registry->get(o->environment);
    const EnvironmentInfo& info = env.info();
    Profile profile = resolve_profile(configs_dir() / "profiles", o->machine.profile);
    GpuLease lease = lease_gpus_for(env, profile, o->machine.gpus);
    SolutionScorer scorer(env, profile, o->machine.sandbox_mode(), lease.gpus());
    nlohmann::json report = {
        {"environment", info.id}, {"profile", profile.name()}, {"repeats", o->repeats}};
    AnchorPair pair;
    for (bool reference : {false, true}) {
      const char* name = reference ? "reference" : "starting";
      std::vector<double> raws;
      for (int i = 0; i < o->repeats; ++i) {
        Progress progress(fmt::format("scoring the {} solution ({}/{})", name, i + 1, o->repeats));
        ScoreResult r =
            scorer.score(reference ? scorer.reference_solution() : scorer.starting_solution());
        if (!r.valid)
          throw ScoringError(std::string("the ") + name + " solution is invalid: " + r.message);
        progress.finish(fmt::format("{:.4f} {}", r.raw, info.metric_unit));
        raws.push_back(r.raw);
      }
      std::vector<double> sorted = raws;
      std::sort(sorted.begin(), sorted.end());
      const double median = sorted.size() % 2
                                ? sorted[sorted.size() / 2]
                                : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
      Anchor anchor{median, hardware_label(), utc_date(), harness_commit(),
                    fmt::format("median of {} scorings by rebench calibrate", raws.size())};
      (reference ? pair.reference : pair.starting) = anchor;
      report[name] = {{"raw", median}, {"samples", raws}, {"score", info.transform.apply(median)}};
    }
    std::filesystem::path file =
        o->write.empty() ? cache_dir() / "anchors.local.json" : std::filesystem::path(o->write);
    std::filesystem::create_directories(file.parent_path().empty() ? "." : file.parent_path());
    AnchorTable table = std::filesystem::exists(file) ? AnchorTable::load(file) : AnchorTable();
    table.set(info.id, profile.name(), pair);
    table.save(file);
    report["written_to"] = file.string();
    if (o->json)
      print_json(report);
    else
      std::cout << fmt::format(
          "{} on {}: starting {:.4f} {}, reference {:.4f} {} → written to {}\n", info.id,
          profile.name(), pair.starting.raw, info.metric_unit, pair.reference.raw, info.metric_unit,
          file.string());
    return ExitCode::kOk;
  };
}

}  // namespace rebench::cli
