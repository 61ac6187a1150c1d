// The score log: append-only JSON Lines owned by the harness, one entry per scoring call.
// Line 1 is a versioned header; each append is one write + flush + fsync. The reader tolerates a
// torn last line (a crash mid-append) and refuses an unknown major version without touching it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rebench/environment.hpp"
#include "rebench/json_file.hpp"

namespace rebench {

inline constexpr int kScoreLogMajorVersion = 1;
inline constexpr int kScoreLogMinorVersion = 0;
inline constexpr const char* kScoreLogFormat = "rebench-score-log";

/// Why an entry was taken.
enum class EntryKind { kBaseline, kAgent, kFinal, kReplay };
std::string to_string(EntryKind kind);
EntryKind entry_kind_from_string(const std::string& text);

struct ScoreEntry {
  int index = 0;
  EntryKind kind = EntryKind::kAgent;
  std::string timestamp;   ///< UTC, ISO 8601 with milliseconds, when the call started
  double elapsed_s = 0.0;  ///< seconds since the session started (baseline: 0)
  double scorer_duration_s = 0.0;
  std::vector<Metric> metrics;  ///< named raw metrics with units
  double raw = 0.0;             ///< primary raw metric (NaN when invalid)
  double score = 0.0;           ///< transformed score (NaN when invalid)
  bool valid = false;
  std::string message;
  Json details = Json::object();
  std::string snapshot_id;  ///< content hash of the scored solution ("" when none)
  Json device = Json::object();

  [[nodiscard]] Json to_json() const;
  static ScoreEntry from_json(const Json& json);
  /// Builds an entry from a scorer result.
  static ScoreEntry from_result(const ScoreResult& result);
};

struct ScoreLogHeader {
  std::string run_id;
  std::string environment;
  std::string environment_version;
  std::string created;  ///< UTC timestamp
  int major = kScoreLogMajorVersion;
  int minor = kScoreLogMinorVersion;
  [[nodiscard]] Json to_json() const;
};

struct ScoreLogContents {
  ScoreLogHeader header;
  std::vector<ScoreEntry> entries;
  bool torn_tail = false;  ///< the last line was incomplete and was ignored
};

/// Reads a score log. Throws Error for a missing file, a bad header or an unknown major version.
ScoreLogContents read_score_log(const std::filesystem::path& path);

class ScoreLogWriter {
 public:
  /// Creates a new log with its header (fails if the file exists).
  static ScoreLogWriter create(const std::filesystem::path& path, const ScoreLogHeader& header);
  /// Opens an existing log for appending after validating it; a torn tail is cut off first so
  /// the next entry starts on a fresh line.
  static ScoreLogWriter open(const std::filesystem::path& path);

  ScoreLogWriter(ScoreLogWriter&& other) noexcept;
  ScoreLogWriter& operator=(ScoreLogWriter&&) = delete;
  ScoreLogWriter(const ScoreLogWriter&) = delete;
  ScoreLogWriter& operator=(const ScoreLogWriter&) = delete;
  ~ScoreLogWriter();

  /// Appends `entry` with index = next_index(); one write(2), then fsync. Returns the stored entry.
  ScoreEntry append(ScoreEntry entry);
  [[nodiscard]] int next_index() const { return next_index_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  ScoreLogWriter(std::filesystem::path path, int fd, int next_index);
  std::filesystem::path path_;
  int fd_ = -1;
  int next_index_ = 0;
};

}  // namespace rebench
