// Code-point classes of the GPT-2 pre-tokenizer (letter, number, whitespace, other) and UTF-8
// decoding with replacement of invalid sequences (WHATWG / Unicode "maximal subpart" rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rebench::lm {

/// The classes of the GPT-2 pattern: \p{L}, \p{N}, \s (JavaScript semantics), everything else.
enum class CharClass : std::uint8_t { kOther = 0, kLetter, kNumber, kSpace };

/// Range-table lookup for any code point (generated tables, see unicode_classes.cpp).
CharClass classify_slow(char32_t cp);
/// Number of ranges in the generated table (for tests).
std::size_t class_range_count();

/// Fast path for ASCII, table lookup otherwise.
inline CharClass classify(char32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::kSpace;
    return CharClass::kOther;
  }
  return classify_slow(cp);
}

/// Replaces every invalid UTF-8 sequence of `text` by U+FFFD, one per maximal subpart, exactly
/// as the WHATWG decoder (JavaScript's TextDecoder) and Python's errors="replace" do. Valid
/// input comes back unchanged.
std::string sanitize_utf8(std::string_view text);
/// True when `text` is well-formed UTF-8 (no surrogates, no overlongs, ≤ U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// Decodes well-formed UTF-8 (as produced by sanitize_utf8) into code points with the byte
/// offset where each starts; offsets has one extra entry: text.size().
void decode_utf8(std::string_view text, std::vector<char32_t>& code_points,
                 std::vector<std::uint32_t>& offsets);

}  // namespace rebench::lm
