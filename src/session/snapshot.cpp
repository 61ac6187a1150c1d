// Snapshots: hash the tree, copy it once into snapshots/<id>, make it read-only.
#include "rebench/snapshot.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "rebench/errors.hpp"
#include "rebench/sha256.hpp"

namespace rebench {

namespace fs = std::filesystem;

namespace {

struct FileEntry {
  fs::path relative;
  bool directory = false;
  bool executable = false;
  std::uintmax_t size = 0;
};

std::vector<FileEntry> list_tree(const fs::path& root, std::uintmax_t max_bytes) {
  if (!fs::is_directory(root)) throw Error(root.string() + " does not exist or is not a folder");
  std::vector<FileEntry> entries;
  std::uintmax_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    fs::file_status status = it->symlink_status();
    FileEntry entry;
    entry.relative = fs::relative(it->path(), root);
    if (fs::is_symlink(status))
      throw Error("solution/" + entry.relative.string() +
                  " is a symbolic link; snapshots hold "
                  "regular files and folders only (copy the file instead)");
    if (fs::is_directory(status)) {
      entry.directory = true;
    } else if (fs::is_regular_file(status)) {
      entry.size = it->file_size();
      entry.executable = (status.permissions() & fs::perms::owner_exec) != fs::perms::none;
      total += entry.size;
      if (total > max_bytes)
        throw Error(
            fmt::format("solution/ holds more than {:.1f} MB, the snapshot size cap; move "
                        "large files (data, checkpoints, build outputs) out of solution/",
                        max_bytes / 1e6));
    } else {
      throw Error("solution/" + entry.relative.string() + " is not a regular file or folder");
    }
    entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.relative < b.relative; });
  return entries;
}

void make_read_only(const fs::path& root) {
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it)
    fs::permissions(it->path(),
                    fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
  fs::permissions(root, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
}

}  // namespace

Snapshot take_snapshot(const fs::path& solution, const fs::path& snapshots_dir,
                       std::uintmax_t max_bytes) {
  std::vector<FileEntry> entries = list_tree(solution, max_bytes);
  Sha256 manifest;
  Snapshot snapshot;
  for (const FileEntry& entry : entries) {
    if (entry.directory) {
      manifest.update("d " + entry.relative.string() + "\n");
    } else {
      manifest.update(fmt::format("f {} {} {}\n", entry.relative.string(),
                                  entry.executable ? "x" : "-",
                                  sha256_file(solution / entry.relative)));
      snapshot.bytes += entry.size;
    }
  }
  snapshot.id = manifest.hex_digest().substr(0, 16);
  snapshot.folder = snapshots_dir / snapshot.id;
  if (fs::exists(snapshot.folder)) {
    snapshot.reused = true;
    return snapshot;
  }
  fs::create_directories(snapshots_dir);
  fs::path partial = snapshots_dir / (snapshot.id + ".partial");
  fs::remove_all(partial);
  fs::create_directories(partial);
  for (const FileEntry& entry : entries) {
    if (entry.directory) {
      fs::create_directories(partial / entry.relative);
    } else {
      fs::copy_file(solution / entry.relative, partial / entry.relative);
      fs::permissions(partial / entry.relative,
                      entry.executable ? fs::perms(0555) : fs::perms(0444));
    }
  }
  // The agent may have changed files while we copied: the snapshot is whatever the copy holds,
  // so its id must describe the copy, not the live folder.
  Sha256 check;
  for (const FileEntry& entry : entries) {
    if (entry.directory)
      check.update("d " + entry.relative.string() + "\n");
    else
      check.update(fmt::format("f {} {} {}\n", entry.relative.string(),
                               entry.executable ? "x" : "-",
                               sha256_file(partial / entry.relative)));
  }
  std::string copied_id = check.hex_digest().substr(0, 16);
  if (copied_id != snapshot.id) {
    snapshot.id = copied_id;
    snapshot.folder = snapshots_dir / snapshot.id;
    if (fs::exists(snapshot.folder)) {
      fs::remove_all(partial);
      snapshot.reused = true;
      return snapshot;
    }
  }
  make_read_only(partial);
  fs::rename(partial, snapshot.folder);
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
