// The environment contract: what every RE-Bench environment declares and implements.
// Public methods are non-virtual wrappers (validate, time, catch, stamp) around protected do_*
// virtuals, so every environment gets the same guarantees. Constructors must not touch a GPU.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench {

class Profile;

enum class Direction { kLowerIsBetter, kHigherIsBetter };
enum class Selection { kBestValid, kLastValid };
enum class ScoreVisibility { kVisible, kHidden };

std::string to_string(Direction direction);
std::string to_string(Selection selection);
std::string to_string(ScoreVisibility visibility);

/// What a run of the environment needs from the machine.
struct Resources {
  int gpus = 0;             ///< number of GPUs pinned to the run (0: CPU-only)
  double memory_gb = 4.0;   ///< memory limit of the agent's sandbox [GiB]
  int max_processes = 512;  ///< process-count limit inside the sandbox
};

/// Turns the raw primary metric into the score that is normalised (e.g. ln(ms)).
struct ScoreTransform {
  std::string formula;                  ///< human-readable, e.g. "ln(ms)"
  std::function<double(double)> apply;  ///< raw -> score; may return NaN outside its domain
};

struct EnvironmentInfo {
  std::string id;           ///< stable identifier, snake_case
  std::string title;        ///< one line for humans
  std::string version;      ///< semantic version of the task; bump when scoring changes
  std::string summary;      ///< a short paragraph for `info`
  std::string metric_name;  ///< name of the primary raw metric, e.g. "runtime"
  std::string metric_unit;  ///< its unit, e.g. "ms"
  Direction direction = Direction::kLowerIsBetter;
  Selection selection = Selection::kBestValid;
  ScoreVisibility visibility = ScoreVisibility::kVisible;
  Resources resources;
  double default_time_limit_s = 8 * 3600.0;  ///< agent budget [s of wall clock]
  double score_timeout_s = 600.0;            ///< limit of one scoring call [s of wall clock]
  /// Whether the scoring worker needs read access to private/ (hidden data it scores against).
  bool scorer_reads_private = false;
  ScoreTransform transform;
};

/// A named raw measurement with its unit.
struct Metric {
  std::string name;
  double value = 0.0;
  std::string unit;
};

/// The outcome of scoring one solution snapshot.
struct ScoreResult {
  bool valid = false;
  std::vector<Metric> metrics;    ///< first = primary metric (info().metric_name)
  double raw = 0.0;               ///< primary metric value (NaN when invalid)
  double score = 0.0;             ///< transformed score (NaN when invalid)
  std::string message;            ///< one line for the agent
  Json details = Json::object();  ///< structured extras (spread, flags, build log tail …)
  Json device = Json::object();   ///< where it was measured (GPU name, driver, host)
  double duration_s = 0.0;        ///< time the scorer took [s of wall clock]

  static ScoreResult invalid(std::string message, Json details = Json::object());
  [[nodiscard]] Json to_json() const;
  static ScoreResult from_json(const Json& json);
};

/// Inputs of provisioning a fresh workspace.
struct ProvisionRequest {
  std::filesystem::path home;         ///< becomes /home/agent; must exist and be empty
  std::filesystem::path private_dir;  ///< never visible to the agent; must exist and be empty
  const Profile* profile = nullptr;
};

/// Inputs of one scoring call (runs inside the scoring worker).
struct ScoreRequest {
  std::filesystem::path solution;     ///< snapshot of home/solution (read-only)
  std::filesystem::path private_dir;  ///< hidden data, when info().scorer_reads_private
  std::filesystem::path scratch;      ///< writable, persists across calls of one run (build cache)
  const Profile* profile = nullptr;
  unsigned long long seed = 0;  ///< fresh per call from a CSPRNG, unknown to the agent
};

class Environment {
 public:
  virtual ~Environment() = default;
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  [[nodiscard]] const EnvironmentInfo& info() const { return info_; }

  /// Fills an empty home/ (instructions.md, solution/, assets) and private/.
  void provision(const ProvisionRequest& request) const;

  /// Scores a solution snapshot. Never throws for a bad solution: errors become invalid results.
  /// Applies the transform and stamps duration; a non-finite or out-of-domain raw is invalid.
  [[nodiscard]] ScoreResult score(const ScoreRequest& request) const;

  /// Harness-side check of a worker's result (the worker ran agent code and is not trusted).
  /// May turn a valid result invalid; never the other way round.
  void verify(const ScoreRequest& request, ScoreResult& result) const;

  /// Folder of the reference solution for `profile` (never copied into a workspace by provision).
  [[nodiscard]] std::filesystem::path reference_solution(const Profile& profile) const;

 protected:
  explicit Environment(EnvironmentInfo info);
  virtual void do_provision(const ProvisionRequest& request) const = 0;
  virtual ScoreResult do_score(const ScoreRequest& request) const = 0;
  virtual void do_verify(const ScoreRequest& /*request*/, ScoreResult& /*result*/) const {}
  virtual std::filesystem::path do_reference_solution(const Profile& profile) const = 0;

 private:
  EnvironmentInfo info_;
};

}  // namespace rebench

namespace rebench {
/// The declared facts of an environment as JSON (for `info --json` and run provenance).
Json to_json(const EnvironmentInfo& info);

/// JSON has no NaN: non-finite numbers are stored as null and read back as NaN.
Json finite_or_null(double value);
double number_or_nan(const Json& value);
/// Metrics as a JSON array of {name, value, unit}, and back.
Json metrics_to_json(const std::vector<Metric>& metrics);
std::vector<Metric> metrics_from_json(const Json& json);
}  // namespace rebench
