// Signals while a batch runs or waits: SIGINT/SIGTERM/SIGHUP are caught (not fatal) so the batch
// can forward them to its children or stop waiting, and exit 130 in order.
#pragma once

#include <csignal>

namespace rebench::batch {

class BatchSignals {
 public:
  BatchSignals();
  ~BatchSignals();
  BatchSignals(const BatchSignals&) = delete;
  BatchSignals& operator=(const BatchSignals&) = delete;

  /// The signal received since the last call (0 if none), clearing it.
  static int take();
  /// The first signal received while this scope lives (0 if none).
  static int first();

 private:
  struct sigaction previous_[32]{};
};

}  // namespace rebench::batch
