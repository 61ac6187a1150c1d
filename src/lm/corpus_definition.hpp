// A corpus definition (configs/corpora/NAME.json): its sources (pinned packages or local
// folders), how each is turned into documents, and the train/val split rule.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lm/corpus_fetch.hpp"

namespace rebench::lm {

struct CorpusSource {
  std::string id;                     ///< unique within the corpus; prefixes document ids
  std::optional<PackageRef> package;  ///< a pinned registry package, or
  std::filesystem::path local;        ///< a local folder (tests), absolute
  nlohmann::json extract;             ///< {"rule": ..., rule options}; see corpus_sources.hpp
};

struct CorpusDefinition {
  std::string name;
  std::string description;
  std::string split_salt;           ///< mixed into the document-id hash
  std::uint32_t val_per_10000 = 0;  ///< validation share in 1/10000 of documents (by hash)
  std::vector<CorpusSource> sources;
  nlohmann::json raw;  ///< the file as read (its hash goes into the manifest)
  std::filesystem::path file;

  /// sha256 of the definition's canonical JSON (sorted keys, no whitespace): a corpus is rebuilt
  /// when its definition changes.
  [[nodiscard]] std::string sha256() const;
  /// The rule in words, recorded in the manifest.
  [[nodiscard]] std::string split_rule() const;
  /// The split of a document: depends only on its id (and the corpus's salt and share).
  [[nodiscard]] bool is_val(const std::string& document_id) const;
};

/// Reads and validates a definition; errors are ConfigErrors naming file and JSON path. Local
/// source folders are resolved relative to the definition file's folder.
CorpusDefinition read_corpus_definition(const std::filesystem::path& file);
/// configs/corpora/NAME.json.
std::filesystem::path corpus_definition_file(const std::string& name);

}  // namespace rebench::lm
