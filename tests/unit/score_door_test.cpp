// The score door survives hostile clients: malformed requests, wrong types, floods of idle
// connections; a well-formed request is still answered.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "rebench/door_protocol.hpp"
#include "rebench/score_door.hpp"

namespace rebench {
namespace {

Json ask(const std::string& socket, const std::string& raw_line) {
  int fd = door::connect_to(socket);
  if (fd < 0) return {{"connect_failed", true}};
  std::string line = raw_line + "\n";
  // MSG_NOSIGNAL: the door may already have closed a refused connection.
  (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  std::string reply;
  Json last = Json::object();  // stays empty when the door closes without answering
  while (door::read_line(fd, reply)) {
    Json parsed = Json::parse(reply, nullptr, false);
    if (!parsed.is_object()) continue;
    last = parsed;
    if (last.value("final", false)) break;
  }
  ::close(fd);
  return last;
}

TEST(ScoreDoor, MalformedRequestsGetErrorsAndTheDoorKeepsServing) {
  std::atomic<int> scored{0};
  ScoreDoor door({[&] {
                    ++scored;
                    return Json{{"ok", true}, {"entry", {{"index", 1}}}};
                  },
                  [] {
                    return Json{{"ok", true}, {"entries", Json::array()}};
                  },
                  [] {
                    return Json{{"ok", true}, {"seconds_left", 5.0}};
                  }});
  const std::string socket = (door.folder() / "door.sock").string();
  for (const char* bad :
       {R"({"command": 1})", "not json", "[1,2,3]", R"({"command": "rm -rf"})", "\xff\xfe"}) {
    Json reply = ask(socket, bad);
    EXPECT_EQ(reply.value("ok", true), false) << bad;
    EXPECT_TRUE(reply.value("final", false)) << bad;
  }
  EXPECT_EQ(scored.load(), 0);
  Json good = ask(socket, R"({"command": "score"})");
  EXPECT_EQ(good.value("ok", false), true);
  EXPECT_EQ(scored.load(), 1);
}

TEST(ScoreDoor, AFloodOfIdleConnectionsDoesNotStopService) {
  ScoreDoor door({[] {
                    return Json{{"ok", true}};
                  },
                  [] {
                    return Json{{"ok", true}};
                  },
                  [] {
                    return Json{{"ok", true}, {"seconds_left", 1.0}};
                  }});
  const std::string socket = (door.folder() / "door.sock").string();
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) {
    int fd = door::connect_to(socket);
    if (fd >= 0) idle.push_back(fd);
  }
  // Idle clients are dropped after the request deadline; then service resumes.
  Json reply = Json::object();
  for (int attempt = 0; attempt < 20 && reply.value("ok", false) != true; ++attempt) {
    reply = ask(socket, R"({"command": "time_left"})");
    if (reply.value("ok", false) != true) ::usleep(500 * 1000);
  }
  EXPECT_EQ(reply.value("ok", false), true);
  for (int fd : idle) ::close(fd);
}

}  // namespace
}  // namespace rebench
