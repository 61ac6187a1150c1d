// rebench-test-harness: the rebench CLI with the test environment registered after the built-in
// ones, so integration tests drive real runs (sandbox, door, worker) of a tiny, fast task.
#include "cli/commands.hpp"
#include "rebench/registry.hpp"
#include "support/test_environment.hpp"

#ifndef REBENCH_TEST_REFERENCE_DIR
#error "REBENCH_TEST_REFERENCE_DIR must be defined by the build"
#endif

int main(int argc, char** argv) {
  rebench::Registry registry;
  rebench::add_builtin_environments(registry);
  registry.add(rebench::testing::make_test_environment(REBENCH_TEST_REFERENCE_DIR));
  return rebench::cli::run_cli(argc, argv, registry);
}
