// `rebench check ENV`: scores the starting and the reference solution here and fails unless
// they normalise to ≈0 and ≈1 against the anchor table (catches anchor drift in CI).
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "rebench/anchors.hpp"
#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "rebench/logging.hpp"
#include "rebench/normalize.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/solution_scoring.hpp"

namespace rebench::cli {

void add_check_command(CLI::App& app, Context& context) {
  auto* command = app.add_subcommand(
      "check", "Score starting and reference here; fail unless they normalise to ~0 and ~1");
  struct Options {
    std::string environment, anchors;
    MachineOptions machine;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  command->add_option("ENV", o->environment, "Environment id")->required();
  command->add_option("--anchors", o->anchors, "Anchor table (default: configs/anchors.json)");
  add_machine_options(command, o->machine);
  command->add_flag("--json", o->json, "Print JSON");
  const Registry* registry = context.registry;
  context.actions["check"] = [o, registry] {
    const Environment& env = registry->get(o->environment);
    const EnvironmentInfo& info = env.info();
    Profile profile = resolve_profile(configs_dir() / "profiles", o->machine.profile);
    std::filesystem::path anchors_file =
        o->anchors.empty() ? configs_dir() / "anchors.json" : std::filesystem::path(o->anchors);
    AnchorTable table = AnchorTable::load(anchors_file);
    const AnchorPair* pair = table.find(info.id, profile.name());
    if (pair == nullptr)
      throw AnchorCheckError("no anchors for " + info.id + " on profile " + profile.name() +
                             " in " + anchors_file.string() +
                             " (measure them with `rebench calibrate " + info.id + "`)");
    const double tolerance = table.find(info.id)->check_tolerance;
    const double start = info.transform.apply(pair->starting.raw);
    const double ref = info.transform.apply(pair->reference.raw);
    GpuLease lease = lease_gpus_for(env, profile, o->machine.gpus);
    SolutionScorer scorer(env, profile, o->machine.sandbox_mode(), lease.gpus());
    nlohmann::json report = {{"environment", info.id},
                             {"profile", profile.name()},
                             {"tolerance", tolerance},
                             {"anchors_file", anchors_file.string()}};
    bool all_valid = true, within = true;
    struct Item {
      const char* name;
      std::filesystem::path folder;
      double expected;
    };
    for (const Item& item : {Item{"starting", scorer.starting_solution(), 0.0},
                             Item{"reference", scorer.reference_solution(), 1.0}}) {
      ScoreResult result;
      {
        Progress progress(std::string("scoring the ") + item.name + " solution");
        result = scorer.score(item.folder);
        progress.finish(result.valid ? fmt::format("{:.4f} {}", result.raw, info.metric_unit)
                                     : "INVALID");
      }
      nlohmann::json line = {
          {"valid", result.valid}, {"message", result.message}, {"expected", item.expected}};
      if (result.valid) {
        const double normalized = normalize(result.score, start, ref);
        const bool ok = std::fabs(normalized - item.expected) <= tolerance;
        within &= ok;
        line.update({{"raw", result.raw},
                     {"score", result.score},
                     {"normalized", normalized},
                     {"within_tolerance", ok}});
      } else {
        all_valid = false;
      }
      report[item.name] = line;
    }
    report["passed"] = all_valid && within;
    if (o->json) {
      print_json(report);
    } else {
      std::cout << fmt::format(
          "check {} on {} (anchors: starting {:.5g} {}, reference {:.5g} {}; tolerance ±{})\n",
          info.id, profile.name(), pair->starting.raw, info.metric_unit, pair->reference.raw,
          info.metric_unit, tolerance);
      for (const char* name : {"starting", "reference"}) {
        const auto& line = report[name];
        if (line["valid"].get<bool>())
          std::cout << fmt::format(
              "  {:<10} raw {:>10.4f}  normalised {:>7.3f} (expected {:.0f})  {}\n", name,
              line["raw"].get<double>(), line["normalized"].get<double>(),
              line["expected"].get<double>(),
              line["within_tolerance"].get<bool>() ? "ok" : "OUT OF TOLERANCE");
        else
          std::cout << fmt::format("  {:<10} INVALID: {}\n", name,
                                   line["message"].get<std::string>());
      }
      std::cout << (report["passed"].get<bool>() ? "PASSED\n" : "FAILED\n");
    }
    if (!all_valid) return ExitCode::kScoringFailed;
    return within ? ExitCode::kOk : ExitCode::kAnchorCheckFailed;
  };
}

}  // namespace rebench::cli
