// Reading corpus definitions and the document-level split rule.
#include "lm/corpus_definition.hpp"

#include <regex>
#include <set>

#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

namespace fs = std::filesystem;

std::string CorpusDefinition::sha256() const { return sha256_hex(raw.dump()); }

std::string CorpusDefinition::split_rule() const {
  return "a document is in val iff the first 8 bytes of sha256(\"" + split_salt +
         "\" + \"\\n\" + document_id), read as a big-endian unsigned integer, modulo 10000 are "
         "below " +
         std::to_string(val_per_10000);
}

bool CorpusDefinition::is_val(const std::string& document_id) const {
  const std::string digest = sha256_hex(split_salt + "\n" + document_id);
  const std::uint64_t value = std::stoull(digest.substr(0, 16), nullptr, 16);
  return value % 10000 < val_per_10000;
}

fs::path corpus_definition_file(const std::string& name) {
  return configs_dir() / "corpora" / (name + ".json");
}

CorpusDefinition read_corpus_definition(const fs::path& file) {
  CorpusDefinition def;
  def.file = file;
  def.raw = read_json_file(file);
  const std::string where = file.string();
  ConfigReader top(where, def.raw, "");
  def.name = top.string("name");
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]*");
  if (!std::regex_match(def.name, kName))
    top.fail("name", "expected a corpus name (letters, digits, '_', '-', '.')");
  def.description = top.has("description") ? top.string("description") : "";
  if (top.string("tokenizer") != "gpt2") top.fail("tokenizer", "expected \"gpt2\"");
  ConfigReader split = top.object("split");
  def.split_salt = split.string("salt");
  const long long share = split.integer("val_per_10000");
  if (share < 0 || share > 10000) split.fail("val_per_10000", "expected 0..10000");
  def.val_per_10000 = static_cast<std::uint32_t>(share);

  const Json& sources = top.raw("sources");
  if (!sources.is_array() || sources.empty()) top.fail("sources", "expected a non-empty array");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    ConfigReader s(where, sources[i], "/sources/" + std::to_string(i));
    CorpusSource source;
    source.id = s.string("id");
    if (!std::regex_match(source.id, kName)) s.fail("id", "expected a plain identifier");
    if (!ids.insert(source.id).second)
      s.fail("id", "expected a unique id ('" + source.id + "' repeats)");
    if (s.has("package") == s.has("local")) s.fail("package", "expected either package or local");
    if (s.has("package")) {
      ConfigReader p = s.object("package");
      PackageRef ref{p.string("kind"), p.string("name"), p.string("version"), p.string("file"),
                     p.string("sha256")};
      if (ref.kind != "npm" && ref.kind != "deb") p.fail("kind", "expected \"npm\" or \"deb\"");
      if (ref.file.find('/') != std::string::npos) p.fail("file", "expected a plain file name");
      static const std::regex kSha("[0-9a-f]{64}");
      if (!std::regex_match(ref.sha256, kSha)) p.fail("sha256", "expected 64 lowercase hex digits");
      source.package = ref;
    } else {
      source.local = fs::absolute(file.parent_path() / s.string("local")).lexically_normal();
    }
    (void)s.object("extract").string("rule");
    source.extract = s.raw("extract");
    def.sources.push_back(std::move(source));
  }
  return def;
}

}  // namespace rebench::lm
