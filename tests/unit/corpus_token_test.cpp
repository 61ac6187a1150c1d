// Token corpora: writer → reader round trip, atomic commit, clear errors for corrupted or
// truncated files and manifests, nanoGPT folders without a manifest, and corpus specs.
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "lm/synthetic_corpus.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"
#include "rebench/json_file.hpp"
#include "rebench/sha256.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

fs::path write_small_corpus(const fs::path& dir) {
  TokenCorpusWriter writer(dir, 1000, 999);
  const std::vector<std::uint16_t> train = {1, 2, 3, 999, 4, 5, 999};
  const std::vector<std::uint16_t> val = {7, 8, 999};
  writer.append(Split::kTrain, train.data(), 4);
  writer.append(Split::kVal, val.data(), val.size());
  writer.append(Split::kTrain, train.data() + 4, 3);
  EXPECT_FALSE(fs::exists(dir));  // nothing visible before finish
  EXPECT_TRUE(fs::exists(fs::path(dir.string() + ".partial")));
  writer.finish({{"name", "small"}, {"tokenizer", {{"name", "test"}}}});
  return dir;
}

TEST(TokenCorpus, WriterThenReaderRoundTrip) {
  TempDir tmp;
  const fs::path dir = write_small_corpus(tmp / "small");
  EXPECT_FALSE(fs::exists(tmp / "small.partial"));
  const TokenCorpus corpus = TokenCorpus::open(dir);
  const TokenSpan train = corpus.tokens(Split::kTrain);
  ASSERT_EQ(train.size, 7u);
  EXPECT_EQ(std::vector<std::uint16_t>(train.data, train.data + train.size),
            (std::vector<std::uint16_t>{1, 2, 3, 999, 4, 5, 999}));
  EXPECT_EQ(corpus.tokens(Split::kVal).size, 3u);
  EXPECT_EQ(corpus.vocab_size(), 1000u);
  EXPECT_EQ(corpus.eot_token(), std::optional<std::uint32_t>(999));
  EXPECT_EQ(corpus.manifest().at("name"), "small");
  EXPECT_EQ(corpus.manifest().at("format"), "rebench-corpus");
  EXPECT_EQ(corpus.manifest_sha256(), sha256_file(dir / "manifest.json"));
  EXPECT_EQ(corpus.manifest().at("splits").at("train").at("sha256"),
            sha256_file(dir / "train.bin"));
  EXPECT_FALSE(corpus.synthesized_manifest());
  corpus.verify();
  // nanoGPT's on-disk format: little-endian uint16.
  EXPECT_EQ(fs::file_size(dir / "train.bin"), 14u);
}

TEST(TokenCorpus, UnfinishedWriterLeavesNothing) {
  TempDir tmp;
  {
    TokenCorpusWriter writer(tmp / "c", 10, std::nullopt);
    const std::uint16_t t[] = {1, 2};
    writer.append(Split::kTrain, t, 2);
  }
  EXPECT_FALSE(fs::exists(tmp / "c"));
  EXPECT_FALSE(fs::exists(tmp / "c.partial"));
}

TEST(TokenCorpus, WriterRefusesIdsOutsideTheVocabulary) {
  TempDir tmp;
  TokenCorpusWriter writer(tmp / "c", 10, 9);
  const std::uint16_t bad[] = {3, 10};
  EXPECT_THROW(writer.append(Split::kTrain, bad, 2), Error);
}

TEST(TokenCorpus, TruncatedOrCorruptedFilesGiveClearErrors) {
  TempDir tmp;
  const fs::path dir = write_small_corpus(tmp / "c");
  // Truncated to an odd size.
  fs::resize_file(dir / "train.bin", 13);
  EXPECT_NE(error_of([&] { TokenCorpus::open(dir); }).find("odd size"), std::string::npos);
  // Truncated to fewer tokens than the manifest says.
  fs::resize_file(dir / "train.bin", 12);
  std::string message = error_of([&] { TokenCorpus::open(dir); });
  EXPECT_NE(message.find("holds 6 tokens but the manifest says 7"), std::string::npos) << message;
  EXPECT_NE(message.find("train.bin"), std::string::npos);

  // Same size, one flipped byte: open() succeeds, verify() finds it.
  const fs::path dir2 = write_small_corpus(tmp / "d");
  {
    std::fstream f(dir2 / "val.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1);
    f.put('\x01');
  }
  const TokenCorpus corpus = TokenCorpus::open(dir2);
  message = error_of([&] { corpus.verify(); });
  EXPECT_NE(message.find("sha256"), std::string::npos) << message;
  EXPECT_NE(message.find("val.bin"), std::string::npos) << message;
}

TEST(TokenCorpus, MalformedManifestsGiveClearErrors) {
  TempDir tmp;
  const fs::path dir = write_small_corpus(tmp / "c");
  const Json good = read_json_file(dir / "manifest.json");
  const auto with = [&](const std::function<void(Json&)>& edit) {
    Json m = good;
    edit(m);
    testing::write_text(dir / "manifest.json", m.dump(2));
    return error_of([&] { TokenCorpus::open(dir); });
  };
  EXPECT_NE(with([](Json& m) { m["format"] = "other"; }).find("format"), std::string::npos);
  EXPECT_NE(with([](Json& m) { m["version"] = "2.0"; }).find("not supported"), std::string::npos);
  EXPECT_NE(with([](Json& m) { m["vocab_size"] = 70000; }).find("uint16"), std::string::npos);
  EXPECT_NE(with([](Json& m) { m["splits"].erase("val"); }).find("missing field /splits/val"),
            std::string::npos);
  EXPECT_NE(with([](Json& m) { m["splits"]["train"]["tokens"] = "7"; }).find("wrong type"),
            std::string::npos);
  EXPECT_NE(with([](Json& m) { m["splits"]["train"]["file"] = "../x.bin"; }).find("plain file"),
            std::string::npos);
  testing::write_text(dir / "manifest.json", "{\"format\": ");
  EXPECT_NE(error_of([&] { TokenCorpus::open(dir); }).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of([&] { TokenCorpus::open(tmp / "nothing"); }).find("does not exist"),
            std::string::npos);
}

TEST(TokenCorpus, NanoGptFolderWithoutManifestWorks) {
  TempDir tmp;
  const fs::path dir = tmp / "owt";
  fs::create_directories(dir);
  const std::vector<std::uint16_t> train = {464, 2068, 50256, 15496};
  const std::vector<std::uint16_t> val = {995, 50256};
  std::ofstream(dir / "train.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(train.data()), 8);
  std::ofstream(dir / "val.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(val.data()), 4);

  const fs::path resolved = resolve_corpus("openwebtext:" + dir.string());
  EXPECT_EQ(resolved, dir);
  const TokenCorpus corpus = TokenCorpus::open(resolved);
  EXPECT_TRUE(corpus.synthesized_manifest());
  EXPECT_EQ(corpus.vocab_size(), 50257u);
  EXPECT_EQ(corpus.eot_token(), std::optional<std::uint32_t>(50256));
  ASSERT_EQ(corpus.tokens(Split::kTrain).size, 4u);
  EXPECT_EQ(corpus.tokens(Split::kTrain).data[3], 15496);
  EXPECT_EQ(corpus.tokens(Split::kVal).size, 2u);
  EXPECT_EQ(corpus.manifest_sha256().size(), 64u);
  corpus.verify();  // no hashes to compare; token ids are checked
  // The synthesized manifest (and its hash) follows the data: another size, another hash.
  const std::string before = corpus.manifest_sha256();
  std::ofstream(dir / "val.bin", std::ios::binary | std::ios::app).write("\x01\x00", 2);
  EXPECT_NE(TokenCorpus::open(dir).manifest_sha256(), before);
  fs::resize_file(dir / "val.bin", 5);
  EXPECT_NE(error_of([&] { TokenCorpus::open(dir); }).find("odd size"), std::string::npos);
}

TEST(TokenCorpus, SpecsResolveOrNameTheFix) {
  TempDir tmp;
  ::setenv("REBENCH_CACHE", tmp.path().c_str(), 1);
  std::string message = error_of([] { resolve_corpus("prose"); });
  EXPECT_NE(message.find("rebench prepare corpus prose"), std::string::npos) << message;
  write_small_corpus(corpora_dir() / "prose");
  EXPECT_EQ(resolve_corpus("prose"), corpora_dir() / "prose");
  EXPECT_EQ(resolve_corpus("dir:" + (corpora_dir() / "prose").string()), corpora_dir() / "prose");
  EXPECT_NE(error_of([] { resolve_corpus("openwebtext:/no/such/folder"); }).find("does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([] { resolve_corpus("../etc"); }).find("neither"), std::string::npos);
  ::unsetenv("REBENCH_CACHE");
}

TEST(TokenCorpus, SyntheticSpecsResolveOnceGenerated) {
  TempDir tmp;
  ::setenv("REBENCH_CACHE", tmp.path().c_str(), 1);
  const std::string spec = "synthetic:topic_hmm_small,train_tokens=20000,val_tokens=20000";
  std::string message = error_of([&] { resolve_corpus(spec); });
  EXPECT_NE(message.find("rebench prepare corpus '" + spec + "'"), std::string::npos) << message;
  // Generated where `rebench prepare corpus SPEC` puts it: then the spec opens as a corpus.
  const SyntheticCorpusResult made = prepare_synthetic_corpus(spec, {}, [](const std::string&) {});
  EXPECT_EQ(resolve_corpus(spec), made.dir);
  EXPECT_EQ(made.dir.parent_path(), corpora_dir());
  const TokenCorpus corpus = TokenCorpus::open(resolve_corpus(spec));
  EXPECT_EQ(corpus.tokens(Split::kTrain).size, 20000u);
  // Another definition is another corpus, not generated yet.
  EXPECT_NE(error_of([&] { resolve_corpus(spec + ",data_seed=9"); }).find("not generated"),
            std::string::npos);
  ::unsetenv("REBENCH_CACHE");
}

}  // namespace
}  // namespace rebench::lm
