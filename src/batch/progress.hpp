// What a batch shows while it runs: a live table on a terminal (run, status, GPUs, budget used,
// score so far), plain log lines otherwise (CI logs stay readable).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "batch/plan.hpp"
#include "rebench/registry.hpp"

namespace rebench::batch {

class BatchProgress {
 public:
  /// `live`: redraw a table in place on `out` (a terminal); else one line per event.
  BatchProgress(const BatchPlan& plan, const Registry& registry, bool live, std::FILE* out);
  BatchProgress(const BatchProgress&) = delete;
  BatchProgress& operator=(const BatchProgress&) = delete;

  /// Sets a run's status word ("pending", "queued", "waiting for GPUs", "skipped", …).
  void status(std::size_t index, const std::string& status, const std::string& note = "");
  /// A run started ("started" / "resumed" / "running") on `gpus`.
  void started(std::size_t index, const std::string& status, const std::vector<int>& gpus);
  /// A run ended; `note` says how (score, exit status, log file).
  void finished(std::size_t index, const std::string& status, const std::string& note);
  /// A one-off line (signals, submission): above the live table, or a plain line.
  void message(const std::string& text);
  /// Refreshes the live table (at most once a second) or, in plain mode, prints a counts line
  /// every few minutes.
  void tick();
  /// Last redraw; afterwards the table stays on screen.
  void close();

 private:
  struct Row {
    std::string status = "pending";
    std::string note;
    std::string gpus;
    double started_s = 0;  ///< monotonic; 0 before it starts
    bool active = false;
  };
  std::string render() const;
  std::string counts() const;
  std::string budget_of(std::size_t index, const Row& row) const;
  std::string score_of(std::size_t index) const;
  void redraw(bool force);
  void plain(const std::string& line);

  const BatchPlan& plan_;
  const Registry& registry_;
  bool live_;
  std::FILE* out_;
  std::vector<Row> rows_;
  int drawn_lines_ = 0;
  int width_ = 0;  ///< terminal columns (0: unknown); longer lines are cut so redraws stay aligned
  double last_draw_s_ = 0;
  double last_counts_s_ = 0;
};

}  // namespace rebench::batch
