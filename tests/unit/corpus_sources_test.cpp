// Corpus text cleaning per source kind, the document-level split rule, definition errors, and
// determinism of a tiny corpus build (same bytes for any thread count and any output folder).
#include <cstdlib>

#include <gtest/gtest.h>

#include "lm/corpus_builder.hpp"
#include "lm/corpus_definition.hpp"
#include "lm/corpus_fetch.hpp"
#include "lm/corpus_sources.hpp"
#include "lm/gpt2_tokenizer.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/sha256.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(CorpusCleaning, NormalisesLineEndingsBlankLinesAndUtf8) {
  EXPECT_EQ(clean_text("\r\n\r\na  \r\nb\rc\n\n\n\nd\t\n\n"), "a\nb\nc\n\nd");
  EXPECT_EQ(clean_text("bad \xFF byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(clean_text(""), "");
}

TEST(CorpusCleaning, BrownTagsAreStrippedAndSpacingRestored) {
  EXPECT_EQ(brown_untag_line("\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, "
                             "Atlanta's/np$ (/( 1962/cd )/) ./."),
            "The jury said \"no evidence\", Atlanta's (1962).");
  EXPECT_EQ(brown_untag_line("   "), "");
  EXPECT_EQ(brown_untag_line("1/2/cd cup/nn"), "1/2 cup");  // the tag is after the last slash
}

TEST(CorpusCleaning, GcideMarkupIsRemoved) {
  const std::string entry =
      "Abaca \\Ab\"a*ca\\ ([a^]b\"[.a]*k[.a]), n. [The native name.]\n"
      "   The Manila-hemp plant ({Musa textilis}); also, its fiber. See\n"
      "   {Manila hemp} under {Manila}.\n"
      "   [1913 Webster]\n"
      "   2. A second sense (Arch.).\n";
  EXPECT_EQ(gcide_clean_entry(entry),
            "Abaca, n. [The native name.] The Manila-hemp plant (Musa textilis); also, its fiber. "
            "See Manila hemp under Manila.\n2. A second sense (Arch.).");
}

TEST(CorpusCleaning, GutenbergBoilerplateIsCut) {
  EXPECT_EQ(strip_gutenberg_boilerplate("licence\n*** START OF THIS BOOK ***\nText.\n"
                                        "End of Project Gutenberg's Book\nmore licence"),
            "Text.\n");
  EXPECT_EQ(strip_gutenberg_boilerplate("Just text."), "Just text.");
}

TEST(CorpusSplit, DependsOnlyOnTheDocumentId) {
  CorpusDefinition def;
  def.split_salt = "salt";
  def.val_per_10000 = 2000;
  int val = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = "src:doc" + std::to_string(i);
    const bool first = def.is_val(id);
    EXPECT_EQ(def.is_val(id), first);
    val += first ? 1 : 0;
  }
  EXPECT_NEAR(val, 1000, 120);  // about 20 %
  // Pinned values: changing the rule changes every anchor's corpus, so it must be deliberate.
  // sha256("salt\nsrc:doc0") starts with the hex digits checked here.
  const std::string digest = sha256_hex("salt\nsrc:doc0");
  EXPECT_EQ(def.is_val("src:doc0"), std::stoull(digest.substr(0, 16), nullptr, 16) % 10000 < 2000);
  def.val_per_10000 = 0;
  EXPECT_FALSE(def.is_val("src:doc0"));
  def.val_per_10000 = 10000;
  EXPECT_TRUE(def.is_val("src:doc0"));
}

TEST(CorpusDefinitionFile, ErrorsNameFileAndField) {
  TempDir tmp;
  testing::write_text(
      tmp / "bad.json",
      R"({"name": "x", "tokenizer": "gpt2", "split": {"salt": "s", "val_per_10000": 20000},
                          "sources": [{"id": "a", "local": "."}]})");
  try {
    (void)read_corpus_definition(tmp / "bad.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
    EXPECT_EQ(e.field(), "/split/val_per_10000");
  }
  // The committed prose definition parses and pins every package.
  const CorpusDefinition prose = read_corpus_definition(corpus_definition_file("prose"));
  EXPECT_EQ(prose.name, "prose");
  for (const CorpusSource& s : prose.sources) {
    ASSERT_TRUE(s.package.has_value()) << s.id;
    EXPECT_EQ(s.package->sha256.size(), 64u);
  }
}

class TinyCorpusBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    ensure_gpt2_tokenizer_files();  // into the normal cache, once
    source_tokenizer_ = gpt2_tokenizer_dir();
    ::setenv("REBENCH_CACHE", cache_.path().c_str(), 1);
    for (const char* f : {Gpt2Files::kEncoderJson, Gpt2Files::kVocabBpe})
      copy_file_atomic(source_tokenizer_ / f, gpt2_tokenizer_dir() / f);
  }
  void TearDown() override { ::unsetenv("REBENCH_CACHE"); }
  TempDir cache_;
  fs::path source_tokenizer_;
};

TEST_F(TinyCorpusBuild, SameBytesForAnyThreadCountAndFolder) {
  const CorpusDefinition def =
      read_corpus_definition(data_root() / "tests/lm/tiny_corpus/tiny.json");
  CorpusBuildOptions one;
  one.threads = 1;
  one.out_dir = cache_ / "one";
  CorpusBuildOptions three;
  three.threads = 3;
  three.out_dir = cache_ / "three";
  const CorpusBuildResult a = build_corpus(def, one);
  const CorpusBuildResult b = build_corpus(def, three);
  EXPECT_TRUE(a.rebuilt);
  EXPECT_EQ(a.manifest_sha256, b.manifest_sha256);
  for (const char* f : {"manifest.json", "train.bin", "val.bin"})
    EXPECT_EQ(sha256_file(a.dir / f), sha256_file(b.dir / f)) << f;

  const TokenCorpus corpus = TokenCorpus::open(a.dir);
  corpus.verify();
  EXPECT_GT(corpus.tokens(Split::kTrain).size, 1000u);
  EXPECT_GT(corpus.tokens(Split::kVal).size, 0u);
  const auto& source = corpus.manifest().at("sources").at(0);
  EXPECT_EQ(source.at("documents"), 24);
  EXPECT_EQ(source.at("kind"), "local");
  // Every document ends with <|endoftext|>.
  const TokenSpan train = corpus.tokens(Split::kTrain);
  EXPECT_EQ(train.data[train.size - 1], 50256);
  std::size_t eots = 0;
  for (Split split : {Split::kTrain, Split::kVal}) {
    const TokenSpan span = corpus.tokens(split);
    eots += static_cast<std::size_t>(std::count(span.data, span.data + span.size, 50256));
  }
  EXPECT_EQ(eots, 24u);
  // The token stream decodes back to the cleaned documents (CRLF files normalised).
  const auto tokenizer = Gpt2Tokenizer::load_cached();
  const std::string text =
      tokenizer->decode(std::vector<std::uint32_t>(train.data, train.data + train.size));
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("<|endoftext|>"), std::string::npos);

  // A second build finds the verified corpus and does not rebuild.
  const CorpusBuildResult again = build_corpus(def, one);
  EXPECT_FALSE(again.rebuilt);
  EXPECT_EQ(again.manifest_sha256, a.manifest_sha256);
  // A damaged cached corpus is rebuilt, to the same bytes.
  fs::resize_file(a.dir / "val.bin", 2);
  const CorpusBuildResult repaired = build_corpus(def, one);
  EXPECT_TRUE(repaired.rebuilt);
  EXPECT_EQ(repaired.manifest_sha256, a.manifest_sha256);
}

}  // namespace
}  // namespace rebench::lm
