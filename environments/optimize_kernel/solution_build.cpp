// Compiling solutions: the same toolchain and libtorch the harness was built with, a time limit,
// and a content-addressed cache so an unchanged solution is never rebuilt.
#include "optimize_kernel/solution_build.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "rebench/build_config.hpp"
#include "rebench/errors.hpp"
#include "rebench/process.hpp"
#include "rebench/sha256.hpp"

namespace rebench::optimize_kernel {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::vector<fs::path> sources_of(const fs::path& dir, bool cuda) {
  std::vector<fs::path> sources;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    if (ext == ".cpp" || ext == ".cc" || (cuda && ext == ".cu")) sources.push_back(entry.path());
  }
  std::sort(sources.begin(), sources.end());
  return sources;
}

/// Whether any file of the solution includes libtorch (then it is linked; otherwise it is not,
/// so plain CUDA/C++ solutions load fast and cannot be slowed by torch's start-up).
bool uses_torch(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line))
      if (line.find("#include") != std::string::npos &&
          (line.find("torch/") != std::string::npos || line.find("ATen/") != std::string::npos ||
           line.find("c10/") != std::string::npos))
        return true;
  }
  return false;
}

std::vector<std::string> compile_command(const std::vector<fs::path>& sources,
                                         const fs::path& solution_dir, const fs::path& output,
                                         bool cuda) {
  const BuildConfig& config = build_config();
  std::vector<std::string> argv;
  if (cuda) {
    argv = {config.cuda_compiler,
            "-O3",
            "-std=c++17",
            "-shared",
            "-Xcompiler",
            "-fPIC",
            "-arch=sm_" + config.cuda_architectures,
            "-lineinfo"};
  } else {
    argv = {config.cxx_compiler, "-O3", "-march=native", "-std=c++17", "-shared", "-fPIC"};
  }
  argv.push_back("-I" + solution_dir.string());
  const bool torch = config.have_torch && uses_torch(solution_dir);
  if (torch) {
    for (const std::string& dir : split(config.torch_include_dirs, ':')) argv.push_back("-I" + dir);
    for (const std::string& flag : split(config.torch_cxx_flags, ' ')) {
      if (cuda) argv.push_back("-Xcompiler");
      argv.push_back(flag);
    }
  }
  for (const fs::path& source : sources) argv.push_back(source.string());
  argv.push_back("-o");
  argv.push_back(output.string());
  if (torch) {
    const std::string& lib = config.torch_library_dir;
    // --no-as-needed: torch ops reach the CUDA backend through static registration in
    // libtorch_cuda, which no symbol of the solution references directly.
    argv.push_back(cuda ? "-Xlinker=--no-as-needed" : "-Wl,--no-as-needed");
    argv.push_back("-L" + lib);
    argv.push_back(cuda ? "-Xlinker=-rpath," + lib : "-Wl,-rpath," + lib);
    for (const char* name : {"-ltorch", "-ltorch_cpu", "-lc10"}) argv.push_back(name);
    if (cuda && config.torch_has_cuda)
      for (const char* name : {"-ltorch_cuda", "-lc10_cuda"}) argv.push_back(name);
  }
  return argv;
}

}  // namespace

BuiltSolution build_solution(const fs::path& solution_dir, const fs::path& cache_dir,
                             const BuildSettings& settings) {
  const BuildConfig& config = build_config();
  if (settings.cuda && (!config.have_cuda || config.cuda_compiler.empty()))
    throw Error("this rebench was built without CUDA: the GPU profile cannot build solutions");
  std::vector<fs::path> sources = sources_of(solution_dir, settings.cuda);
  if (sources.empty())
    throw BuildFailure(std::string("no source files in solution/ (expected ") +
                       (settings.cuda ? ".cu or .cpp" : ".cpp") + " files)");

  // Key: every file of the folder (headers included) plus the compile command's shape.
  Sha256 key_hash;
  std::vector<fs::path> all_files;
  for (const auto& entry : fs::recursive_directory_iterator(solution_dir))
    if (entry.is_regular_file()) all_files.push_back(entry.path());
  std::sort(all_files.begin(), all_files.end());
  for (const fs::path& file : all_files)
    key_hash.update(fs::relative(file, solution_dir).string() + "\n" + sha256_file(file) + "\n");
  for (const std::string& arg : compile_command(sources, solution_dir, "OUT", settings.cuda))
    key_hash.update(arg + "\n");
  BuiltSolution built;
  built.key = key_hash.hex_digest().substr(0, 24);
  fs::path folder = cache_dir / built.key;
  built.library = folder / "libsolution.so";
  if (fs::exists(built.library)) {
    built.cached = true;
    return built;
  }

  fs::create_directories(cache_dir);
  fs::path temp = cache_dir / (built.key + ".partial");
  fs::remove_all(temp);
  fs::create_directories(temp);
  ProcessResult compile =
      run_process(compile_command(sources, solution_dir, temp / "libsolution.so", settings.cuda),
                  settings.timeout_s, solution_dir, 16 * 1024);
  built.build_s = compile.duration_s;
  built.log = compile.output;
  if (!compile.ok()) {
    fs::remove_all(temp);
    throw BuildFailure("build failed (" + compile.describe() + "):\n" + compile.output);
  }
  // rename makes the finished build appear atomically, so a killed build is never reused.
  std::error_code ec;
  fs::rename(temp, folder, ec);
  if (ec && !fs::exists(built.library)) throw Error("cannot store build: " + ec.message());
  fs::remove_all(temp);
  return built;
}

}  // namespace rebench::optimize_kernel
