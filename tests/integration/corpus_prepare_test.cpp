// `rebench prepare corpus` end to end on a tiny definition: build, idempotent second call, the
// same manifest hash in another cache, export → import round trip into a fresh cache, clear
// errors for a corrupted corpus and a missing definition.
#include <gtest/gtest.h>

#include "lm/corpus_fetch.hpp"
#include "lm/gpt2_tokenizer.hpp"
#include "rebench/json_file.hpp"
#include "rebench/process.hpp"
#include "rebench/sha256.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kTiny = std::string(REBENCH_SOURCE_ROOT) + "/tests/lm/tiny_corpus/tiny.json";

/// A cache folder holding the GPT-2 files (copied from the normal cache, fetched there once).
void seed_tokenizer(const fs::path& cache) {
  lm::ensure_gpt2_tokenizer_files();
  for (const char* f : {lm::Gpt2Files::kEncoderJson, lm::Gpt2Files::kVocabBpe})
    lm::copy_file_atomic(lm::gpt2_tokenizer_dir() / f, cache / "tokenizers/gpt2" / f);
}

ProcessResult rebench_in(const fs::path& cache, std::vector<std::string> args) {
  std::vector<std::string> argv = {"env", "REBENCH_CACHE=" + cache.string(), REBENCH_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, 300);
}

Json json_of(const ProcessResult& result) {
  const std::size_t start = result.output.find("{\n");
  EXPECT_NE(start, std::string::npos) << result.output;
  return Json::parse(result.output.substr(start));
}

TEST(PrepareCorpus, BuildIsIdempotentDeterministicAndExportsAndImports) {
  TempDir a, b, c, out;
  seed_tokenizer(a.path());
  seed_tokenizer(b.path());

  ProcessResult first =
      rebench_in(a.path(), {"prepare", "corpus", "--definition", kTiny, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const Json built = json_of(first);
  EXPECT_EQ(built.at("status"), "built");
  EXPECT_EQ(built.at("name"), "tiny-test");
  const fs::path dir = built.at("dir").get<std::string>();
  EXPECT_EQ(dir, a / "corpora/tiny-test");
  EXPECT_EQ(built.at("manifest_sha256"), sha256_file(dir / "manifest.json"));

  ProcessResult second =
      rebench_in(a.path(), {"prepare", "corpus", "--definition", kTiny, "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(json_of(second).at("status"), "cached");
  EXPECT_EQ(json_of(second).at("manifest_sha256"), built.at("manifest_sha256"));

  // Another cache, one thread: the same bytes.
  ProcessResult other = rebench_in(
      b.path(), {"prepare", "corpus", "--definition", kTiny, "--threads", "1", "--json"});
  ASSERT_EQ(other.exit_code, 0) << other.output;
  EXPECT_EQ(json_of(other).at("manifest_sha256"), built.at("manifest_sha256"));
  EXPECT_EQ(sha256_file(b / "corpora/tiny-test/train.bin"), sha256_file(dir / "train.bin"));

  // Export, then import into a cache with nothing in it (no tokenizer files either).
  const fs::path file = out / "tiny.tar.xz";
  ProcessResult exported = rebench_in(
      a.path(), {"prepare", "corpus", "--definition", kTiny, "--export", file.string(), "--json"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_GT(fs::file_size(file), 1000u);
  ProcessResult imported =
      rebench_in(c.path(), {"prepare", "corpus", "--import", file.string(), "--json"});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_EQ(json_of(imported).at("status"), "imported");
  EXPECT_EQ(json_of(imported).at("manifest_sha256"), built.at("manifest_sha256"));
  EXPECT_EQ(sha256_file(c / "tokenizers/gpt2/vocab.bpe"), lm::Gpt2Files::kVocabBpeSha256);
  ProcessResult again =
      rebench_in(c.path(), {"prepare", "corpus", "--import", file.string(), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(json_of(again).at("status"), "already imported");

  // A corrupted export is refused with a clear message and installs nothing.
  testing::write_text(out / "bad.tar.xz", "not an archive");
  TempDir d;
  ProcessResult bad =
      rebench_in(d.path(), {"prepare", "corpus", "--import", (out / "bad.tar.xz").string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("cannot unpack"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(d / "corpora/tiny-test"));
}

TEST(PrepareCorpus, DamagedCacheIsRebuiltAndUnknownNamesAreUsageErrors) {
  TempDir a;
  seed_tokenizer(a.path());
  ProcessResult first =
      rebench_in(a.path(), {"prepare", "corpus", "--definition", kTiny, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const fs::path dir = a / "corpora/tiny-test";
  fs::resize_file(dir / "train.bin", fs::file_size(dir / "train.bin") - 2);
  ProcessResult rebuilt =
      rebench_in(a.path(), {"prepare", "corpus", "--definition", kTiny, "--json"});
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
  EXPECT_EQ(json_of(rebuilt).at("status"), "built");
  EXPECT_NE(rebuilt.output.find("unusable"), std::string::npos) << rebuilt.output;
  EXPECT_EQ(json_of(rebuilt).at("manifest_sha256"), json_of(first).at("manifest_sha256"));

  ProcessResult unknown = rebench_in(a.path(), {"prepare", "corpus", "no-such-corpus"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("configs/corpora"), std::string::npos) << unknown.output;
  ProcessResult bare = rebench_in(a.path(), {"prepare"});
  EXPECT_EQ(bare.exit_code, 2) << bare.output;
}

}  // namespace
}  // namespace rebench
