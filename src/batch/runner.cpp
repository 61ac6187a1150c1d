// The batch command's logic (see runner.hpp): local and Slurm backends over one plan.
#include "batch/runner.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "batch/local_executor.hpp"
#include "batch/progress.hpp"
#include "batch/run_state.hpp"
#include "batch/signals.hpp"
#include "batch/summary.hpp"
#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "rebench/hardware.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/torch_tool.hpp"

namespace rebench::batch {

namespace fs = std::filesystem;

namespace {

void print_json_stdout(const Json& value) {
  std::cout << value.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

void link_or_copy(const fs::path& from, const fs::path& to) {
  const fs::path temporary = to.string() + ".new";
  std::error_code ec;
  fs::remove(temporary, ec);
  fs::create_hard_link(from, temporary, ec);
  if (ec) fs::copy_file(from, temporary, fs::copy_options::overwrite_existing);  // other filesystem
  fs::rename(temporary, to);  // atomic: a task starting now sees the old or the new file
}

/// The GPUs this batch may lease: visible ones, restricted to an explicit list.
std::vector<int> batch_gpus(const std::string& request) {
  std::vector<int> visible;
  for (const GpuInfo& gpu : visible_gpus()) visible.push_back(gpu.index);
  if (request.empty() || request == "auto") return visible;
  std::vector<int> chosen;
  std::stringstream list(request);
  std::string item;
  while (std::getline(list, item, ',')) {
    int gpu = -1;
    try {
      gpu = std::stoi(item);
    } catch (const std::exception&) {
      throw UsageError("--gpus: '" + item + "' is not a GPU index (use auto or e.g. 0,1)");
    }
    if (std::find(visible.begin(), visible.end(), gpu) == visible.end())
      throw UsageError("--gpus: GPU " + item + " is not visible on this machine");
    chosen.push_back(gpu);
  }
  return chosen;
}

std::string gpu_list(const std::vector<int>& gpus) {
  std::string out;
  for (int g : gpus) out += (out.empty() ? "" : ",") + std::to_string(g);
  return out;
}

/// One line on how a run ended, from its result.json.
std::pair<std::string, std::string> outcome_of(const fs::path& run_dir) {
  try {
    if (!fs::exists(run_dir / "result.json")) return {"failed", "no result.json"};
    Json result = read_json_file(run_dir / "result.json");
    const std::string status = result.value("status", "?");
    const Json& f = result["final"];
    if (status != "completed") return {status, ""};
    if (!f.value("valid", false)) return {status, "no valid score"};
    std::string note = fmt::format("score {:.4f}", f["score"].get<double>());
    if (f["normalized"].is_number())
      note += fmt::format(", normalised {:.3f}", f["normalized"].get<double>());
    return {status, note};
  } catch (const Error& e) {
    return {"failed", e.what()};
  }
}

void print_plan(const BatchPlan& plan, const std::vector<RunInspection>& states, bool json) {
  if (json) {
    Json out = plan.to_json();
    for (std::size_t i = 0; i < plan.runs.size(); ++i)
      out["runs"][i]["state"] = to_string(states[i].state);
    print_json_stdout(out);
    return;
  }
  std::size_t width = 3;
  for (const PlannedRun& r : plan.runs) width = std::max(width, r.name.size());
  std::cout << fmt::format("suite {} · profile {} · {} runs in {}\n", plan.suite, plan.profile,
                           plan.runs.size(), plan.runs_dir.string());
  std::cout << fmt::format("{:<{}}  {:<8} {:>4}  {:<16}  {}\n", "run", width, "limit", "GPUs",
                           "seed", "state");
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const PlannedRun& r = plan.runs[i];
    std::cout << fmt::format("{:<{}}  {:<8} {:>4}  {:<16}  {}\n", r.name, width,
                             duration_tag(r.time_limit_s), r.gpus, r.seed,
                             to_string(states[i].state));
  }
}

Json finish(const BatchPlan& plan, const std::vector<RunRecord>& records,
            const std::string& backend, bool interrupted, bool json) {
  Json summary = build_summary(plan, records, backend, interrupted);
  write_json_atomic(plan.batch_dir() / "summary.json", summary);
  if (json)
    print_json_stdout(summary);
  else
    std::cout << format_summary(summary)
              << "summary: " << (plan.batch_dir() / "summary.json").string() << "\n";
  return summary;
}

ExitCode run_local_backend(const Registry& registry, const BatchRequest& request,
                           const BatchPlan& plan, const std::vector<RunInspection>& states,
                           const fs::path& binary) {
  std::vector<RunRecord> records(plan.runs.size());
  std::vector<Job> jobs;
  bool needs_gpus = false;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    switch (states[i].state) {
      case RunState::kCompleted:
        records[i].action = "skipped";
        break;
      case RunState::kBusy:
        records[i].action = "busy";
        break;
      default:
        jobs.push_back({i, plan.runs[i].gpus});
        needs_gpus |= plan.runs[i].gpus > 0;
    }
  }
  LocalConfig config;
  config.parallel = request.parallel > 0 ? request.parallel : 1;
  config.lock_dir = default_gpu_lock_dir();
  if (needs_gpus) {
    config.available_gpus = batch_gpus(request.gpus);
    if (config.available_gpus.empty())
      throw UsageError("profile " + plan.profile +
                       " pins GPUs to runs but none is visible (use a CPU profile)");
  }
  config.command = [&](std::size_t index, const std::vector<int>& gpus) {
    ChildCommand command;
    command.argv = {binary.string(),       "batch-task", plan.plan_file().string(),
                    std::to_string(index), "--gpus",     gpus.empty() ? "auto" : gpu_list(gpus)};
    command.log_file = plan.batch_dir() / "logs" / (plan.runs[index].name + ".log");
    return command;
  };
  BatchProgress progress(plan, registry, ::isatty(STDERR_FILENO) == 1, stderr);
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    if (records[i].action == "skipped")
      progress.status(i, "skipped", "completed before");
    else if (records[i].action == "busy")
      progress.status(i, "busy", states[i].detail);
  }
  LocalHooks hooks;
  hooks.started = [&](std::size_t i, const std::vector<int>& gpus, pid_t) {
    records[i].action = states[i].state == RunState::kResumable ? "resumed" : "started";
    records[i].log = (plan.batch_dir() / "logs" / (plan.runs[i].name + ".log")).string();
    progress.started(i, records[i].action == "resumed" ? "resuming" : "running", gpus);
  };
  hooks.waiting_for_gpus = [&](std::size_t i) { progress.status(i, "waiting for GPUs"); };
  hooks.finished = [&](const JobExit& exit) {
    RunRecord& record = records[exit.index];
    if (exit.signal == 0) record.exit_code = exit.exit_code;
    record.signal = exit.signal;
    auto [status, note] = outcome_of(plan.run_dir(exit.index));
    if (status == "failed" || status == "interrupted")
      note = (exit.signal != 0 ? fmt::format("killed by signal {}", exit.signal)
                               : fmt::format("exit {}", exit.exit_code)) +
             "; log " + record.log;
    progress.finished(exit.index, status, note);
  };
  hooks.interrupted = [&](int signal) {
    progress.message(fmt::format(
        "received {}: stopping the runs (they end as interrupted; run the batch again to resume)",
        signal == SIGINT    ? "SIGINT"
        : signal == SIGTERM ? "SIGTERM"
                            : "a signal"));
  };
  hooks.tick = [&] { progress.tick(); };
  LocalReport report = run_local(jobs, config, hooks);
  progress.close();
  Json summary = finish(plan, records, "local", report.signal != 0, request.json);
  return summary_exit_code(summary);
}

ExitCode run_slurm_backend(const Registry& registry, const BatchRequest& request,
                           const BatchPlan& plan, const std::vector<RunInspection>& states,
                           const fs::path& binary) {
  std::vector<RunRecord> records(plan.runs.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    if (states[i].state == RunState::kCompleted)
      records[i].action = "skipped";
    else if (states[i].state == RunState::kBusy)
      records[i].action = "busy";
    else
      todo.push_back(i);
  }
  BatchProgress progress(plan, registry, ::isatty(STDERR_FILENO) == 1, stderr);
  // A job of an earlier invocation that is still queued or running is followed, not doubled.
  std::optional<SlurmJob> job;
  if (std::optional<SlurmJob> previous = last_job(plan);
      previous && !find_in_path("squeue").empty()) {
    auto tasks = active_tasks(previous->job_id);
    if (tasks && !tasks->empty()) {
      job = previous;
      progress.message(
          fmt::format("job {} of an earlier invocation still has {} task(s) queued or "
                      "running: following it instead of submitting again",
                      job->job_id, tasks->size()));
    }
  }
  if (!job) {
    if (todo.empty()) {
      Json summary = finish(plan, records, "slurm", false, request.json);
      return summary_exit_code(summary);
    }
    SlurmOptions options = request.slurm;
    options.parallel = request.parallel;
    job = submit_array(plan, todo, options, binary);
    progress.message(fmt::format("submitted Slurm job {} (array {}, {} run(s)); task logs in {}",
                                 job->job_id, array_spec(todo, options.parallel), todo.size(),
                                 job->logs.string()));
  }
  for (std::size_t i : job->indexes) {
    records[i].action = "submitted";
    records[i].log = job->log_of(i).string();
  }
  if (!request.wait) {
    if (request.json) {
      Json out = job->to_json();
      out["plan"] = plan.plan_file().string();
      print_json_stdout(out);
    } else {
      std::cout << fmt::format(
          "job {}: follow it with `squeue -j {}` or `rebench batch {} --backend slurm --wait`\n",
          job->job_id, job->job_id, request.suite);
    }
    return ExitCode::kOk;
  }
  BatchSignals signals;
  std::vector<bool> running(plan.runs.size(), false), done(plan.runs.size(), false);
  int failures = 0;
  while (true) {
    if (BatchSignals::first() != 0) {
      progress.close();
      std::cerr << fmt::format("stopped waiting; job {} keeps running (`scancel {}` stops it)\n",
                               job->job_id, job->job_id);
      finish(plan, records, "slurm", true, request.json);
      return ExitCode::kInterrupted;
    }
    auto tasks = active_tasks(job->job_id);
    if (!tasks) {
      if (++failures > 30)
        throw Error("squeue keeps failing; job " + job->job_id + " state unknown");
    } else {
      failures = 0;
      for (std::size_t i : job->indexes) {
        auto it = tasks->find(i);
        if (it != tasks->end()) {
          if (it->second == "RUNNING" && !running[i]) {
            running[i] = true;
            progress.started(i, "running", {});
          } else if (it->second != "RUNNING") {
            std::string word = it->second;
            for (char& c : word) c = static_cast<char>(std::tolower(c));
            progress.status(i, word == "pending" ? "queued" : word);
          }
        } else if (!done[i]) {
          done[i] = true;
          auto [status, note] = outcome_of(plan.run_dir(i));
          if (status == "failed" || status == "interrupted") note += "; log " + records[i].log;
          progress.finished(i, status, note);
        }
      }
      if (tasks->empty()) break;
    }
    progress.tick();
    std::this_thread::sleep_for(std::chrono::duration<double>(request.slurm.poll_s));
  }
  progress.close();
  Json summary = finish(plan, records, "slurm", false, request.json);
  return summary_exit_code(summary);
}

}  // namespace

fs::path pin_batch_binary(const fs::path& batch_dir) {
  const fs::path bin = batch_dir / "bin";
  fs::create_directories(bin / "sandbox-tools");
  link_or_copy(fs::canonical(self_executable()), bin / "rebench");
  std::error_code missing;
  const fs::path torch_tool = self_executable().parent_path() / kTorchToolName;
  if (fs::exists(torch_tool, missing))  // LM environments run it next to rebench
    link_or_copy(fs::canonical(torch_tool), bin / kTorchToolName);
  link_or_copy(fs::canonical(tools_dir() / "rebench-tool"), bin / "sandbox-tools" / "rebench-tool");
  for (const char* name : {"score", "score-log", "time-left"}) {
    std::error_code ec;
    fs::create_symlink("rebench-tool", bin / "sandbox-tools" / name, ec);
  }
  return bin / "rebench";
}

ExitCode run_batch(const Registry& registry, const BatchRequest& request) {
  if (request.backend != "local" && request.backend != "slurm")
    throw UsageError("--backend: '" + request.backend + "' is not local or slurm");
  if (request.parallel < 0) throw UsageError("--parallel must be at least 1");
  const fs::path suite_file = resolve_suite_path(request.suite);
  Suite suite = load_suite(suite_file, registry);
  std::string profile_name = !request.profile.empty() ? request.profile : suite.profile;
  if (request.backend == "slurm" && profile_name.empty())
    throw UsageError(
        "--backend slurm: the runs execute on other machines, so name their profile "
        "(\"profile\" in the suite, or --profile)");
  Profile profile = resolve_profile(configs_dir() / "profiles", profile_name);
  BatchPlan plan = expand_suite(suite, registry, profile, request.runs_dir);
  std::vector<RunInspection> states;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) states.push_back(inspect_run(plan.run_dir(i)));
  if (request.dry_run) {
    print_plan(plan, states, request.json);
    return ExitCode::kOk;
  }
  write_plan(plan);
  const fs::path binary = pin_batch_binary(plan.batch_dir());
  if (request.backend == "slurm") return run_slurm_backend(registry, request, plan, states, binary);
  return run_local_backend(registry, request, plan, states, binary);
}

}  // namespace rebench::batch
