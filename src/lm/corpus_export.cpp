// Export (tar.xz of a verified corpus + tokenizer files) and verified import of corpora.
#include "lm/corpus_export.hpp"

#include <unistd.h>

#include <random>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "lm/corpus_fetch.hpp"
#include "lm/gpt2_tokenizer.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"
#include "rebench/process.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

namespace fs = std::filesystem;

namespace {

constexpr double kTarTimeoutS = 1800;

fs::path unique_sibling(const fs::path& path, const char* tag) {
  std::random_device random;
  return path.parent_path() /
         fmt::format(".{}.{}{}-{}", path.filename().string(), tag, ::getpid(), random());
}

struct RemoveOnExit {
  fs::path path;
  ~RemoveOnExit() {
    std::error_code ignored;
    if (!path.empty()) fs::remove_all(path, ignored);
  }
};

}  // namespace

CorpusExportResult export_corpus(const fs::path& corpus_dir, const fs::path& file) {
  const TokenCorpus corpus = TokenCorpus::open(corpus_dir);
  if (corpus.synthesized_manifest())
    throw UsageError(corpus_dir.string() + " has no manifest.json: only prepared corpora export");
  corpus.verify();
  const fs::path tokenizer_dir = gpt2_tokenizer_dir();
  (void)Gpt2Tokenizer::load(tokenizer_dir);  // the files are there and verified

  const fs::path target = fs::absolute(file);
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path());
  const fs::path temp = unique_sibling(target, "tmp");
  RemoveOnExit cleanup{temp};
  const nlohmann::json& splits = corpus.manifest().at("splits");
  // Fixed owner, mode and time: the archive does not depend on who made it or when.
  std::vector<std::string> argv = {"tar",
                                   "--sort=name",
                                   "--owner=0",
                                   "--group=0",
                                   "--numeric-owner",
                                   "--mode=a+r,u+w",
                                   "--mtime=@0",
                                   "-I",
                                   "xz -6 -T0",
                                   "-cf",
                                   temp.string(),
                                   "-C",
                                   corpus_dir.string(),
                                   "manifest.json",
                                   splits.at("train").at("file").get<std::string>(),
                                   splits.at("val").at("file").get<std::string>(),
                                   "-C",
                                   tokenizer_dir.string(),
                                   Gpt2Files::kEncoderJson,
                                   Gpt2Files::kVocabBpe};
  ProcessResult result = run_process(argv, kTarTimeoutS);
  if (!result.ok())
    throw Error("cannot write " + target.string() + " (" + result.describe() +
                "): " + result.output);
  fs::rename(temp, target);
  cleanup.path.clear();
  return {target, fs::file_size(target)};
}

CorpusImportResult import_corpus(const fs::path& file, bool force) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw UsageError("corpus export " + file.string() + " does not exist");
  fs::create_directories(corpora_dir());
  const fs::path staging = unique_sibling(corpora_dir() / "import", "staging");
  RemoveOnExit cleanup{staging};
  fs::create_directories(staging);
  // Plain members only: GNU tar refuses names with "..", and we check what came out.
  ProcessResult result = run_process({"tar", "--no-same-owner", "--no-same-permissions", "-xf",
                                      fs::absolute(file).string(), "-C", staging.string()},
                                     kTarTimeoutS);
  if (!result.ok())
    throw Error("cannot unpack " + file.string() + " (" + result.describe() + "): " +
                    result.output + " (is it a file made by `rebench prepare corpus --export`?)",
                ExitCode::kUsage);

  TokenCorpus corpus = TokenCorpus::open(staging);
  if (corpus.synthesized_manifest())
    throw UsageError(file.string() + " holds no manifest.json: not a corpus export");
  corpus.verify();
  const nlohmann::json& m = corpus.manifest();
  std::set<std::string> expected = {"manifest.json",
                                    m.at("splits").at("train").at("file").get<std::string>(),
                                    m.at("splits").at("val").at("file").get<std::string>()};
  const bool gpt2 = m.contains("tokenizer") && m.at("tokenizer").value("name", "") == "gpt2";
  for (const auto& entry : fs::directory_iterator(staging)) {
    const std::string name = entry.path().filename().string();
    const bool tokenizer_file =
        gpt2 && (name == Gpt2Files::kEncoderJson || name == Gpt2Files::kVocabBpe);
    if (entry.symlink_status().type() != fs::file_type::regular ||
        (!expected.count(name) && !tokenizer_file))
      throw UsageError(file.string() + ": unexpected member '" + name + "' (not a corpus export)");
  }
  if (gpt2) {
    // Verified by load(); then installed unless the cache already holds them.
    (void)Gpt2Tokenizer::load(staging);
    for (const char* name : {Gpt2Files::kEncoderJson, Gpt2Files::kVocabBpe}) {
      const fs::path installed = gpt2_tokenizer_dir() / name;
      if (!fs::is_regular_file(installed, ec) ||
          sha256_file(installed) != sha256_file(staging / name))
        copy_file_atomic(staging / name, installed);
      fs::remove(staging / name);
    }
  }

  CorpusImportResult out;
  out.name = m.value("name", "");
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]*");
  if (!std::regex_match(out.name, kName))
    throw UsageError(file.string() + ": the manifest's name is not a plain corpus name");
  out.dir = corpora_dir() / out.name;
  out.manifest_sha256 = corpus.manifest_sha256();
  if (fs::exists(out.dir / "manifest.json", ec)) {
    try {
      TokenCorpus existing = TokenCorpus::open(out.dir);
      if (existing.manifest_sha256() == out.manifest_sha256) {
        existing.verify();
        out.unchanged = true;
        return out;
      }
    } catch (const Error&) {
      // An unusable corpus is replaced below.
      force = true;
    }
    if (!force)
      throw UsageError("corpus '" + out.name + "' already exists in " + out.dir.string() +
                       " with a different manifest; use --force to replace it");
    out.replaced = true;
  }
  corpus = TokenCorpus();  // unmap before moving the files
  const fs::path old = unique_sibling(out.dir, "old");
  if (fs::exists(out.dir, ec)) fs::rename(out.dir, old);
  fs::rename(staging, out.dir);
  cleanup.path = old;
  return out;
}

}  // namespace rebench::lm
