// Builds an agent's C++/CUDA solution folder into a shared library, cached by content hash.
#pragma once

#include <filesystem>
#include <string>

namespace rebench::optimize_kernel {

struct BuildSettings {
  bool cuda = false;         ///< nvcc for .cu files (h100), else g++ (cpu)
  double timeout_s = 300.0;  ///< compile + link limit [s of wall clock]
};

struct BuiltSolution {
  std::filesystem::path library;  ///< the .so to dlopen
  std::string key;                ///< content hash of sources + toolchain + flags
  bool cached = false;            ///< reused from an earlier identical build
  double build_s = 0.0;
  std::string log;  ///< compiler output (tail)
};

/// Thrown when the solution does not compile; what() holds the compiler's complaint (tail).
class BuildFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Compiles every .cpp/.cu in `solution_dir` into `<cache_dir>/<key>/libsolution.so`.
BuiltSolution build_solution(const std::filesystem::path& solution_dir,
                             const std::filesystem::path& cache_dir, const BuildSettings& settings);

}  // namespace rebench::optimize_kernel
