// Logging (spdlog to stderr and to a run's harness.log) and a progress display for long steps.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

namespace rebench {

/// Sets up the default logger on stderr; `verbosity` 0 = info, 1 = debug, -1 = warnings only.
void setup_logging(int verbosity);
/// Also writes every log line to `file` (appending), e.g. runs/<id>/harness.log.
void add_log_file(const std::filesystem::path& file);

/// Shows "label … 12s" while a long step runs: a live line on a terminal, and plain start/end
/// lines when stderr is not a terminal (CI logs stay readable).
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// Ends the step with a closing word ("done", "failed: …").
  void finish(const std::string& outcome);

 private:
  std::string label_;
  double start_s_;
  bool live_;
  std::atomic<bool> running_{true};
  std::thread ticker_;
  bool finished_ = false;
};

}  // namespace rebench
