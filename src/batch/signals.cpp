// Batch signal scope (see signals.hpp).
#include "batch/signals.hpp"

#include <atomic>

namespace rebench::batch {

namespace {
std::atomic<int> g_signal{0};
std::atomic<int> g_first{0};
extern "C" void on_batch_signal(int signal) {
  g_signal = signal;
  int none = 0;
  g_first.compare_exchange_strong(none, signal);
}
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
}  // namespace

BatchSignals::BatchSignals() {
  g_signal = 0;
  g_first = 0;
  struct sigaction action {};
  action.sa_handler = on_batch_signal;
  sigemptyset(&action.sa_mask);
  for (int s : kSignals) ::sigaction(s, &action, &previous_[s]);
}

BatchSignals::~BatchSignals() {
  for (int s : kSignals) ::sigaction(s, &previous_[s], nullptr);
}

int BatchSignals::take() { return g_signal.exchange(0); }
int BatchSignals::first() { return g_first; }

}  // namespace rebench::batch
