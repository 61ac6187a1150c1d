// UTF-8 validation, replacement of invalid sequences and decoding for the GPT-2 tokenizer.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lm/unicode_classes.hpp"

namespace rebench::lm {

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

/// Length of the well-formed sequence starting at `i`, or 0 when it is not well-formed; on
/// failure `consumed` is the length of its maximal subpart (the bytes one U+FFFD replaces).
std::size_t sequence_length(std::string_view s, std::size_t i, std::size_t& consumed) {
  const auto b = static_cast<unsigned char>(s[i]);
  consumed = 1;
  if (b < 0x80) return 1;
  std::size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;  // no overlongs
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;  // no overlongs
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1, or F5..FF: never valid as a lead
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < lo || c > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
    consumed = k + 1;
  }
  return need + 1;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t consumed = 0;
    const std::size_t n = sequence_length(text, i, consumed);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t consumed = 0;
    const std::size_t n = sequence_length(text, i, consumed);
    if (n == 0) {
      out += kReplacement;
      i += consumed;
    } else {
      out.append(text.data() + i, n);
      i += n;
    }
  }
  return out;
}

void decode_utf8(std::string_view text, std::vector<char32_t>& code_points,
                 std::vector<std::uint32_t>& offsets) {
  code_points.clear();
  offsets.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    offsets.push_back(static_cast<std::uint32_t>(i));
    char32_t cp = 0;
    std::size_t n = 1;
    if (b < 0x80) {
      cp = b;
    } else if (b < 0xE0) {
      cp = b & 0x1F;
      n = 2;
    } else if (b < 0xF0) {
      cp = b & 0x0F;
      n = 3;
    } else {
      cp = b & 0x07;
      n = 4;
    }
    // Input is well-formed (sanitize_utf8 ran first); a truncated tail is still not read past.
    for (std::size_t k = 1; k < n && i + k < text.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    code_points.push_back(cp);
    i += n;
  }
  offsets.push_back(static_cast<std::uint32_t>(text.size()));
}

}  // namespace rebench::lm
