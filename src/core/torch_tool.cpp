// Running rebench-lm (see torch_tool.hpp).
#include "rebench/torch_tool.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/paths.hpp"

namespace rebench {

namespace fs = std::filesystem;

fs::path torch_tool_executable() {
  const fs::path tool = self_executable().parent_path() / kTorchToolName;
  std::error_code ec;
  if (!fs::is_regular_file(tool, ec))
    throw Error(
        fmt::format("{} is missing next to {}: this rebench was built without libtorch "
                    "(install libtorch-dev, or run scripts/build, and rebuild)",
                    tool.string(), self_executable().string()));
  return tool;
}

void run_torch_tool(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> words = {torch_tool_executable().string()};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) throw Error(what + ": cannot start " + words[0] + ": fork failed");
  if (child == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  // The child shares our process group: Ctrl-C and a harness that kills the group stop it too.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const bool usage = WIFEXITED(status) && WEXITSTATUS(status) == to_int(ExitCode::kUsage);
  const std::string how = WIFEXITED(status)
                              ? fmt::format("exited with {}", WEXITSTATUS(status))
                              : fmt::format("was killed by signal {}", WTERMSIG(status));
  throw Error(fmt::format("{} failed ({} {}; its messages are above)", what, kTorchToolName, how),
              usage ? ExitCode::kUsage : ExitCode::kInternal);
}

Json run_torch_tool_for_result(std::vector<std::string> args, const fs::path& work_dir,
                               const std::string& what) {
  static std::atomic<int> counter{0};
  fs::create_directories(work_dir);
  const fs::path result =
      work_dir / fmt::format("{}-result-{}-{}.json", kTorchToolName, ::getpid(), counter++);
  std::error_code ec;
  fs::remove(result, ec);
  args.insert(args.end(), {"--result", result.string()});
  run_torch_tool(args, what);
  if (!fs::is_regular_file(result, ec))
    throw Error(fmt::format("{}: {} exited without writing its result", what, kTorchToolName));
  Json json = read_json_file(result);
  fs::remove(result, ec);
  return json;
}

}  // namespace rebench
