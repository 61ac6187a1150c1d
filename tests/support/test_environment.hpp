// A tiny environment for harness tests: the solution is `solution/value.txt`, its number is the
// raw score (lower is better, identity transform). Special values make the scorer misbehave:
// "crash" aborts, "hang" sleeps forever, "secret" reads private/secret.txt, anything else
// non-numeric is invalid.
#pragma once

#include <filesystem>
#include <memory>

#include "rebench/environment.hpp"
#include "rebench/registry.hpp"

namespace rebench::testing {

inline constexpr double kTestStartingValue = 10.0;
inline constexpr double kTestReferenceValue = 2.0;

std::unique_ptr<Environment> make_test_environment(const std::filesystem::path& reference_dir);

}  // namespace rebench::testing
