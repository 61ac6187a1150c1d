// The score door: a Unix socket served by the harness and bound into the sandbox. It is the
// agent's only way to get a score: requests queue (one scoring at a time) and waiting clients
// are told how many calls are ahead of them.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench {

class ScoreDoor {
 public:
  struct Handlers {
    std::function<Json()> score;      ///< scores now; returns the final message body
    std::function<Json()> score_log;  ///< the log as the agent may see it
    std::function<Json()> time_left;
  };

  /// Creates a private folder holding the socket and starts serving.
  explicit ScoreDoor(Handlers handlers);
  ~ScoreDoor();
  ScoreDoor(const ScoreDoor&) = delete;
  ScoreDoor& operator=(const ScoreDoor&) = delete;

  /// Folder to bind at /run/rebench in the sandbox (holds door.sock).
  [[nodiscard]] const std::filesystem::path& folder() const { return folder_; }
  /// Stops accepting; queued score requests are refused ("the session has ended"); waits for a
  /// scoring in progress to finish.
  void close();

 private:
  void accept_loop();
  void serve(int client);
  Handlers handlers_;
  std::filesystem::path folder_;
  int listen_fd_ = -1;
  std::atomic<bool> closing_{false};
  std::atomic<int> queued_{0};
  std::mutex scoring_;
  struct Client {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  static constexpr std::size_t kMaxClients = 64;
  void reap_finished_clients();
  std::mutex clients_mutex_;
  std::vector<Client> clients_;
  std::thread acceptor_;
};

}  // namespace rebench
