// Token corpus reader (mmap), writer (temp folder + rename) and corpus-spec resolution.
#include "lm/token_corpus.hpp"

#include "lm/synthetic_corpus.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "rebench/errors.hpp"
#include "rebench/paths.hpp"
#include "rebench/sha256.hpp"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "token files are little-endian uint16 (nanoGPT's format); this host is not little-endian"
#endif

namespace rebench::lm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "rebench-corpus";
constexpr const char* kVersion = "1.0";
constexpr const char* kManifestFile = "manifest.json";

[[noreturn]] void corrupt(const fs::path& file, const std::string& what) {
  throw Error("corpus file " + file.string() + ": " + what, ExitCode::kUsage);
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) corrupt(file, "cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const nlohmann::json& field(const nlohmann::json& object, const char* key,
                            nlohmann::json::value_t type, const fs::path& file,
                            const std::string& where) {
  if (!object.is_object() || !object.contains(key)) corrupt(file, "missing field " + where + key);
  const nlohmann::json& value = object.at(key);
  // A count: any non-negative integer (a literal 50257 is stored signed by nlohmann::json).
  const bool ok = type == nlohmann::json::value_t::number_unsigned
                      ? value.is_number_integer() && value.get<std::int64_t>() >= 0
                      : value.type() == type;
  if (!ok) corrupt(file, "field " + where + key + " has the wrong type");
  return value;
}

}  // namespace

const char* to_string(Split split) { return split == Split::kTrain ? "train" : "val"; }

fs::path corpora_dir() { return cache_dir() / "corpora"; }

std::string manifest_text(const nlohmann::json& manifest) { return manifest.dump(2) + "\n"; }

// ---- reader --------------------------------------------------------------------------------

struct TokenCorpus::Mapping {
  const std::uint16_t* data = nullptr;
  std::size_t tokens = 0;
  void* base = nullptr;
  std::size_t bytes = 0;

  Mapping(const fs::path& file, std::uint64_t expected_tokens) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) corrupt(file, std::string("cannot be opened: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      corrupt(file, "is not a regular file");
    }
    bytes = static_cast<std::size_t>(st.st_size);
    if (bytes % 2 != 0) {
      ::close(fd);
      corrupt(file, "has an odd size (" + std::to_string(bytes) +
                        " bytes): not uint16 tokens, truncated or corrupted");
    }
    if (expected_tokens != bytes / 2) {
      ::close(fd);
      corrupt(file, "holds " + std::to_string(bytes / 2) + " tokens but the manifest says " +
                        std::to_string(expected_tokens) + " (truncated or corrupted)");
    }
    tokens = bytes / 2;
    if (bytes > 0) {
      base = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
      if (base == MAP_FAILED) {
        const int saved = errno;
        ::close(fd);
        corrupt(file, std::string("cannot be mapped: ") + std::strerror(saved));
      }
      data = static_cast<const std::uint16_t*>(base);
    }
    ::close(fd);
  }
  ~Mapping() {
    if (base != nullptr) ::munmap(base, bytes);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

TokenCorpus TokenCorpus::open(const fs::path& dir) {
  TokenCorpus corpus;
  corpus.dir_ = dir;
  const fs::path manifest_file = dir / kManifestFile;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("corpus folder " + dir.string() + " does not exist", ExitCode::kUsage);

  if (fs::exists(manifest_file, ec)) {
    const std::string text = read_bytes(manifest_file);
    try {
      corpus.manifest_ = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      corrupt(manifest_file, std::string("not valid JSON (") + e.what() + ")");
    }
    corpus.manifest_sha256_ = sha256_hex(text);
  } else if (fs::is_regular_file(dir / "train.bin", ec) &&
             fs::is_regular_file(dir / "val.bin", ec)) {
    // nanoGPT's prepare.py writes only the two files: GPT-2 ids, <|endoftext|> after documents.
    nlohmann::json splits;
    for (const char* name : {"train", "val"}) {
      const fs::path file = dir / (std::string(name) + ".bin");
      const auto bytes = fs::file_size(file);
      if (bytes % 2 != 0)
        corrupt(file, "has an odd size (" + std::to_string(bytes) + " bytes): truncated?");
      splits[name] = {{"file", std::string(name) + ".bin"}, {"tokens", bytes / 2}};
    }
    corpus.manifest_ = {{"format", kFormat},
                        {"version", kVersion},
                        {"name", dir.filename().string()},
                        {"source", "nanoGPT folder without manifest.json (synthesized)"},
                        {"tokenizer", {{"name", "gpt2"}}},
                        {"vocab_size", 50257},
                        {"eot_token", 50256},
                        {"splits", splits}};
    corpus.manifest_sha256_ = sha256_hex(manifest_text(corpus.manifest_));
    corpus.synthesized_ = true;
  } else {
    throw Error("corpus folder " + dir.string() +
                    " has no manifest.json and no train.bin + val.bin (not a corpus)",
                ExitCode::kUsage);
  }

  using T = nlohmann::json::value_t;
  const nlohmann::json& m = corpus.manifest_;
  if (!m.is_object()) corrupt(manifest_file, "not a JSON object");
  if (field(m, "format", T::string, manifest_file, "/").get<std::string>() != kFormat)
    corrupt(manifest_file, std::string("field /format is not '") + kFormat + "'");
  const std::string version = field(m, "version", T::string, manifest_file, "/").get<std::string>();
  if (version.rfind("1.", 0) != 0)
    corrupt(manifest_file, "version " + version + " is not supported (this rebench reads 1.x)");
  const auto vocab =
      field(m, "vocab_size", T::number_unsigned, manifest_file, "/").get<std::uint64_t>();
  if (vocab == 0 || vocab > 65536)
    corrupt(manifest_file, "vocab_size " + std::to_string(vocab) + " does not fit uint16 tokens");
  corpus.vocab_size_ = static_cast<std::uint32_t>(vocab);
  if (m.contains("eot_token") && !m.at("eot_token").is_null()) {
    const auto eot =
        field(m, "eot_token", T::number_unsigned, manifest_file, "/").get<std::uint64_t>();
    if (eot >= vocab) corrupt(manifest_file, "eot_token is not below vocab_size");
    corpus.eot_token_ = static_cast<std::uint32_t>(eot);
  }
  const nlohmann::json& splits = field(m, "splits", T::object, manifest_file, "/");
  for (Split split : {Split::kTrain, Split::kVal}) {
    const std::string where = std::string("/splits/") + to_string(split) + "/";
    const nlohmann::json& entry =
        field(splits, to_string(split), T::object, manifest_file, "/splits/");
    const std::string file =
        field(entry, "file", T::string, manifest_file, where).get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      corrupt(manifest_file, "field " + where + "file must be a plain file name");
    const auto tokens =
        field(entry, "tokens", T::number_unsigned, manifest_file, where).get<std::uint64_t>();
    auto mapping = std::make_shared<const Mapping>(dir / file, tokens);
    (split == Split::kTrain ? corpus.train_ : corpus.val_) = std::move(mapping);
  }
  return corpus;
}

TokenSpan TokenCorpus::tokens(Split split) const {
  const auto& mapping = split == Split::kTrain ? train_ : val_;
  return {mapping->data, mapping->tokens};
}

void TokenCorpus::verify() const {
  for (Split split : {Split::kTrain, Split::kVal}) {
    const nlohmann::json& entry = manifest_.at("splits").at(to_string(split));
    const fs::path file = dir_ / entry.at("file").get<std::string>();
    const TokenSpan span = tokens(split);
    if (entry.contains("sha256")) {
      Sha256 hash;
      hash.update(span.data, span.size * 2);
      const std::string actual = hash.hex_digest();
      if (actual != entry.at("sha256").get<std::string>())
        corrupt(file, "sha256 " + actual + " differs from the manifest's " +
                          entry.at("sha256").get<std::string>() + " (corrupted)");
    }
    for (std::size_t i = 0; i < span.size; ++i) {
      if (span.data[i] >= vocab_size_)
        corrupt(file, "token " + std::to_string(i) + " is " + std::to_string(span.data[i]) +
                          ", not below vocab_size " + std::to_string(vocab_size_));
    }
  }
}

// ---- writer --------------------------------------------------------------------------------

struct TokenCorpusWriter::Output {
  fs::path file;
  std::FILE* stream = nullptr;
  Sha256 hash;
  std::uint64_t tokens = 0;
  explicit Output(fs::path path) : file(std::move(path)) {
    stream = std::fopen(file.c_str(), "wbx");
    if (stream == nullptr)
      throw Error("cannot create " + file.string() + ": " + std::strerror(errno));
  }
  ~Output() {
    if (stream != nullptr) std::fclose(stream);
  }
  void close() {
    if (std::fflush(stream) != 0 || ::fsync(::fileno(stream)) != 0 || std::fclose(stream) != 0) {
      stream = nullptr;
      throw Error("cannot write " + file.string() + ": " + std::strerror(errno));
    }
    stream = nullptr;
  }
};

TokenCorpusWriter::TokenCorpusWriter(fs::path dir, std::uint32_t vocab_size,
                                     std::optional<std::uint32_t> eot_token)
    : dir_(std::move(dir)), vocab_size_(vocab_size), eot_token_(eot_token) {
  if (vocab_size_ == 0 || vocab_size_ > 65536)
    throw Error("a corpus vocabulary must have 1..65536 tokens (uint16 ids)");
  if (eot_token_ && *eot_token_ >= vocab_size_) throw Error("eot_token must be below vocab_size");
  partial_ = dir_;
  partial_ += ".partial";
  fs::remove_all(partial_);  // a previous attempt that died mid-way
  fs::create_directories(partial_);
  train_ = std::make_unique<Output>(partial_ / "train.bin");
  val_ = std::make_unique<Output>(partial_ / "val.bin");
}

TokenCorpusWriter::~TokenCorpusWriter() {
  if (!finished_) {
    train_.reset();
    val_.reset();
    std::error_code ignored;
    fs::remove_all(partial_, ignored);
  }
}

void TokenCorpusWriter::append(Split split, const std::uint16_t* tokens, std::size_t count) {
  if (finished_) throw Error("TokenCorpusWriter: append after finish");
  for (std::size_t i = 0; i < count; ++i) {
    if (tokens[i] >= vocab_size_)
      throw Error("token id " + std::to_string(tokens[i]) + " is not below vocab_size " +
                  std::to_string(vocab_size_));
  }
  Output& out = split == Split::kTrain ? *train_ : *val_;
  if (count > 0 && std::fwrite(tokens, 2, count, out.stream) != count)
    throw Error("cannot write " + out.file.string() + ": " + std::strerror(errno));
  out.hash.update(tokens, count * 2);
  out.tokens += count;
}

std::uint64_t TokenCorpusWriter::token_count(Split split) const {
  return (split == Split::kTrain ? train_ : val_)->tokens;
}

std::string TokenCorpusWriter::finish(nlohmann::json manifest) {
  if (finished_) throw Error("TokenCorpusWriter: finish called twice");
  if (!manifest.is_object()) throw Error("TokenCorpusWriter: manifest fields must be an object");
  manifest["format"] = kFormat;
  manifest["version"] = kVersion;
  manifest["vocab_size"] = vocab_size_;
  manifest["eot_token"] = eot_token_ ? nlohmann::json(*eot_token_) : nlohmann::json(nullptr);
  for (Split split : {Split::kTrain, Split::kVal}) {
    Output& out = split == Split::kTrain ? *train_ : *val_;
    out.close();
    manifest["splits"][to_string(split)] = {{"file", out.file.filename().string()},
                                            {"tokens", out.tokens},
                                            {"sha256", out.hash.hex_digest()}};
  }
  const std::string text = manifest_text(manifest);
  {
    std::FILE* f = std::fopen((partial_ / kManifestFile).c_str(), "wbx");
    if (f == nullptr) throw Error("cannot create the manifest in " + partial_.string());
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                    std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    std::fclose(f);
    if (!ok) throw Error("cannot write the manifest in " + partial_.string());
  }
  // Replace an older corpus: move it aside first so <dir> is either old or new, never mixed.
  std::error_code ec;
  fs::path old = dir_;
  old += ".old";
  fs::remove_all(old, ec);
  if (fs::exists(dir_)) fs::rename(dir_, old);
  fs::rename(partial_, dir_);
  fs::remove_all(old, ec);
  finished_ = true;
  return sha256_hex(text);
}

// ---- specs ---------------------------------------------------------------------------------

fs::path resolve_corpus(const std::string& spec) {
  const auto prefixed = [&](const char* prefix) { return spec.rfind(prefix, 0) == 0; };
  if (prefixed("openwebtext:") || prefixed("dir:")) {
    const fs::path dir = spec.substr(spec.find(':') + 1);
    if (dir.empty()) throw UsageError("corpus spec '" + spec + "' names no folder");
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw UsageError("corpus spec '" + spec + "': folder " + dir.string() + " does not exist");
    return dir;
  }
  if (is_synthetic_spec(spec)) {  // generated by `rebench prepare corpus synthetic:…`
    const fs::path dir = corpora_dir() / resolve_synthetic_spec(spec).corpus_name;
    std::error_code ec;
    if (!fs::is_regular_file(dir / kManifestFile, ec))
      throw UsageError("synthetic corpus '" + spec +
                       "' is not generated yet: run `rebench "
                       "prepare corpus '" +
                       spec + "'`");
    return dir;
  }
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9_.-]*");
  if (!std::regex_match(spec, kName))
    throw UsageError("corpus spec '" + spec +
                     "' is neither a corpus name nor openwebtext:PATH nor dir:PATH");
  const fs::path dir = corpora_dir() / spec;
  std::error_code ec;
  if (!fs::is_regular_file(dir / kManifestFile, ec))
    throw UsageError("corpus '" + spec + "' is not prepared (no " + (dir / kManifestFile).string() +
                     "): run `rebench prepare corpus " + spec + "`");
  return dir;
}

}  // namespace rebench::lm
