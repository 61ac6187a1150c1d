// Running `rebench-lm`, the harness's libtorch side, from the torch-free rebench process.
// rebench never links libtorch: PyTorch 2.x wheels export copies of libstdc++ symbols
// (std::filesystem::remove_all among them) that won over libstdc++'s in a process linking both
// and crashed the harness on the H100 host. Everything that needs a model runs in rebench-lm.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rebench/json_file.hpp"

namespace rebench {

inline constexpr const char* kTorchToolName = "rebench-lm";

/// rebench-lm next to this executable (the sandboxed scoring worker finds it bound next to
/// itself too). Error when it is missing: rebench was built without libtorch.
std::filesystem::path torch_tool_executable();

/// Runs rebench-lm with `args` and waits for it. Its stdout and stderr both go to this process's
/// stderr (progress lines; stdout stays free for --json output). `what` names the job in errors:
/// a non-zero exit throws Error, keeping the usage exit code (2) when rebench-lm used it.
void run_torch_tool(const std::vector<std::string>& args, const std::string& what);

/// run_torch_tool with `--result FILE` appended (a fresh file in `work_dir`), returning the JSON
/// rebench-lm wrote there; the file is removed afterwards.
Json run_torch_tool_for_result(std::vector<std::string> args, const std::filesystem::path& work_dir,
                               const std::string& what);

}  // namespace rebench
