// Options every command that scores on this machine shares: --profile, --sandbox, --gpus.
#include "cli/commands.hpp"

namespace rebench::cli {

void add_machine_options(CLI::App* command, MachineOptions& options) {
  command->add_option("--profile", options.profile,
                      "Hardware profile: h100 | cpu (default: detected)");
  command->add_option("--sandbox", options.sandbox, "bubblewrap | none (none is UNPROTECTED)")
      ->check(CLI::IsMember({"bubblewrap", "none"}))
      ->capture_default_str();
  command->add_option("--gpus", options.gpus, "GPUs to pin: auto or a list like 0,1")
      ->capture_default_str();
}

SandboxMode MachineOptions::sandbox_mode() const {
  return sandbox == "none" ? SandboxMode::kNone : SandboxMode::kBubblewrap;
}

}  // namespace rebench::cli
