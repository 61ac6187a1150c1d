// Who works in a session: the built-in agents (noop, reference, replay:DIR), any program
// (cmd:COMMAND), or a human at an interactive shell.
#pragma once

#include <filesystem>
#include <string>

namespace rebench {

struct AgentSpec {
  enum class Kind { kNoop, kReference, kReplay, kCommand, kHuman };
  Kind kind = Kind::kNoop;
  std::string command;                         ///< kCommand: shell command run in /home/agent
  std::filesystem::path replay_dir;            ///< kReplay: a recorded run directory
  [[nodiscard]] std::string describe() const;  ///< as written on the command line
  [[nodiscard]] bool is_self_test() const { return kind == Kind::kReference; }
};

/// Parses "noop", "reference", "replay:DIR", "cmd:COMMAND"; UsageError otherwise.
AgentSpec parse_agent_spec(const std::string& text);

}  // namespace rebench
