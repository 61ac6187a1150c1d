// The tools an agent or human has inside the sandbox: `score`, `score-log` and `time-left`
// (one binary, dispatched on its name). They only talk to the harness's score door; they hold
// no secrets and can do nothing the door does not allow.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rebench/door_protocol.hpp"

namespace {

using nlohmann::json;

std::string socket_path() {
  const char* path = std::getenv("REBENCH_SOCKET");
  return path != nullptr && *path != '\0' ? path : rebench::door::kSocketInSandbox;
}

std::string format_seconds(double seconds) {
  long long s = std::llround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}h{:02d}m{:02d}s", s / 3600, s % 3600 / 60, s % 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string number(const json& value, const char* format = "{:.4f}") {
  return value.is_number() ? fmt::format(fmt::runtime(format), value.get<double>()) : "-";
}

void print_entry_table(const json& entries) {
  std::cout << fmt::format("{:>3}  {:>9}  {:<6} {:>10}  {}\n", "#", "ELAPSED", "VALID", "SCORE",
                           "MESSAGE");
  for (const json& e : entries)
    std::cout << fmt::format(
        "{:>3}  {:>9}  {:<6} {:>10}  {}\n", e.value("index", 0),
        format_seconds(e.value("elapsed_s", 0.0)), e.value("valid", false) ? "yes" : "no",
        e.contains("score") ? number(e["score"]) : "hidden", e.value("message", ""));
}

int usage(const std::string& name) {
  std::cerr << "usage: " << name << " [--json]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = argv[0];
  name = name.substr(name.find_last_of('/') + 1);
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json")
      as_json = true;
    else if (arg == "-h" || arg == "--help") {
      std::cout << name << ": "
                << (name == "score"       ? "score a snapshot of ~/solution now"
                    : name == "score-log" ? "show the score log of this run"
                                          : "show the time left in this run")
                << "\n  --json  machine-readable output\n";
      return 0;
    } else
      return usage(name);
  }
  std::string command = name == "score"       ? "score"
                        : name == "score-log" ? "score_log"
                        : name == "time-left" ? "time_left"
                                              : "";
  if (command.empty()) {
    std::cerr << "rebench-tool: run me as score, score-log or time-left\n";
    return 2;
  }
  int fd = rebench::door::connect_to(socket_path());
  if (fd < 0) {
    std::cerr << name << ": cannot reach the rebench harness at " << socket_path() << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  if (!rebench::door::send_line(fd, {{"command", command}})) {
    std::cerr << name << ": the harness closed the connection\n";
    return 1;
  }
  std::string line;
  while (rebench::door::read_line(fd, line)) {
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) continue;
    if (!message.value("final", false)) {
      if (!as_json && message.value("status", "") == "queued")
        std::cerr << fmt::format("waiting: {} scoring call(s) ahead of yours …\n",
                                 message.value("ahead", 0));
      else if (!as_json && message.value("status", "") == "scoring")
        std::cerr << "scoring …\n";
      continue;
    }
    ::close(fd);
    if (as_json) {
      std::cout << message.dump(2) << "\n";
      return message.value("ok", false) ? 0 : 1;
    }
    if (!message.value("ok", false)) {
      std::cerr << name << ": " << message.value("error", "failed") << "\n";
      return 1;
    }
    if (command == "score") {
      const json& e = message["entry"];
      std::cout << fmt::format("entry {}: {}\n", e.value("index", 0),
                               e.value("valid", false) ? "valid" : "INVALID");
      if (e.contains("score")) std::cout << "score: " << number(e["score"]) << "\n";
      std::cout << "message: " << e.value("message", "") << "\n";
    } else if (command == "score_log") {
      print_entry_table(message["entries"]);
    } else {
      std::cout << format_seconds(message.value("seconds_left", 0.0)) << " left (deadline "
                << message.value("deadline", "") << ")\n";
    }
    return 0;
  }
  std::cerr << name << ": the harness closed the connection before answering\n";
  return 1;
}
