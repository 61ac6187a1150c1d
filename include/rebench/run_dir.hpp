// A run directory: the on-disk record of one run (layout in the README), locked by its driver.
#pragma once

#include <filesystem>
#include <string>

#include "rebench/json_file.hpp"

namespace rebench {

/// A unique run id: "<env>-<UTC yyyymmddTHHMMSS>-<8 hex from a CSPRNG>".
std::string make_run_id(const std::string& environment_id);

class RunDir {
 public:
  /// Creates runs_dir/<new id>/ with its subfolders and takes its lock. A non-empty `name` is
  /// used as the id instead (a batch names its runs so it can find them again); it must be a
  /// valid folder name (letters, digits, `._-`) and not exist yet.
  static RunDir create(const std::filesystem::path& runs_dir, const std::string& environment_id,
                       const std::string& name = "");
  /// Opens an existing run directory and takes its lock; throws Error when another process holds
  /// it or the folder is not a run directory.
  static RunDir open(const std::filesystem::path& root);

  RunDir(RunDir&& other) noexcept;
  RunDir& operator=(RunDir&&) = delete;
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  ~RunDir();

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] std::filesystem::path run_json() const { return root_ / "run.json"; }
  [[nodiscard]] std::filesystem::path home() const { return root_ / "home"; }
  [[nodiscard]] std::filesystem::path private_dir() const { return root_ / "private"; }
  [[nodiscard]] std::filesystem::path score_log() const { return root_ / "score_log.jsonl"; }
  [[nodiscard]] std::filesystem::path snapshots() const { return root_ / "snapshots"; }
  [[nodiscard]] std::filesystem::path agent() const { return root_ / "agent"; }
  [[nodiscard]] std::filesystem::path scratch() const { return root_ / "scratch"; }
  [[nodiscard]] std::filesystem::path result_json() const { return root_ / "result.json"; }
  [[nodiscard]] std::filesystem::path harness_log() const { return root_ / "harness.log"; }
  [[nodiscard]] std::filesystem::path state_json() const { return root_ / "state.json"; }

 private:
  RunDir(std::filesystem::path root, std::string id, int lock_fd);
  std::filesystem::path root_;
  std::string id_;
  int lock_fd_ = -1;
};

}  // namespace rebench
