// Entry point of the rebench executable: the CLI over the built-in environments.
#include "cli/commands.hpp"
#include "rebench/registry.hpp"

int main(int argc, char** argv) {
  return rebench::cli::run_cli(argc, argv, rebench::builtin_registry());
}
