// Benchmark of the optimize_kernel scorer; prints figures (no pass/fail):
//   noise    the same solution scored N times: coefficient of variation of the median ms
//   latency  one score call end to end, first (uncached build) vs cached build
//   ceiling  ceiling ms / copy-floor ms (GPU only)
// Usage: rebench_bench_optimize_kernel [--profile h100|cpu] [--repeats N] [--json FILE]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>

#include "rebench/gpu_lease.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"
#include "rebench/profile.hpp"
#include "rebench/registry.hpp"
#include "rebench/scoring_worker.hpp"
#include "rebench/solution_scoring.hpp"
#ifdef REBENCH_BENCH_CUDA
#include "copy_floor.hpp"
#endif

using namespace rebench;

int main(int argc, char** argv) {
  std::string profile_name, json_file;
  int repeats = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--profile"))
      profile_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeats"))
      repeats = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--json"))
      json_file = argv[i + 1];
  }
  set_worker_executable(REBENCH_BINARY);
  const Environment& env = builtin_registry().get("optimize_kernel");
  Profile profile = resolve_profile(configs_dir() / "profiles", profile_name);
  GpuLease lease = lease_gpus_for(env, profile, "auto");
  SolutionScorer scorer(env, profile, SandboxMode::kBubblewrap, lease.gpus());
  Json figures = {{"profile", profile.name()}};
  auto timed = [&](const std::filesystem::path& solution, ScoreResult& out) {
    auto t0 = std::chrono::steady_clock::now();
    out = scorer.score(solution);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };

  ScoreResult r;
  for (const char* which : {"starting", "reference"}) {
    const bool starting = std::string(which) == "starting";
    auto folder = starting ? scorer.starting_solution() : scorer.reference_solution();
    double first = timed(folder, r);
    bool ok = r.valid;
    double cached = timed(folder, r);
    ok = ok && r.valid;
    std::printf(
        "latency  %s solution, one score call end to end: first %.2f s (with build), cached %.2f "
        "s%s\n",
        which, first, cached, ok ? "" : ("  [INVALID: " + r.message + "]").c_str());
    figures[std::string("latency_first_s_") + which] = first;
    figures[std::string("latency_cached_s_") + which] = cached;
    figures[std::string("latency_valid_") + which] = ok;
  }

  std::vector<double> medians;
  for (int i = 0; i < repeats; ++i) {
    timed(scorer.reference_solution(), r);
    if (!r.valid) {
      std::printf("reference invalid: %s\n", r.message.c_str());
      return 1;
    }
    medians.push_back(r.raw);
  }
  double mean = std::accumulate(medians.begin(), medians.end(), 0.0) / medians.size();
  double var = 0;
  for (double m : medians) var += (m - mean) * (m - mean);
  double cv = std::sqrt(var / std::max<size_t>(1, medians.size() - 1)) / mean;
  std::printf("noise    reference scored %d times: mean %.4f ms, cv %.3f %%\n", repeats, mean,
              100 * cv);
  figures["noise_reference_ms"] = medians;
  figures["noise_cv"] = cv;

  ScoreResult ceiling;
  timed(environments_dir() / "optimize_kernel" / "ceiling" /
            (profile.requires_gpu() ? "h100" : "cpu"),
        ceiling);
  figures["ceiling_ms"] = ceiling.valid ? Json(ceiling.raw) : Json(nullptr);
  std::printf("ceiling  %s\n", ceiling.valid ? (std::to_string(ceiling.raw) + " ms").c_str()
                                             : ceiling.message.c_str());
#ifdef REBENCH_BENCH_CUDA
  if (profile.requires_gpu()) {
    long long n = profile.settings_for("optimize_kernel")["n"].get<long long>();
    double floor = copy_floor_ms(n, 20);
    figures["copy_floor_ms"] = floor;
    if (ceiling.valid) {
      figures["ceiling_over_copy_floor"] = ceiling.raw / floor;
      std::printf("ceiling/copy floor  %.3f ms / %.3f ms = %.2f\n", ceiling.raw, floor,
                  ceiling.raw / floor);
    }
  }
#endif
  if (!json_file.empty()) std::ofstream(json_file) << figures.dump(2) << "\n";
  return 0;
}
