// The score door's wire format: newline-delimited JSON over a Unix stream socket. The client
// sends one request line; the server answers with zero or more progress lines and one final
// line ({"final": true, …}). Shared by the harness and the in-sandbox tools.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace rebench::door {

/// Where the socket appears inside the sandbox.
inline constexpr const char* kSocketInSandbox = "/run/rebench/door.sock";
inline constexpr std::size_t kMaxLine = 1 << 20;

/// Writes one JSON line; false when the peer has gone.
bool send_line(int fd, const nlohmann::json& message);
/// Reads one line (without '\n'); false on EOF, error or a line over kMaxLine.
bool read_line(int fd, std::string& line);
/// Connects to the socket at `path`; -1 with errno set on failure.
int connect_to(const std::string& path);

}  // namespace rebench::door
