// Moving a prepared corpus to a machine without registries: one xz-compressed tar holding
// manifest.json, the split files and the GPT-2 vocabulary files; import verifies everything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rebench::lm {

struct CorpusExportResult {
  std::filesystem::path file;
  std::uintmax_t bytes = 0;
};

/// Writes `corpus_dir` (verified first) and the cached GPT-2 files to `file` (tar.xz), through a
/// temporary file and a rename.
CorpusExportResult export_corpus(const std::filesystem::path& corpus_dir,
                                 const std::filesystem::path& file);

struct CorpusImportResult {
  std::string name;
  std::filesystem::path dir;
  std::string manifest_sha256;
  bool replaced = false;   ///< an older, different corpus of that name was replaced
  bool unchanged = false;  ///< the cache already held this exact corpus
};

/// Unpacks an export into a temporary folder, verifies the corpus (manifest, sizes, sha256 of
/// every split, token ids) and the tokenizer files, then installs the corpus as
/// corpora_dir()/<name> and the tokenizer files in the tokenizer cache. A different corpus of
/// the same name is replaced only with `force`.
CorpusImportResult import_corpus(const std::filesystem::path& file, bool force);

}  // namespace rebench::lm
