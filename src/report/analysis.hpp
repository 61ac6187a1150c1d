// The analysis behind `rebench report`: groups runs by environment × agent × time limit and
// computes means with bootstrap intervals, score@k, time-budget allocations, score-vs-time curves
// and human-expert percentiles. The result is one JSON document (format "rebench-report"); the
// Markdown and HTML renderers only format it, so all three outputs agree.
#pragma once

#include <string>
#include <vector>

#include "rebench/json_file.hpp"
#include "report/human_baselines.hpp"
#include "report/runs.hpp"
#include "report/statistics.hpp"

namespace rebench::report {

inline constexpr const char* kReportFormat = "rebench-report";
inline constexpr const char* kReportVersion = "1.0";

struct ReportOptions {
  BootstrapOptions bootstrap;
  int k_max = 8;  ///< score@k for k = 1 … k_max
};

/// Normalised (clipped at 0) score a run would have had if its log ended at `budget_s` of elapsed
/// time: the environment's selection rule over the entries up to then. 0 without a valid entry.
/// Requires run.has_anchors().
double normalized_at(const LoadedRun& run, double budget_s);

/// The whole report. `humans` may be null (no baselines file).
Json build_report(const RunScan& scan, const HumanBaselines* humans, const ReportOptions& options);

/// For --fail-under: one message per group whose mean normalised score is below `threshold` or
/// undefined (no completed run with anchors). Empty when every group passes.
std::vector<std::string> groups_below(const Json& report, double threshold);

/// Compact durations for labels: "8h", "30m", "1h30m", "45s", "2.5s".
std::string short_duration(double seconds);

}  // namespace rebench::report
