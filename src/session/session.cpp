// The run lifecycle (see session.hpp): one Session object drives one run directory.
#include "rebench/session.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "rebench/anchors.hpp"
#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "rebench/hardware.hpp"
#include "rebench/logging.hpp"
#include "rebench/normalize.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/run_dir.hpp"
#include "rebench/score_door.hpp"
#include "rebench/score_log.hpp"
#include "rebench/scoring_worker.hpp"
#include "rebench/snapshot.hpp"
#include "rebench/time_util.hpp"
#include "rebench/torch_tool.hpp"
#include "rebench/version.hpp"

namespace rebench {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kSnapshotCapBytes = 256ull << 20;  // solution/ is code, not data

std::atomic<int> g_signal{0};
extern "C" void on_signal(int signal) { g_signal = signal; }

/// Catches SIGINT/SIGTERM/SIGHUP for the duration of a run (children get default handlers).
class SignalScope {
 public:
  SignalScope() {
    g_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &action, &previous_[s]);
  }
  ~SignalScope() {
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &previous_[s], nullptr);
  }

 private:
  struct sigaction previous_[32]{};
};

std::string iso_in(double seconds_from_now) {
  auto when = std::chrono::system_clock::now() +
              std::chrono::milliseconds(static_cast<long long>(seconds_from_now * 1000));
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string sandbox_mode_name(SandboxMode mode) {
  return mode == SandboxMode::kBubblewrap ? "bubblewrap" : "none";
}

Json options_to_json(const RunOptions& o) {
  return {{"environment", o.environment_id},
          {"agent", o.agent.describe()},
          {"time_limit_s", o.time_limit_s},
          {"profile", o.profile},
          {"gpus_request", o.gpus},
          {"network", o.network},
          {"seed", o.seed ? Json(*o.seed) : Json(nullptr)},
          {"sandbox", sandbox_mode_name(o.sandbox)},
          {"agent_dir", o.agent_dir.string()},
          {"pass_env", o.pass_env},
          {"count_score_time", o.count_score_time},
          {"anchors_file", o.anchors_file.string()},
          {"kill_grace_s", o.kill_grace_s},
          {"score_timeout_s", o.score_timeout_s},
          {"label", o.label.empty() ? Json(nullptr) : Json(o.label)},
          {"suite", o.suite.empty() ? Json(nullptr) : Json(o.suite)}};
}

RunOptions options_from_json(const Json& j) {
  RunOptions o;
  o.environment_id = j.at("environment").get<std::string>();
  const std::string agent = j.at("agent").get<std::string>();
  if (agent == "human")
    o.agent.kind = AgentSpec::Kind::kHuman;
  else
    o.agent = parse_agent_spec(agent);
  o.time_limit_s = j.at("time_limit_s").get<double>();
  o.profile = j.at("profile").get<std::string>();
  o.gpus = j.at("gpus_request").get<std::string>();
  o.network = j.at("network").get<bool>();
  if (!j.at("seed").is_null()) o.seed = j.at("seed").get<std::uint64_t>();
  o.sandbox =
      j.at("sandbox").get<std::string>() == "none" ? SandboxMode::kNone : SandboxMode::kBubblewrap;
  o.agent_dir = j.at("agent_dir").get<std::string>();
  o.pass_env = j.at("pass_env").get<std::vector<std::string>>();
  o.count_score_time = j.at("count_score_time").get<bool>();
  o.anchors_file = j.at("anchors_file").get<std::string>();
  o.kill_grace_s = j.at("kill_grace_s").get<double>();
  o.score_timeout_s = j.at("score_timeout_s").get<double>();
  // Absent in runs recorded before batches existed.
  if (j.contains("label") && j["label"].is_string()) o.label = j["label"].get<std::string>();
  if (j.contains("suite") && j["suite"].is_string()) o.suite = j["suite"].get<std::string>();
  return o;
}

/// What the agent may see of an entry: no score where the environment hides scores.
Json agent_view(const ScoreEntry& entry, ScoreVisibility visibility) {
  Json view = {{"index", entry.index},
               {"kind", to_string(entry.kind)},
               {"timestamp", entry.timestamp},
               {"elapsed_s", entry.elapsed_s},
               {"valid", entry.valid},
               {"message", entry.message},
               {"scorer_duration_s", entry.scorer_duration_s},
               {"snapshot_id", entry.snapshot_id}};
  if (visibility == ScoreVisibility::kVisible) {
    view["score"] = finite_or_null(entry.score);
    view["metrics"] = metrics_to_json(entry.metrics);
    view["details"] = entry.details;
  }
  return view;
}

class Session {
 public:
  Session(const Environment& env, Profile profile, RunOptions options, RunDir run, GpuLease lease,
          double used_before)
      : env_(env),
        profile_(std::move(profile)),
        options_(std::move(options)),
        run_(std::move(run)),
        lease_(std::move(lease)),
        used_before_(used_before) {
    limit_s_ = options_.time_limit_s > 0 ? options_.time_limit_s : env_.info().default_time_limit_s;
    score_timeout_s_ =
        options_.score_timeout_s > 0 ? options_.score_timeout_s : env_.info().score_timeout_s;
    fs::create_directories(run_.root() / "scoring");
    pin_binaries();
  }

  RunOutcome execute(bool fresh) {
    SignalScope signals;
    // Orphans of the agent re-parent to us (so --sandbox none can still find and kill them).
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (fresh) {
      log_.emplace(ScoreLogWriter::create(
          run_.score_log(), {run_.id(), env_.info().id, env_.info().version, utc_timestamp()}));
    } else {
      log_.emplace(ScoreLogWriter::open(run_.score_log()));
      entries_ = read_score_log(run_.score_log()).entries;
    }
    bool have_baseline = false;
    for (const ScoreEntry& e : entries_) have_baseline |= e.kind == EntryKind::kBaseline;
    if (!have_baseline) {
      Progress progress("baseline score of the starting solution");
      ScoreEntry baseline = score_now(EntryKind::kBaseline);
      progress.finish(baseline.valid ? fmt::format("{:.4f}", baseline.score)
                                     : "INVALID: " + baseline.message);
    }

    std::string ended_by = run_agent();
    if (agent_end_used_ <= 0) agent_end_used_ = used_now();  // the final score is not agent time
    const bool interrupted = ended_by == "interrupted";
    if (!interrupted) {
      Progress progress("final score");
      ScoreEntry final_entry = score_now(EntryKind::kFinal);
      progress.finish(final_entry.valid ? fmt::format("{:.4f}", final_entry.score)
                                        : "INVALID: " + final_entry.message);
    }
    write_state(interrupted ? "interrupted" : "completed");
    Json result = build_result(interrupted ? "interrupted" : "completed", ended_by);
    write_json_atomic(run_.result_json(), result);
    RunOutcome outcome{run_.root(), result, ExitCode::kOk};
    if (interrupted)
      outcome.exit_code = ExitCode::kInterrupted;
    else if (!result["final"]["valid"].get<bool>())
      outcome.exit_code = ExitCode::kScoringFailed;
    return outcome;
  }

 private:
  /// Links the worker binary and the sandbox tools into runs/<id>/bin: a rebuild of rebench
  /// during a long run replaces the files in build/, not the inodes this run uses.
  void pin_binaries() {
    const fs::path bin = run_.root() / "bin";
    auto pin = [](const fs::path& from, const fs::path& to) {
      std::error_code ec;
      fs::remove(to, ec);
      fs::create_hard_link(from, to, ec);
      if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);  // other filesystem
    };
    fs::create_directories(bin / "tools");
    // rebench-lm too (LM environments' scorers run it next to the worker), before the worker
    // executable changes to the pinned copy.
    if (auto torch_tool = worker_torch_tool()) pin(*torch_tool, bin / kTorchToolName);
    pin(worker_executable(), bin / "rebench");
    set_worker_executable(bin / "rebench");
    pin(tools_dir() / "rebench-tool", bin / "tools" / "rebench-tool");
    for (const char* name : {"score", "score-log", "time-left"}) {
      std::error_code ec;
      fs::create_symlink("rebench-tool", bin / "tools" / name, ec);
    }
    tools_ = bin / "tools";
  }

  double used_now() const {
    if (agent_start_ <= 0) return used_before_;
    const double now = monotonic_seconds();
    const double frozen = frozen_since_ > 0 ? now - frozen_since_ : 0.0;
    return used_before_ + (now - agent_start_) - excluded_score_s_ - frozen;
  }
  double seconds_left() const { return std::max(0.0, limit_s_ - used_now()); }

  void write_state(const std::string& status) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    write_json_atomic(run_.state_json(), {{"status", status},
                                          {"used_s", used_now()},
                                          {"limit_s", limit_s_},
                                          {"updated", utc_timestamp()}});
  }

  ScoreEntry score_now(EntryKind kind) {
    std::lock_guard<std::mutex> lock(score_mutex_);
    const double start = monotonic_seconds();
    const std::string timestamp = utc_timestamp();
    const double elapsed = kind == EntryKind::kBaseline ? 0.0 : used_now();
    ScoreEntry entry;
    try {
      Snapshot snapshot =
          take_snapshot(run_.home() / "solution", run_.snapshots(), kSnapshotCapBytes);
      const int index = log_->next_index();
      ScoringCall call;
      call.environment = &env_;
      call.profile = &profile_;
      call.snapshot = snapshot.folder;
      call.private_dir = run_.private_dir();
      call.scratch = run_.scratch();
      call.call_dir = run_.root() / "scoring" / fmt::format("call-{:04d}", index);
      call.log_file = run_.root() / "scoring" / fmt::format("call-{:04d}.log", index);
      call.seed = fresh_seed();
      call.timeout_s = score_timeout_s_;
      call.gpus = lease_.gpus();
      call.mode = options_.sandbox;
      call.cancel = &g_signal;
      // Uncharged score time: the clock stops for the agent (used_now() subtracts it while the
      // call runs, so the deadline cannot fire meanwhile) and the agent itself is frozen, or a
      // score call kept always in flight would give it unlimited time.
      const bool exclude =
          !options_.count_score_time && kind != EntryKind::kFinal && agent_start_ > 0;
      if (exclude) frozen_since_ = monotonic_seconds();
      if (exclude && agent_ != nullptr) agent_->pause(true);
      ScoreResult result = score_in_worker(call);
      if (exclude && agent_ != nullptr) agent_->pause(false);
      if (exclude) {
        excluded_score_s_ = excluded_score_s_ + (monotonic_seconds() - frozen_since_);
        frozen_since_ = 0;
      }
      std::error_code ec;
      fs::remove_all(call.call_dir, ec);
      entry = ScoreEntry::from_result(result);
      entry.snapshot_id = snapshot.id;
    } catch (const Error& e) {
      entry = ScoreEntry::from_result(ScoreResult::invalid(e.what()));
    }
    entry.kind = kind;
    entry.timestamp = timestamp;
    entry.elapsed_s = elapsed;
    entry.scorer_duration_s = monotonic_seconds() - start;
    entry = log_->append(entry);
    {
      std::lock_guard<std::mutex> entries_lock(entries_mutex_);
      entries_.push_back(entry);
    }
    spdlog::info("score #{} ({}): {} {}", entry.index, to_string(kind),
                 entry.valid ? "valid" : "invalid", entry.message);
    if (agent_start_ > 0) write_state("running");
    return entry;
  }

  Json door_score() {
    if (seconds_left() <= 0) return {{"ok", false}, {"error", "time is up"}};
    ScoreEntry entry = score_now(
        options_.agent.kind == AgentSpec::Kind::kReplay ? EntryKind::kReplay : EntryKind::kAgent);
    return {{"ok", true}, {"entry", agent_view(entry, env_.info().visibility)}};
  }

  Json door_log() {
    std::lock_guard<std::mutex> lock(
        entries_mutex_);  // not the scoring lock: no wait behind a score
    Json list = Json::array();
    for (const ScoreEntry& e : entries_) list.push_back(agent_view(e, env_.info().visibility));
    return {{"ok", true}, {"entries", list}};
  }

  Json door_time() {
    double left = seconds_left();
    return {{"ok", true},
            {"seconds_left", left},
            {"deadline", iso_in(left)},
            {"time_limit_s", limit_s_}};
  }

  SandboxSpec agent_sandbox(const fs::path& door_folder) const {
    SandboxSpec spec;
    spec.mode = options_.sandbox;
    spec.network = options_.network;
    spec.gpus = lease_.gpus();
    spec.limits = {env_.info().resources.memory_gb, env_.info().resources.max_processes, 16.0};
    spec.cgroup_name = "rebench-" + run_.id();
    const bool sandboxed = options_.sandbox == SandboxMode::kBubblewrap;
    const fs::path home = sandboxed ? fs::path("/home/agent") : run_.home();
    const fs::path tools = sandboxed ? fs::path("/opt/rebench/bin") : tools_;
    const fs::path socket =
        sandboxed ? fs::path("/run/rebench/door.sock") : door_folder / "door.sock";
    spec.workdir = home;
    spec.binds = {{run_.home(), "/home/agent", true},
                  {door_folder, "/run/rebench", true},
                  {tools_, "/opt/rebench/bin", false}};
    // The toolchain the harness builds with, so agents can compile and test locally too.
    for (const fs::path& folder : toolchain_folders())
      spec.binds.push_back({folder, folder, false});
    std::string path = tools.string() + ":/usr/local/cuda/bin:/usr/local/bin:/usr/bin:/bin";
    if (!options_.agent_dir.empty()) {
      spec.binds.push_back({fs::absolute(options_.agent_dir), "/opt/agent", false});
      const fs::path agent = sandboxed ? fs::path("/opt/agent") : fs::absolute(options_.agent_dir);
      path = tools.string() + ":" + (agent / "bin").string() + ":" + agent.string() +
             ":/usr/local/bin:/usr/bin:/bin";
    }
    const double left = seconds_left();
    spec.environment = {"PATH=" + path,
                        "HOME=" + home.string(),
                        "USER=agent",
                        "LANG=C.UTF-8",
                        "REBENCH_SOCKET=" + socket.string(),
                        "REBENCH_INSTRUCTIONS=" + (home / "instructions.md").string(),
                        "REBENCH_DEADLINE=" + iso_in(left),
                        fmt::format("REBENCH_TIME_LIMIT_S={:.0f}", left),
                        fmt::format("REBENCH_SEED={}", options_.seed.value_or(0))};
    if (const char* term = std::getenv("TERM");
        term != nullptr && options_.agent.kind == AgentSpec::Kind::kHuman)
      spec.environment.push_back(std::string("TERM=") + term);
    for (const std::string& name : options_.pass_env)
      if (const char* value = std::getenv(name.c_str()); value != nullptr)
        spec.environment.push_back(name + "=" + value);
    if (!lease_.gpus().empty()) {
      std::string ids;
      for (const GpuInfo& gpu : visible_gpus())
        for (int index : lease_.gpus())
          if (gpu.index == index) ids += (ids.empty() ? "" : ",") + gpu.uuid;
      spec.environment.push_back("CUDA_VISIBLE_DEVICES=" + ids);
    }
    return spec;
  }

  /// Runs the agent until it ends, the budget is spent, or the user interrupts.
  std::string run_agent() {
    agent_start_ = monotonic_seconds();
    write_state("running");
    const AgentSpec& agent = options_.agent;
    if (seconds_left() <= 0) return "deadline";
    switch (agent.kind) {
      case AgentSpec::Kind::kNoop:
        return "agent finished";
      case AgentSpec::Kind::kReference: {
        fs::path reference = env_.reference_solution(profile_);
        restore_snapshot(reference, run_.home() / "solution");
        give_to_sandbox_user(run_.home() / "solution");
        score_now(EntryKind::kAgent);
        return "agent finished";
      }
      case AgentSpec::Kind::kReplay:
        return replay();
      case AgentSpec::Kind::kCommand:
      case AgentSpec::Kind::kHuman:
        return run_process_agent();
    }
    return "agent finished";
  }

  std::string replay() {
    ScoreLogContents recorded = read_score_log(options_.agent.replay_dir / "score_log.jsonl");
    for (const ScoreEntry& e : recorded.entries) {
      if (e.kind != EntryKind::kAgent && e.kind != EntryKind::kReplay) continue;
      if (e.snapshot_id.empty() || e.elapsed_s < used_now() - 1e-9) continue;
      while (used_now() < e.elapsed_s) {
        if (g_signal != 0) return "interrupted";
        if (seconds_left() <= 0) return "deadline";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      restore_snapshot(options_.agent.replay_dir / "snapshots" / e.snapshot_id,
                       run_.home() / "solution");
      score_now(EntryKind::kReplay);
    }
    return "agent finished";
  }

  std::string run_process_agent() {
    const bool human = options_.agent.kind == AgentSpec::Kind::kHuman;
    ScoreDoor door({[this] { return door_score(); }, [this] { return door_log(); },
                    [this] { return door_time(); }});
    SandboxSpec spec = agent_sandbox(door.folder());
    if (human) {
      spec.command = {"/bin/bash", "--noprofile", "--norc", "-i"};
      spec.environment.push_back("PS1=[rebench " + env_.info().id + "] \\w$ ");
      print_banner();
    } else {
      spec.command = {"/bin/sh", "-c", options_.agent.command};
    }
    StdioPlan stdio;
    if (!human)
      stdio = {run_.agent() / "stdout.log", run_.agent() / "stderr.log", true};
    else
      stdio.stdin_null = false;
    SandboxedProcess process = SandboxedProcess::start(spec, stdio);
    sandbox_limits_ = process.limits_record();
    {
      std::lock_guard<std::mutex> lock(score_mutex_);
      agent_ = &process;
    }
    std::string ended_by;
    double last_state = monotonic_seconds();
    int warned = 0;
    const double warnings[] = {30 * 60, 10 * 60, 60};
    while (true) {
      if (auto status = process.poll()) {
        ended_by = "agent exited";
        agent_exit_ = *status;
        break;
      }
      if (seconds_left() <= 0) {
        ended_by = "deadline";
        break;
      }
      int signal = g_signal.exchange(0);
      if (signal == SIGTERM || signal == SIGHUP || (signal == SIGINT && !human)) {
        ended_by = "interrupted";
        break;
      }
      if (human) {
        while (warned < 3 && seconds_left() <= warnings[warned]) {
          if (limit_s_ > warnings[warned])
            std::fprintf(stderr, "\n\033[1mrebench: %s left\033[0m\n",
                         format_duration(seconds_left()).c_str());
          ++warned;
        }
      }
      if (monotonic_seconds() - last_state > 5) {
        write_state("running");
        last_state = monotonic_seconds();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double stop_at = monotonic_seconds();
    int status = process.terminate(options_.kill_grace_s);
    {
      std::lock_guard<std::mutex> lock(score_mutex_);  // waits for a scoring in progress
      agent_ = nullptr;
    }
    if (!agent_exit_) agent_exit_ = status;
    spdlog::info("agent stopped ({}) in {:.2f}s", ended_by, monotonic_seconds() - stop_at);
    if (human) std::fprintf(stderr, "\nrebench: session over (%s)\n", ended_by.c_str());
    door.close();  // waits for a scoring in progress; queued requests are refused
    agent_end_used_ = used_now();
    return ended_by;
  }

  void print_banner() const {
    std::fprintf(stderr,
                 "\n\033[1m== rebench: %s ==\033[0m\n"
                 "Task:      ~/instructions.md\n"
                 "Solution:  ~/solution (scored as a snapshot on every `score`)\n"
                 "Tools:     score, score-log, time-left   (add --json for machine output)\n"
                 "Time left: %s (deadline %s UTC)\n"
                 "Exit the shell to end the session early.\n\n",
                 env_.info().title.c_str(), format_duration(seconds_left()).c_str(),
                 iso_in(seconds_left()).c_str());
  }

  Json build_result(const std::string& status, const std::string& ended_by) {
    const EnvironmentInfo& info = env_.info();
    Json result = {{"schema_version", kResultSchemaVersion},
                   {"run_id", run_.id()},
                   {"environment", {{"id", info.id}, {"version", info.version}}},
                   {"profile", profile_.name()},
                   {"status", status},
                   {"finished", utc_timestamp()}};
    result["agent"] = {{"spec", options_.agent.describe()},
                       {"self_test", options_.agent.is_self_test()},
                       {"ended_by", ended_by},
                       {"exit_status", agent_exit_ ? Json(*agent_exit_) : Json(nullptr)},
                       {"label", options_.label.empty() ? Json(nullptr) : Json(options_.label)}};
    result["suite"] = options_.suite.empty() ? Json(nullptr) : Json(options_.suite);
    // Anchors: the committed table (or --anchors) for this environment and profile.
    fs::path anchors_file =
        options_.anchors_file.empty() ? configs_dir() / "anchors.json" : options_.anchors_file;
    std::optional<AnchorPair> anchors;
    try {
      AnchorTable table = AnchorTable::load(anchors_file);
      if (const AnchorPair* pair = table.find(info.id, profile_.name())) anchors = *pair;
    } catch (const Error& e) {
      spdlog::warn("anchors unavailable: {}", e.what());
    }
    std::optional<std::size_t> chosen =
        select_final_entry(entries_, info.selection, info.direction);
    if (anchors) {
      const double start = info.transform.apply(anchors->starting.raw);
      const double ref = info.transform.apply(anchors->reference.raw);
      result["anchors"] = {{"file", anchors_file.string()},
                           {"profile", profile_.name()},
                           {"starting_raw", anchors->starting.raw},
                           {"reference_raw", anchors->reference.raw},
                           {"starting_score", start},
                           {"reference_score", ref},
                           {"measured_on", anchors->reference.hardware}};
      result["final"] = final_score(entries_, info.selection, info.direction, start, ref).to_json();
    } else {
      FinalScore f;
      f.valid = chosen.has_value();
      if (chosen) {
        f.entry_index = entries_[*chosen].index;
        f.raw = entries_[*chosen].raw;
        f.score = entries_[*chosen].score;
      } else {
        f.raw = f.score = std::nan("");
        f.reason = "no valid score";
      }
      result["final"] = f.to_json();
      result["final"]["normalized"] = nullptr;
      result["final"]["normalized_clipped"] = nullptr;
      result["final"]["normalization_unavailable"] = "no anchors for " + info.id + " on profile " +
                                                     profile_.name() + " in " +
                                                     anchors_file.string();
      result["anchors"] = nullptr;
    }
    int calls = 0, invalid = 0;
    double score_time = 0;
    Json baseline = nullptr;
    for (const ScoreEntry& e : entries_) {
      if (e.kind == EntryKind::kAgent || e.kind == EntryKind::kReplay) {
        ++calls;
        invalid += e.valid ? 0 : 1;
      }
      if (e.kind != EntryKind::kBaseline) score_time += e.scorer_duration_s;
      if (e.kind == EntryKind::kBaseline)
        baseline = {{"index", e.index},
                    {"valid", e.valid},
                    {"raw", finite_or_null(e.raw)},
                    {"score", finite_or_null(e.score)},
                    {"message", e.message}};
    }
    result["baseline"] = baseline;
    result["score_calls"] = calls;
    result["invalid_score_calls"] = invalid;
    result["entries"] = entries_.size();
    result["time"] = {
        {"limit_s", limit_s_},
        {"used_s", std::min(limit_s_, agent_end_used_ > 0 ? agent_end_used_ : used_now())},
        {"score_time_s", score_time},
        {"score_time_counted", options_.count_score_time}};
    const bool sandboxed = options_.sandbox == SandboxMode::kBubblewrap;
    result["sandbox"] = {{"mode", sandbox_mode_name(options_.sandbox)},
                         {"protected", sandboxed},
                         {"limits", sandbox_limits_},
                         {"network", options_.network}};
    if (!sandboxed)
      result["sandbox"]["warning"] =
          "UNPROTECTED: the agent could read and write the harness's files";
    return result;
  }

  const Environment& env_;
  fs::path tools_;  ///< the run's pinned copy of the in-sandbox tools
  Profile profile_;
  RunOptions options_;
  RunDir run_;
  GpuLease lease_;
  double used_before_ = 0;
  double limit_s_ = 0;
  double score_timeout_s_ = 0;
  double agent_start_ = 0;
  double agent_end_used_ = 0;
  std::atomic<double> excluded_score_s_{0};  ///< written under score_mutex_, read anywhere
  std::atomic<double> frozen_since_{0};      ///< start of an uncharged score call, 0 if none
  std::optional<ScoreLogWriter> log_;
  std::vector<ScoreEntry> entries_;
  std::mutex score_mutex_;             ///< one scoring at a time
  std::mutex entries_mutex_;           ///< guards entries_ for readers outside the scoring lane
  SandboxedProcess* agent_ = nullptr;  ///< the running agent's sandbox (for freezing), or null
  std::mutex state_mutex_;
  std::optional<int> agent_exit_;
  Json sandbox_limits_ = Json::object();
};

void check_sandbox_available(SandboxMode mode) {
  if (mode == SandboxMode::kNone) {
    spdlog::warn(
        "--sandbox none: the agent runs UNPROTECTED (it can read hidden data, the score "
        "log and the harness); the run records this");
    return;
  }
  std::string problem = bubblewrap_problem();
  if (!problem.empty()) throw UsageError(problem);
}

}  // namespace

RunOutcome run_environment(const Registry& registry, const RunOptions& options_in) {
  RunOptions options = options_in;
  const Environment& env = registry.get(options.environment_id);
  Profile profile = resolve_profile(configs_dir() / "profiles", options.profile);
  options.profile = profile.name();
  if (options.time_limit_s <= 0) options.time_limit_s = env.info().default_time_limit_s;
  if (!options.agent_dir.empty() && !fs::is_directory(options.agent_dir))
    throw UsageError("--agent-dir " + options.agent_dir.string() + " is not a folder");
  if (options.agent.kind == AgentSpec::Kind::kReplay &&
      !fs::exists(options.agent.replay_dir / "score_log.jsonl"))
    throw UsageError("replay: " + options.agent.replay_dir.string() + " is not a run directory");
  check_sandbox_available(options.sandbox);
  GpuLease lease = lease_gpus_for(env, profile, options.gpus);
  if (!options.seed) options.seed = fresh_seed();

  RunDir run = RunDir::create(options.runs_dir, env.info().id, options.run_name);
  add_log_file(run.harness_log());
  spdlog::info("run {} in {}", run.id(), run.root().string());
  Json record = {{"run_id", run.id()},
                 {"created", utc_timestamp()},
                 {"harness", {{"version", harness_version()}, {"commit", harness_commit()}}},
                 {"environment", to_json(env.info())},
                 {"profile", profile.to_json()},
                 {"hardware", describe_hardware()},
                 {"gpus", lease.gpus()},
                 {"options", options_to_json(options)},
                 {"argv", options.argv}};
  write_json_atomic(run.run_json(), record);
  {
    Progress progress("provisioning the workspace");
    env.provision({run.home(), run.private_dir(), &profile});
  }
  give_to_sandbox_user(run.home());
  Session session(env, std::move(profile), options, std::move(run), std::move(lease), 0.0);
  return session.execute(/*fresh=*/true);
}

RunOutcome resume_run(const Registry& registry, const fs::path& run_dir,
                      const std::vector<std::string>& argv, const std::string& gpus) {
  RunDir run = RunDir::open(run_dir);
  Json record = read_json_file(run.run_json());
  RunOptions options = options_from_json(record.at("options"));
  options.argv = argv;
  if (!gpus.empty()) options.gpus = gpus;
  Json state = fs::exists(run.state_json()) ? read_json_file(run.state_json()) : Json::object();
  const std::string status = state.value("status", "running");
  if (status == "completed" || (fs::exists(run.result_json()) && status != "interrupted"))
    throw UsageError(run_dir.string() + " has completed; nothing to resume");
  const double used = state.value("used_s", 0.0);
  const Environment& env = registry.get(options.environment_id);
  Profile profile = resolve_profile(configs_dir() / "profiles", options.profile);
  check_sandbox_available(options.sandbox);
  GpuLease lease = lease_gpus_for(env, profile, options.gpus);
  add_log_file(run.harness_log());
  spdlog::info("resuming {} with {} of {} left", run.id(),
               format_duration(options.time_limit_s - used), format_duration(options.time_limit_s));
  Session session(env, std::move(profile), options, std::move(run), std::move(lease), used);
  return session.execute(/*fresh=*/false);
}

std::string summarize_result(const Json& r) {
  auto number = [](const Json& v, const char* f = "{:.4f}") {
    return v.is_number() ? fmt::format(fmt::runtime(f), v.get<double>()) : std::string("-");
  };
  std::string out =
      fmt::format("\n== {} · {} · {} ==\n", r["environment"]["id"].get<std::string>(),
                  r["agent"]["spec"].get<std::string>(), r["status"].get<std::string>());
  const Json& f = r["final"];
  if (f["valid"].get<bool>()) {
    out += fmt::format("final score      {} (raw {}, entry #{})\n", number(f["score"]),
                       number(f["raw"]), f["entry_index"].get<int>());
    if (f["normalized"].is_number())
      out +=
          fmt::format("normalised       {} (clipped at 0: {})\n", number(f["normalized"], "{:.3f}"),
                      number(f["normalized_clipped"], "{:.3f}"));
    else
      out += "normalised       - (" + f.value("normalization_unavailable", std::string()) + ")\n";
  } else {
    out += "final score      none: " + f["reason"].get<std::string>() + " → normalised 0\n";
  }
  out += fmt::format("score calls      {} ({} invalid)\n", r["score_calls"].get<int>(),
                     r["invalid_score_calls"].get<int>());
  out += fmt::format("time used        {} of {} (scoring {})\n",
                     format_duration(r["time"]["used_s"].get<double>()),
                     format_duration(r["time"]["limit_s"].get<double>()),
                     format_duration(r["time"]["score_time_s"].get<double>()));
  out += fmt::format("ended by         {}\n", r["agent"]["ended_by"].get<std::string>());
  if (r["agent"]["self_test"].get<bool>())
    out += "note             harness self-test (reference agent)\n";
  if (!r["sandbox"]["protected"].get<bool>())
    out += "WARNING          the run was UNPROTECTED (--sandbox none)\n";
  return out;
}

}  // namespace rebench
