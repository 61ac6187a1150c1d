// Batch summaries (see summary.hpp).
#include "batch/summary.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/time_util.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

namespace {

Json read_result(const fs::path& run_dir) {
  try {
    if (fs::exists(run_dir / "result.json")) return read_json_file(run_dir / "result.json");
  } catch (const Error&) {
  }
  return nullptr;
}

std::string number(const Json& value, const char* format = "{:.4f}") {
  return value.is_number() ? fmt::format(fmt::runtime(format), value.get<double>()) : "-";
}

}  // namespace

Json build_summary(const BatchPlan& plan, const std::vector<RunRecord>& records,
                   const std::string& backend, bool interrupted) {
  Json runs = Json::array();
  Json counts = {{"total", plan.runs.size()},
                 {"completed", 0},
                 {"invalid", 0},
                 {"interrupted", 0},
                 {"failed", 0},
                 {"busy", 0},
                 {"not_started", 0},
                 {"skipped", 0},
                 {"started", 0},
                 {"resumed", 0},
                 {"submitted", 0}};
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const PlannedRun& run = plan.runs[i];
    const RunRecord record = i < records.size() ? records[i] : RunRecord{};
    const Json result = read_result(plan.run_dir(i));
    std::string status;
    if (result.is_object() && result.value("status", "") == "completed")
      status = "completed";
    else if (record.action == "busy")
      status = "busy";
    else if (record.action == "not started")
      status = "not started";
    else if (result.is_object() && result.value("status", "") == "interrupted")
      status = "interrupted";
    else
      status = "failed";
    Json entry = {{"name", run.name},
                  {"environment", run.environment},
                  {"label", run.label},
                  {"agent", run.agent_spec},
                  {"time_limit_s", run.time_limit_s},
                  {"repeat", run.repeat},
                  {"seed", run.seed},
                  {"run_dir", plan.run_dir(i).string()},
                  {"action", record.action},
                  {"status", status},
                  {"exit_code", record.exit_code ? Json(*record.exit_code) : Json(nullptr)},
                  {"signal", record.signal},
                  {"log", record.log},
                  {"final", nullptr},
                  {"time_used_s", nullptr}};
    if (result.is_object()) {
      const Json& f = result.value("final", Json::object());
      entry["final"] = {{"valid", f.value("valid", false)},
                        {"score", f.value("score", Json(nullptr))},
                        {"normalized", f.value("normalized", Json(nullptr))},
                        {"reason", f.value("reason", "")}};
      if (result.contains("time")) entry["time_used_s"] = result["time"].value("used_s", 0.0);
    }
    const std::string& action = record.action;
    if (action == "skipped" || action == "started" || action == "resumed" || action == "submitted")
      counts[action] = counts[action].get<int>() + 1;
    const std::string key = status == "not started" ? "not_started" : status;
    counts[key] = counts[key].get<int>() + 1;
    if (status == "completed" && !entry["final"].value("valid", false))
      counts["invalid"] = counts["invalid"].get<int>() + 1;
    runs.push_back(entry);
  }
  const bool complete = counts["completed"].get<std::size_t>() == plan.runs.size();
  Json summary = {{"suite", plan.suite},
                  {"suite_file", plan.suite_file},
                  {"profile", plan.profile},
                  {"backend", backend},
                  {"runs_dir", plan.runs_dir.string()},
                  {"finished", utc_timestamp()},
                  {"interrupted", interrupted},
                  {"complete", complete},
                  {"counts", counts},
                  {"runs", runs}};
  summary["exit_code"] = to_int(summary_exit_code(summary));
  return summary;
}

ExitCode summary_exit_code(const Json& summary) {
  if (summary.value("interrupted", false)) return ExitCode::kInterrupted;
  return summary.value("complete", false) ? ExitCode::kOk : ExitCode::kIncomplete;
}

std::string format_summary(const Json& summary) {
  const Json& runs = summary["runs"];
  std::size_t name_width = 3;
  for (const Json& r : runs) name_width = std::max(name_width, r["name"].get<std::string>().size());
  std::string out =
      fmt::format("\n== batch {} ({} backend) ==\n", summary["suite"].get<std::string>(),
                  summary["backend"].get<std::string>());
  out += fmt::format("{:<{}}  {:<11} {:<11} {:>10} {:>10} {:>9}  {}\n", "run", name_width, "action",
                     "status", "score", "normalised", "used", "note");
  for (const Json& r : runs) {
    std::string score = "-", normalized = "-", note;
    // Only a completed run has a final score (an interrupted one shows what it had so far).
    if (r["final"].is_object() && r["status"] == "completed") {
      const Json& f = r["final"];
      if (f["valid"].get<bool>()) {
        score = number(f["score"]);
        normalized = number(f["normalized"], "{:.3f}");
      } else {
        note = "no valid score (" + f["reason"].get<std::string>() + ")";
      }
    }
    const std::string status = r["status"].get<std::string>();
    if (status == "failed" || status == "interrupted") {
      if (r["signal"].get<int>() != 0)
        note = fmt::format("killed by signal {}", r["signal"].get<int>());
      else if (r["exit_code"].is_number())
        note = fmt::format("exit {}", r["exit_code"].get<int>());
      if (!r["log"].get<std::string>().empty()) note += "; log " + r["log"].get<std::string>();
    }
    out += fmt::format(
        "{:<{}}  {:<11} {:<11} {:>10} {:>10} {:>9}  {}\n", r["name"].get<std::string>(), name_width,
        r["action"].get<std::string>(), status, score, normalized,
        r["time_used_s"].is_number() ? format_duration(r["time_used_s"].get<double>()) : "-", note);
  }
  const Json& c = summary["counts"];
  out += fmt::format("{} of {} runs completed ({} skipped as done before, ",
                     c["completed"].get<int>(), c["total"].get<int>(), c["skipped"].get<int>());
  if (c["submitted"].get<int>() > 0)
    out += fmt::format("{} run as Slurm array tasks)", c["submitted"].get<int>());
  else
    out += fmt::format("{} started, {} resumed)", c["started"].get<int>(), c["resumed"].get<int>());
  if (c["invalid"].get<int>() > 0)
    out += fmt::format("; {} completed without a valid score (normalised 0, not a batch failure)",
                       c["invalid"].get<int>());
  for (const char* key : {"failed", "interrupted", "busy", "not_started"})
    if (c[key].get<int>() > 0) out += fmt::format("; {} {}", c[key].get<int>(), key);
  out += "\n";
  return out;
}

}  // namespace rebench::batch
