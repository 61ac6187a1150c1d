// The score door server: accept loop, one thread per client, a single scoring lane.
#include "rebench/score_door.hpp"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include <spdlog/spdlog.h>

#include "rebench/door_protocol.hpp"
#include "rebench/errors.hpp"
#include "rebench/sandbox.hpp"

namespace rebench {

ScoreDoor::ScoreDoor(Handlers handlers) : handlers_(std::move(handlers)) {
  // A short private folder: socket paths are limited to 108 bytes, run folders can be longer.
  std::string pattern = "/tmp/rebench-door-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw Error("cannot create the score door folder");
  folder_ = pattern;
  std::filesystem::path socket_path = folder_ / "door.sock";
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  if (listen_fd_ < 0 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw Error(std::string("cannot serve the score door: ") + std::strerror(errno));
  // Only the sandbox user may connect (or anyone, when the sandbox runs as this user).
  ::chmod(folder_.c_str(), 0700);
  ::chmod(socket_path.c_str(), 0600);
  give_to_sandbox_user(folder_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScoreDoor::~ScoreDoor() {
  close();
  std::error_code ec;
  std::filesystem::remove_all(folder_, ec);
}

void ScoreDoor::close() {
  if (closing_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<Client> clients;
  {
    std::lock_guard<std::mutex> lock(clients_mutex_);
    clients.swap(clients_);
  }
  for (Client& c : clients) c.thread.join();
}

void ScoreDoor::accept_loop() {
  while (!closing_) {
    pollfd fd{listen_fd_, POLLIN, 0};
    if (::poll(&fd, 1, 100) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{1, 0};  // reads poll the overall request deadline (see serve)
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::lock_guard<std::mutex> lock(clients_mutex_);
    reap_finished_clients();
    if (clients_.size() >= kMaxClients) {  // a connection flood cannot exhaust threads
      door::send_line(client,
                      {{"ok", false}, {"final", true}, {"error", "too many open requests"}});
      ::close(client);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    try {
      clients_.push_back({std::thread([this, client, done] {
                            serve(client);
                            ::close(client);
                            *done = true;
                          }),
                          done});
    } catch (const std::system_error&) {  // no thread to be had: refuse, never crash
      ::close(client);
    }
  }
}

void ScoreDoor::reap_finished_clients() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (*it->done) {
      it->thread.join();
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
}

void ScoreDoor::serve(int client) {
  Json reply;
  try {
    // One request line within 5 s in total (a byte every few seconds cannot hold a thread).
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool complete = false;
    while (!complete && std::chrono::steady_clock::now() < deadline && !closing_) {
      char c = 0;
      ssize_t n = ::read(client, &c, 1);
      if (n == 0) return;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return;
      }
      if (c == '\n')
        complete = true;
      else
        line.push_back(c);
      if (line.size() > 4096) return;
    }
    if (!complete) return;
    Json request = Json::parse(line, nullptr, false);
    const std::string command =
        request.is_object() && request.contains("command") && request["command"].is_string()
            ? request["command"].get<std::string>()
            : "";
    if (command == "score") {
      struct QueueSlot {  // leaves the queue however the call ends
        std::atomic<int>& queued;
        ~QueueSlot() { --queued; }
      };
      int ahead = queued_++;
      QueueSlot slot{queued_};
      if (ahead > 0) door::send_line(client, {{"status", "queued"}, {"ahead", ahead}});
      {
        std::lock_guard<std::mutex> lane(scoring_);
        if (closing_) {
          reply = {{"ok", false}, {"error", "the session has ended; no more scoring"}};
        } else {
          door::send_line(client, {{"status", "scoring"}});
          reply = handlers_.score();
        }
      }
    } else if (command == "score_log") {
      reply = handlers_.score_log();
    } else if (command == "time_left") {
      reply = handlers_.time_left();
    } else {
      reply = {{"ok", false}, {"error", "unknown request"}};
    }
  } catch (const std::exception& e) {
    spdlog::error("score door: {}", e.what());
    reply = {{"ok", false}, {"error", std::string("harness error: ") + e.what()}};
  }
  reply["final"] = true;
  door::send_line(client, reply);
}

}  // namespace rebench
