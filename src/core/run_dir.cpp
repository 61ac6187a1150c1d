// Run directories: unique ids, fixed layout, and an flock so one process drives a run at a time.
#include "rebench/run_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#include "rebench/errors.hpp"

namespace rebench {

namespace {

unsigned int random_u32() {
  unsigned int value = 0;
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(&value), sizeof value);
  if (!urandom) throw Error("cannot read /dev/urandom");
  return value;
}

int take_lock(const std::filesystem::path& root) {
  std::filesystem::path lock = root / "run.lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open " + lock.string() + ": " + std::strerror(errno));
  // flock is released by the kernel when the holder dies, so a crashed run never stays locked.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw Error("run directory " + root.string() + " is in use by another rebench process (lock " +
                lock.string() + ")");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::write(fd, pid.data(), pid.size());
  return fd;
}

const char* const kSubdirs[] = {"home", "private", "snapshots", "agent", "scratch"};

bool valid_run_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace

std::string make_run_id(const std::string& environment_id) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  return fmt::format("{}-{}-{:08x}", environment_id, stamp, random_u32());
}

RunDir::RunDir(std::filesystem::path root, std::string id, int lock_fd)
    : root_(std::move(root)), id_(std::move(id)), lock_fd_(lock_fd) {}

RunDir::RunDir(RunDir&& other) noexcept
    : root_(std::move(other.root_)), id_(std::move(other.id_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

RunDir RunDir::create(const std::filesystem::path& runs_dir, const std::string& environment_id,
                      const std::string& name) {
  if (!name.empty() && !valid_run_name(name))
    throw UsageError("run name '" + name +
                     "' is not a valid folder name (letters, digits, '.', '_', '-'; 1-200 chars)");
  std::error_code ec;
  std::filesystem::create_directories(runs_dir, ec);
  if (ec) throw Error("cannot create runs directory " + runs_dir.string() + ": " + ec.message());
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string id = name.empty() ? make_run_id(environment_id) : name;
    std::filesystem::path root = std::filesystem::absolute(runs_dir) / id;
    // mkdir is atomic: if two processes pick the same id, exactly one wins.
    if (::mkdir(root.c_str(), 0755) != 0) {
      if (errno == EEXIST && name.empty()) continue;
      if (errno == EEXIST)
        throw Error("run directory " + root.string() + " exists already (`rebench resume` it)");
      throw Error("cannot create run directory " + root.string() + ": " + std::strerror(errno));
    }
    int fd = take_lock(root);
    for (const char* sub : kSubdirs) std::filesystem::create_directory(root / sub);
    // private/ and the log are the harness's: nobody else on the machine needs to read them.
    std::filesystem::permissions(root / "private", std::filesystem::perms::owner_all);
    return RunDir(root, id, fd);
  }
  throw Error("cannot allocate a unique run id in " + runs_dir.string());
}

RunDir RunDir::open(const std::filesystem::path& root_in) {
  std::filesystem::path root = std::filesystem::absolute(root_in);
  if (!std::filesystem::exists(root / "run.json"))
    throw UsageError(root.string() + " is not a run directory (no run.json)");
  int fd = take_lock(root);
  for (const char* sub : kSubdirs) std::filesystem::create_directories(root / sub);
  return RunDir(root, root.filename().string(), fd);
}

}  // namespace rebench
