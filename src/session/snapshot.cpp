// Snapshots: walk the solution without following links (openat + O_NOFOLLOW, every file checked
// with fstat on the descriptor that is then read), hash and copy each file in one pass, store
// the copy as snapshots/<id>, read-only.
#include "rebench/snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/sha256.hpp"

namespace rebench {

namespace fs = std::filesystem;

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

struct Walk {
  fs::path destination;  ///< where the copy goes (a .partial folder)
  std::uintmax_t max_bytes = 0;
  std::uintmax_t bytes = 0;
  std::vector<std::string> manifest;  ///< "d path" / "f path x|- sha256", sorted at the end
};

[[noreturn]] void refuse(const std::string& relative, const std::string& why) {
  throw Error("solution/" + relative + " " + why);
}

/// Copies the regular file `name` (opened relative to `dir_fd`) to `walk.destination/relative`,
/// hashing exactly the bytes copied.
void copy_file(int dir_fd, const char* name, const std::string& relative, Walk& walk) {
  // O_NONBLOCK: a FIFO swapped in after the check cannot block the harness on open.
  Fd in(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (in.get() < 0) refuse(relative, std::string("cannot be opened: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode))
    refuse(relative, "is not a regular file (links, devices and pipes are not allowed)");
  const bool executable = (st.st_mode & S_IXUSR) != 0;
  fs::path target = walk.destination / relative;
  Fd out(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0555 : 0444));
  if (out.get() < 0)
    throw Error("cannot write snapshot file " + target.string() + ": " + std::strerror(errno));
  Sha256 hash;
  std::vector<char> buffer(1 << 16);
  while (true) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) refuse(relative, std::string("cannot be read: ") + std::strerror(errno));
    if (n == 0) break;
    walk.bytes += static_cast<std::uintmax_t>(n);
    if (walk.bytes > walk.max_bytes)
      throw Error(
          fmt::format("solution/ holds more than {:.1f} MB, the snapshot size cap; move "
                      "large files (data, checkpoints, build outputs) out of solution/",
                      walk.max_bytes / 1e6));
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    write_all(out.get(), std::string(buffer.data(), static_cast<std::size_t>(n)), target);
  }
  walk.manifest.push_back(
      fmt::format("f {} {} {}", relative, executable ? "x" : "-", hash.hex_digest()));
}

void walk_directory(int dir_fd, const std::string& prefix, Walk& walk, int depth) {
  if (depth > 64) refuse(prefix, "is nested too deeply");
  int dup_fd = ::dup(dir_fd);
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    ::close(dup_fd);
    refuse(prefix, "cannot be listed");
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string relative = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      refuse(relative, "vanished");
    if (S_ISLNK(st.st_mode))
      refuse(relative,
             "is a symbolic link; snapshots hold regular files and folders only (copy the file "
             "instead)");
    if (S_ISDIR(st.st_mode)) {
      Fd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child.get() < 0) refuse(relative, "is not a folder any more");
      fs::create_directory(walk.destination / relative);
      walk.manifest.push_back("d " + relative);
      walk_directory(child.get(), relative, walk, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      copy_file(dir_fd, name.c_str(), relative, walk);
    } else {
      refuse(relative, "is not a regular file or folder");
    }
  }
}

void make_read_only(const fs::path& root) {
  const auto writable = fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it)
    fs::permissions(it->path(), writable, fs::perm_options::remove);
  fs::permissions(root, writable, fs::perm_options::remove);
}

}  // namespace

Snapshot take_snapshot(const fs::path& solution, const fs::path& snapshots_dir,
                       std::uintmax_t max_bytes) {
  // The solution folder itself must not be a link either (e.g. ~/solution -> ../private).
  Fd root(::open(solution.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0)
    throw Error(solution.filename().string() + "/ is missing, or is a link rather than a folder");
  fs::create_directories(snapshots_dir);
  Walk walk;
  walk.max_bytes = max_bytes;
  std::string random_suffix = std::to_string(::getpid()) + "-" + std::to_string(std::rand());
  walk.destination = snapshots_dir / (".partial-" + random_suffix);
  fs::create_directories(walk.destination);
  try {
    walk_directory(root.get(), "", walk, 0);
  } catch (...) {
    remove_tree(walk.destination);
    throw;
  }
  // The id describes exactly the bytes that were copied (the agent may edit files meanwhile).
  std::sort(walk.manifest.begin(), walk.manifest.end());
  Sha256 manifest;
  for (const std::string& line : walk.manifest) manifest.update(line + "\n");
  Snapshot snapshot;
  snapshot.id = manifest.hex_digest().substr(0, 16);
  snapshot.folder = snapshots_dir / snapshot.id;
  snapshot.bytes = walk.bytes;
  if (fs::exists(snapshot.folder)) {
    remove_tree(walk.destination);
    snapshot.reused = true;
    return snapshot;
  }
  make_read_only(walk.destination);
  fs::rename(walk.destination, snapshot.folder);
  return snapshot;
}

void restore_snapshot(const fs::path& snapshot_folder, const fs::path& destination) {
  if (!fs::is_directory(snapshot_folder))
    throw Error("snapshot " + snapshot_folder.string() + " is missing");
  std::error_code ec;
  fs::remove_all(destination, ec);
  fs::create_directories(destination);
  fs::copy(snapshot_folder, destination, fs::copy_options::recursive);
  for (auto& entry : fs::recursive_directory_iterator(destination))
    fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
}

void remove_tree(const fs::path& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return;
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_symlink())
      fs::permissions(it->path(), fs::perms::owner_write | fs::perms::owner_exec,
                      fs::perm_options::add, ec);
  fs::remove_all(root, ec);
}

}  // namespace rebench
