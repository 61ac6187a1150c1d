// Scoring in a separate, sandboxed worker process: the solution's code never runs in the
// harness, a crash or hang becomes an invalid entry with its reason, and the worker's claims are
// re-checked by the environment's verify() in the harness.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "rebench/environment.hpp"
#include "rebench/sandbox.hpp"

namespace rebench {

struct ScoringCall {
  const Environment* environment = nullptr;
  const Profile* profile = nullptr;
  std::filesystem::path snapshot;     ///< read-only solution snapshot
  std::filesystem::path private_dir;  ///< bound read-only only when the environment needs it
  std::filesystem::path scratch;      ///< persistent writable folder (build cache)
  std::filesystem::path call_dir;     ///< fresh folder for this call's request/result
  std::filesystem::path log_file;     ///< the worker's stdout+stderr
  std::uint64_t seed = 0;
  double timeout_s = 600;
  std::vector<int> gpus;
  SandboxMode mode = SandboxMode::kBubblewrap;
  const std::atomic<int>* cancel = nullptr;  ///< non-zero: stop the worker now (Ctrl-C)
};

/// The executable started as the scoring worker (default: this process's own executable). Test
/// binaries point it at a harness binary that knows their test environments.
void set_worker_executable(const std::filesystem::path& executable);
std::filesystem::path worker_executable();
/// rebench-lm next to worker_executable(), bound next to the worker in its sandbox; empty when
/// this build has none (no libtorch).
std::optional<std::filesystem::path> worker_torch_tool();

/// Folders outside /usr that the toolchain needs (a pip PyTorch under /opt, libraries unpacked
/// elsewhere): bound read-only, at the same path, into scoring and agent sandboxes.
std::vector<std::filesystem::path> toolchain_folders();

/// A fresh 64-bit seed from the kernel's CSPRNG.
std::uint64_t fresh_seed();

/// Runs the worker and returns its verified result (never throws for a bad solution).
ScoreResult score_in_worker(const ScoringCall& call);

/// Worker side (`rebench score-worker`): scores and writes the result JSON to `result_file`.
void run_worker(const Environment& environment, const Profile& profile,
                const std::filesystem::path& solution, const std::filesystem::path& private_dir,
                const std::filesystem::path& scratch, std::uint64_t seed,
                const std::filesystem::path& result_file);

}  // namespace rebench
