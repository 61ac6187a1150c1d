// Parsing of --agent specifications.
#include "rebench/agent_spec.hpp"

#include "rebench/errors.hpp"

namespace rebench {

std::string AgentSpec::describe() const {
  switch (kind) {
    case Kind::kNoop:
      return "noop";
    case Kind::kReference:
      return "reference";
    case Kind::kReplay:
      return "replay:" + replay_dir.string();
    case Kind::kCommand:
      return "cmd:" + command;
    case Kind::kHuman:
      return "human";
  }
  return "?";
}

AgentSpec parse_agent_spec(const std::string& text) {
  AgentSpec spec;
  if (text == "noop") {
    spec.kind = AgentSpec::Kind::kNoop;
  } else if (text == "reference") {
    spec.kind = AgentSpec::Kind::kReference;
  } else if (text.rfind("replay:", 0) == 0 && text.size() > 7) {
    spec.kind = AgentSpec::Kind::kReplay;
    spec.replay_dir = text.substr(7);
  } else if (text.rfind("cmd:", 0) == 0 && text.size() > 4) {
    spec.kind = AgentSpec::Kind::kCommand;
    spec.command = text.substr(4);
  } else {
    throw UsageError("unknown agent '" + text +
                     "' (expected noop, reference, replay:RUN_DIR or cmd:COMMAND)");
  }
  return spec;
}

}  // namespace rebench
