// Extraction rules: from an unpacked package to clean documents with stable ids.
#include "lm/corpus_sources.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "lm/unicode_classes.hpp"
#include "rebench/errors.hpp"
#include "rebench/process.hpp"

namespace rebench::lm {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("corpus source: cannot read " + file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// A rule option naming a path inside the unpacked source (never outside it).
fs::path inside(const fs::path& root, const nlohmann::json& extract, const char* key,
                const std::string& source_id) {
  if (!extract.contains(key) || !extract.at(key).is_string())
    throw Error("corpus source '" + source_id + "': extract." + key + " must be a string",
                ExitCode::kUsage);
  const fs::path rel = fs::path(extract.at(key).get<std::string>()).lexically_normal();
  if (rel.is_absolute() || starts_with(rel.string(), ".."))
    throw Error("corpus source '" + source_id + "': extract." + key + " leaves the package",
                ExitCode::kUsage);
  return root / rel;
}

std::size_t group_option(const nlohmann::json& extract, const std::string& source_id) {
  const std::size_t group = extract.value("group", 1);
  if (group == 0)
    throw Error("corpus source '" + source_id + "': extract.group must be ≥ 1", ExitCode::kUsage);
  return group;
}

std::vector<std::string> string_list(const nlohmann::json& extract, const char* key) {
  std::vector<std::string> out;
  if (extract.contains(key)) out = extract.at(key).get<std::vector<std::string>>();
  return out;
}

/// Regular files of a folder (symlinks skipped: packages link alternative names), sorted.
std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& source_id) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("corpus source '" + source_id + "': folder " + dir.string() +
                " is missing from the unpacked package");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.symlink_status().type() == fs::file_type::regular) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return files;
}

/// Groups consecutive entries into documents "<source>:<name>:<block>".
void add_grouped(std::vector<Document>& docs, const std::string& prefix,
                 const std::vector<std::string>& entries, std::size_t group,
                 const std::string& separator) {
  for (std::size_t first = 0; first < entries.size(); first += group) {
    std::string text;
    for (std::size_t i = first; i < std::min(entries.size(), first + group); ++i) {
      if (entries[i].empty()) continue;
      if (!text.empty()) text += separator;
      text += entries[i];
    }
    if (!text.empty()) docs.push_back({prefix + ":" + std::to_string(first / group), text});
  }
}

// ---- rules -----------------------------------------------------------------------------------

std::vector<Document> text_files(const std::string& id, const nlohmann::json& extract,
                                 const fs::path& root) {
  const fs::path dir = inside(root, extract, "dir", id);
  const std::string suffix = extract.value("suffix", "");
  const std::vector<std::string> exclude = string_list(extract, "exclude");
  const bool gutenberg = extract.value("strip_gutenberg", false);
  std::vector<Document> docs;
  for (const fs::path& file : sorted_files(dir, id)) {
    const std::string name = file.filename().string();
    if (name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    if (std::find(exclude.begin(), exclude.end(), name) != exclude.end()) continue;
    std::string text = read_file(file);
    if (gutenberg) text = strip_gutenberg_boilerplate(text);
    text = clean_text(text);
    if (!text.empty()) docs.push_back({id + ":" + name, std::move(text)});
  }
  return docs;
}

std::vector<Document> brown(const std::string& id, const nlohmann::json& extract,
                            const fs::path& root) {
  std::vector<Document> docs;
  for (const fs::path& file : sorted_files(inside(root, extract, "dir", id), id)) {
    const std::string name = file.filename().string();
    const bool sample = name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'r' &&
                        std::isdigit(static_cast<unsigned char>(name[2])) &&
                        std::isdigit(static_cast<unsigned char>(name[3]));
    if (!sample) continue;
    const std::string tagged = read_file(file);
    std::string text;
    for (std::string_view line : split_lines(tagged)) {
      const std::string sentence = brown_untag_line(line);
      if (sentence.empty()) continue;
      text += sentence;
      text += '\n';
    }
    text = clean_text(text);
    if (!text.empty()) docs.push_back({id + ":" + name, std::move(text)});
  }
  if (docs.size() != 500)
    throw Error("corpus source '" + id + "': expected the 500 Brown samples, found " +
                std::to_string(docs.size()));
  return docs;
}

std::uint64_t dictd_base64(std::string_view digits, const std::string& where) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::uint64_t value = 0;
  for (char c : digits) {
    const std::size_t d = kAlphabet.find(c);
    if (d == std::string::npos)
      throw Error(where + ": bad base-64 number '" + std::string(digits) + "'");
    value = value * 64 + d;
  }
  return value;
}

std::vector<Document> gcide(const std::string& id, const nlohmann::json& extract,
                            const fs::path& root, const fs::path& scratch) {
  const fs::path dict = inside(root, extract, "dict", id);
  const fs::path index = inside(root, extract, "index", id);
  // dictzip is gzip with a random-access table: plain gzip decompresses it.
  fs::create_directories(scratch);
  const fs::path plain = scratch / (id + ".dict");
  ProcessResult unzip = run_process(
      {"sh", "-c", "gzip -dc \"$1\" > \"$2\"", "sh", dict.string(), plain.string()}, 600);
  if (!unzip.ok())
    throw Error("corpus source '" + id + "': cannot decompress " + dict.string() + " (" +
                unzip.describe() + "): " + unzip.output);
  const std::string text = read_file(plain);
  const std::string index_text = read_file(index);
  std::map<std::uint64_t, std::uint64_t> entries;  // offset → length, file order, unique
  for (std::string_view line : split_lines(index_text)) {
    const std::size_t t1 = line.find('\t');
    const std::size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) throw Error(index.string() + ": malformed line");
    if (starts_with(line, "00-database") || starts_with(line, "00database")) continue;
    const std::uint64_t offset = dictd_base64(line.substr(t1 + 1, t2 - t1 - 1), index.string());
    const std::uint64_t length = dictd_base64(line.substr(t2 + 1), index.string());
    if (offset + length > text.size())
      throw Error(index.string() + ": entry beyond the dictionary");
    entries.emplace(offset, length);
  }
  std::vector<std::string> cleaned;
  cleaned.reserve(entries.size());
  for (const auto& [offset, length] : entries) {
    cleaned.push_back(clean_text(gcide_clean_entry(std::string_view(text).substr(offset, length))));
  }
  std::vector<Document> docs;
  add_grouped(docs, id, cleaned, group_option(extract, id), "\n\n");
  return docs;
}

std::vector<Document> wordnet(const std::string& id, const nlohmann::json& extract,
                              const fs::path& root) {
  const fs::path dir = inside(root, extract, "dir", id);
  std::vector<std::string> files = string_list(extract, "files");
  if (files.empty()) files = {"data.noun", "data.verb", "data.adj", "data.adv"};
  std::vector<Document> docs;
  for (const std::string& name : files) {
    const fs::path file = dir / name;
    const std::string data = read_file(file);
    std::vector<std::string> synsets;
    for (std::string_view line : split_lines(data)) {
      if (starts_with(line, "  ") || line.empty()) continue;  // licence header
      const std::size_t bar = line.find(" | ");
      if (bar == std::string_view::npos) continue;  // a synset without a gloss
      std::istringstream fields{std::string(line.substr(0, bar))};
      std::string offset, lex_file, type, count_hex;
      fields >> offset >> lex_file >> type >> count_hex;
      const unsigned long count = std::stoul(count_hex, nullptr, 16);
      std::string words;
      for (unsigned long w = 0; w < count; ++w) {
        std::string word, lex_id;
        if (!(fields >> word >> lex_id))
          throw Error(file.string() + ": malformed synset " + offset);
        const std::size_t marker = word.find('(');  // adjective markers (a), (p), (ip)
        if (marker != std::string::npos) word.resize(marker);
        std::replace(word.begin(), word.end(), '_', ' ');
        if (!words.empty()) words += ", ";
        words += word;
      }
      synsets.push_back(words + ": " + std::string(trim(line.substr(bar + 3))));
    }
    std::vector<std::string> cleaned;
    for (const std::string& s : synsets) cleaned.push_back(clean_text(s));
    add_grouped(docs, id + ":" + name, cleaned, group_option(extract, id), "\n");
  }
  return docs;
}

std::vector<Document> fortunes(const std::string& id, const nlohmann::json& extract,
                               const fs::path& root) {
  const std::vector<std::string> exclude = string_list(extract, "exclude");
  std::vector<Document> docs;
  for (const fs::path& file : sorted_files(inside(root, extract, "dir", id), id)) {
    const std::string name = file.filename().string();
    if (name.find('.') != std::string::npos) continue;  // strfile indexes (.dat), links (.u8)
    if (std::find(exclude.begin(), exclude.end(), name) != exclude.end()) continue;
    const std::string text = read_file(file);
    std::vector<std::string> entries;
    std::string current;
    for (std::string_view line : split_lines(text)) {
      if (line == "%" || line == "%\r") {
        entries.push_back(clean_text(current));
        current.clear();
      } else {
        current.append(line);
        current += '\n';
      }
    }
    entries.push_back(clean_text(current));
    add_grouped(docs, id + ":" + name, entries, group_option(extract, id), "\n\n");
  }
  return docs;
}

}  // namespace

std::string clean_text(std::string_view raw) {
  const std::string text = sanitize_utf8(raw);
  std::string out;
  out.reserve(text.size());
  std::size_t blank_run = 0;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t end = text.find_first_of("\r\n", i);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + i, end - i);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) {
      ++blank_run;
    } else {
      if (!out.empty()) out += blank_run > 0 ? "\n\n" : "\n";
      out.append(line);
      blank_run = 0;
    }
    if (end >= text.size()) break;
    i = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
  }
  return out;
}

std::string brown_untag_line(std::string_view line) {
  std::string out;
  bool glue_next = true;  // no space before the first word or after an opening bracket/quote
  std::istringstream tokens{std::string(line)};
  std::string token;
  while (tokens >> token) {
    const std::size_t slash = token.rfind('/');
    std::string word = slash == std::string::npos || slash == 0 ? token : token.substr(0, slash);
    bool glue_before = false;
    bool opens = false;
    if (word == "``") {
      word = "\"";
      opens = true;
    } else if (word == "''") {
      word = "\"";
      glue_before = true;
    } else if (word == "(" || word == "[") {
      opens = true;
    } else if (word == "," || word == "." || word == ";" || word == ":" || word == "!" ||
               word == "?" || word == ")" || word == "]" || word == "'") {
      glue_before = true;
    }
    if (!glue_next && !glue_before) out += ' ';
    out += word;
    glue_next = opens;
  }
  return out;
}

std::string gcide_clean_entry(std::string_view entry) {
  std::string out;
  std::string paragraph;
  const auto flush = [&](bool blank) {
    if (!paragraph.empty()) {
      if (!out.empty()) out += "\n";
      out += paragraph;
      paragraph.clear();
    }
    if (blank && !out.empty() && out.back() != '\n') out += "\n";
  };
  for (std::string_view raw : split_lines(entry)) {
    std::string line(trim(raw));
    if (line.size() >= 2 && line.front() == '[' && line.back() == ']' &&
        line.find(']') == line.size() - 1) {
      continue;  // a source tag on its own line: [1913 Webster], [PJC], [WordNet 1.5]
    }
    // The syllabified headword between backslashes: \Ab"a*ca\.
    for (std::size_t a = line.find('\\'); a != std::string::npos; a = line.find('\\')) {
      const std::size_t b = line.find('\\', a + 1);
      if (b == std::string::npos) break;
      line.erase(a, b - a + 1);
    }
    // Pronunciations: parentheses holding accent codes such as ([a^]b"[.a]*k[.a]).
    for (std::size_t open = line.find('('); open != std::string::npos;) {
      const std::size_t close = line.find(')', open);
      if (close == std::string::npos) break;
      const std::string inner = line.substr(open + 1, close - open - 1);
      bool accent = false;
      for (std::size_t k = inner.find('['); k != std::string::npos && !accent;
           k = inner.find('[', k + 1)) {
        const std::size_t end = inner.find(']', k);
        accent = end != std::string::npos && end - k <= 4 && inner.find(' ', k) > end;
      }
      if (accent && inner.find('(') == std::string::npos) {
        line.erase(open, close - open + 1);
      } else {
        open = line.find('(', open + 1);
      }
    }
    line.erase(
        std::remove_if(line.begin(), line.end(), [](char c) { return c == '{' || c == '}'; }),
        line.end());
    // Tidy what the removals left: runs of spaces, a space before a comma.
    std::string tidy;
    for (char c : line) {
      if (c == ' ' && (tidy.empty() || tidy.back() == ' ')) continue;
      if (c == ',' && !tidy.empty() && tidy.back() == ' ') tidy.pop_back();
      tidy += c;
    }
    while (!tidy.empty() && tidy.back() == ' ') tidy.pop_back();
    if (tidy.empty()) {
      flush(true);
      continue;
    }
    // Numbered senses, notes and synonym lists start a line; other lines are hard wraps.
    const bool starts_item = std::isdigit(static_cast<unsigned char>(tidy[0])) ||
                             starts_with(tidy, "Note:") || starts_with(tidy, "Syn.") ||
                             starts_with(tidy, "--");
    if (starts_item) flush(false);
    if (!paragraph.empty()) paragraph += ' ';
    paragraph += tidy;
  }
  flush(false);
  return out;
}

std::string strip_gutenberg_boilerplate(std::string_view text) {
  std::size_t begin = 0;
  const std::size_t start = text.find("*** START OF");
  if (start != std::string_view::npos) {
    const std::size_t eol = text.find('\n', start);
    begin = eol == std::string_view::npos ? text.size() : eol + 1;
  }
  std::size_t end = text.size();
  for (std::string_view marker :
       {"End of Project Gutenberg", "End of the Project Gutenberg", "*** END OF", "***END OF"}) {
    const std::size_t at = text.find(marker, begin);
    if (at != std::string_view::npos) end = std::min(end, at);
  }
  return std::string(text.substr(begin, end - begin));
}

std::vector<Document> extract_documents(const std::string& source_id, const nlohmann::json& extract,
                                        const fs::path& root, const fs::path& scratch) {
  const std::string rule = extract.value("rule", "");
  if (rule == "text_files") return text_files(source_id, extract, root);
  if (rule == "brown") return brown(source_id, extract, root);
  if (rule == "gcide") return gcide(source_id, extract, root, scratch);
  if (rule == "wordnet") return wordnet(source_id, extract, root);
  if (rule == "fortunes") return fortunes(source_id, extract, root);
  throw Error("corpus source '" + source_id + "': unknown extract rule '" + rule +
                  "' (text_files, brown, gcide, wordnet, fortunes)",
              ExitCode::kUsage);
}

}  // namespace rebench::lm
