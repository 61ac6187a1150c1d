// Content-addressed snapshots of home/solution: what was scored, kept read-only and deduplicated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rebench {

struct Snapshot {
  std::string id;                ///< hex digest of the manifest (paths, modes, content hashes)
  std::filesystem::path folder;  ///< snapshots/<id>
  std::uintmax_t bytes = 0;
  bool reused = false;  ///< an identical snapshot existed already
};

/// Copies `solution` into `snapshots_dir/<id>` unless that exists. Regular files and folders
/// only: a symlink or special file is an Error naming it; more than `max_bytes` is an Error.
Snapshot take_snapshot(const std::filesystem::path& solution,
                       const std::filesystem::path& snapshots_dir, std::uintmax_t max_bytes);

/// Replaces the contents of `destination` with those of a snapshot folder.
void restore_snapshot(const std::filesystem::path& snapshot_folder,
                      const std::filesystem::path& destination);

/// Removes a folder tree that may hold read-only snapshots (restores write permission first).
void remove_tree(const std::filesystem::path& root);

}  // namespace rebench
