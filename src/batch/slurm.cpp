// Slurm job arrays for batches (see slurm.hpp).
#include "batch/slurm.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/process.hpp"
#include "rebench/time_util.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

fs::path slurm_dir(const BatchPlan& plan) { return plan.batch_dir() / "slurm"; }

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
    text.pop_back();
  return text;
}

}  // namespace

fs::path find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
  }
  return {};
}

fs::path SlurmJob::log_of(std::size_t index) const {
  return logs / fmt::format("{}_{}.out", job_id, index);
}

Json SlurmJob::to_json() const {
  return {{"job_id", job_id},      {"indexes", indexes},         {"script", script.string()},
          {"logs", logs.string()}, {"sbatch_argv", sbatch_argv}, {"submitted", utc_timestamp()}};
}

std::string array_spec(std::vector<std::size_t> indexes, int parallel) {
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  std::string out;
  for (std::size_t i = 0; i < indexes.size();) {
    std::size_t j = i;
    while (j + 1 < indexes.size() && indexes[j + 1] == indexes[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(indexes[i]);
    if (j > i) out += "-" + std::to_string(indexes[j]);
    i = j + 1;
  }
  if (parallel > 0) out += "%" + std::to_string(parallel);
  return out;
}

std::string slurm_time(double seconds) {
  long long minutes = static_cast<long long>(std::ceil(std::max(60.0, seconds) / 60.0));
  return fmt::format("{}-{:02d}:{:02d}:00", minutes / (24 * 60), (minutes / 60) % 24, minutes % 60);
}

std::vector<std::string> sbatch_command(const BatchPlan& plan,
                                        const std::vector<std::size_t>& indexes,
                                        const SlurmOptions& options, const fs::path& script) {
  if (indexes.empty()) throw UsageError("slurm: no runs to submit");
  double longest = 0, memory_gb = 0;
  int gpus = 0;
  for (std::size_t i : indexes) {
    const PlannedRun& run = plan.runs.at(i);
    longest = std::max(longest, run.time_limit_s);
    memory_gb = std::max(memory_gb, run.memory_gb);
    gpus = std::max(gpus, run.gpus);
  }
  std::vector<std::string> argv = {
      "sbatch", "--parsable", "--job-name=rebench-" + plan.suite,
      "--array=" + array_spec(indexes, options.parallel),
      "--output=" + (slurm_dir(plan) / "logs" / "%A_%a.out").string(),
      "--time=" + slurm_time(longest + options.margin_s), "--nodes=1", "--ntasks=1",
      // The run's sandbox limit plus 1 GiB for the harness and its scoring worker.
      fmt::format("--mem={}M", static_cast<long long>(std::ceil((memory_gb + 1) * 1024)))};
  if (gpus > 0) argv.push_back(fmt::format("--gres=gpu:{}", gpus));
  if (options.cpus_per_task > 0)
    argv.push_back(fmt::format("--cpus-per-task={}", options.cpus_per_task));
  if (!options.partition.empty()) argv.push_back("--partition=" + options.partition);
  if (!options.account.empty()) argv.push_back("--account=" + options.account);
  argv.insert(argv.end(), options.sbatch_args.begin(), options.sbatch_args.end());
  argv.push_back(script.string());
  return argv;
}

std::string job_script(const BatchPlan& plan, const fs::path& binary) {
  return fmt::format(
      "#!/bin/sh\n"
      "# rebench batch {}: one planned run per array task (array index = index in plan.json).\n"
      "# Written by `rebench batch --backend slurm`; each task skips a completed run, resumes an\n"
      "# interrupted one and starts a new one otherwise.\n"
      "exec {} batch-task {} \"$SLURM_ARRAY_TASK_ID\"\n",
      plan.suite, shell_quote(binary.string()), shell_quote(plan.plan_file().string()));
}

SlurmJob submit_array(const BatchPlan& plan, const std::vector<std::size_t>& indexes,
                      const SlurmOptions& options, const fs::path& binary) {
  if (find_in_path("sbatch").empty())
    throw UsageError(
        "--backend slurm: `sbatch` is not on PATH (install the Slurm client, e.g. Debian's "
        "slurm-client, or run on a login node of the cluster)");
  SlurmJob job;
  job.indexes = indexes;
  job.script = slurm_dir(plan) / "job.sh";
  job.logs = slurm_dir(plan) / "logs";
  fs::create_directories(job.logs);
  write_file_atomic(job.script, job_script(plan, binary));
  fs::permissions(job.script,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  job.sbatch_argv = sbatch_command(plan, indexes, options, job.script);
  ProcessResult result = run_process(job.sbatch_argv, 120, plan.batch_dir());
  const std::string output = trimmed(result.output);
  if (!result.ok()) throw Error("sbatch failed (" + result.describe() + "): " + output);
  // --parsable prints "JOBID" or "JOBID;CLUSTER" (warnings may come first, on their own lines).
  std::string last = output.substr(
      output.find_last_of('\n') == std::string::npos ? 0 : output.find_last_of('\n') + 1);
  job.job_id = last.substr(0, last.find(';'));
  if (job.job_id.empty() ||
      !std::all_of(job.job_id.begin(), job.job_id.end(), [](char c) { return std::isdigit(c); }))
    throw Error("sbatch printed no job id: " + output);
  write_json_atomic(slurm_dir(plan) / "job.json", job.to_json());
  return job;
}

std::optional<SlurmJob> last_job(const BatchPlan& plan) {
  const fs::path file = slurm_dir(plan) / "job.json";
  if (!fs::exists(file)) return std::nullopt;
  try {
    Json json = read_json_file(file);
    SlurmJob job;
    job.job_id = json.at("job_id").get<std::string>();
    job.indexes = json.at("indexes").get<std::vector<std::size_t>>();
    job.script = json.at("script").get<std::string>();
    job.logs = json.at("logs").get<std::string>();
    job.sbatch_argv = json.at("sbatch_argv").get<std::vector<std::string>>();
    return job;
  } catch (const std::exception&) {
    return std::nullopt;  // damaged by hand: treated as no previous job
  }
}

std::optional<std::map<std::size_t, std::string>> active_tasks(const std::string& job_id) {
  // -r: one line per array task, pending ones included; %K is the array index.
  ProcessResult result = run_process({"squeue", "-h", "-r", "-j", job_id, "-o", "%K %T"}, 60);
  std::map<std::size_t, std::string> tasks;
  if (!result.ok()) {
    // After the job leaves the controller's memory squeue calls its id invalid: nothing active.
    if (result.output.find("Invalid job id") != std::string::npos) return tasks;
    return std::nullopt;
  }
  std::stringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::stringstream fields(line);
    std::string index, state;
    if (!(fields >> index >> state)) continue;
    try {
      tasks[std::stoul(index)] = state;
    } catch (const std::exception&) {
      // "N/A" for a job that is not an array: not ours.
    }
  }
  return tasks;
}

}  // namespace rebench::batch
