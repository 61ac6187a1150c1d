// Permutation, corrupted checkpoint, held-out windows and task record (see task_files.hpp).
#include "fix_embedding/task_files.hpp"

#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "lm/safetensors.hpp"
#include "lm/training_schedule.hpp"
#include "rebench/errors.hpp"
#include "rebench/sha256.hpp"

namespace rebench::fix_embedding {

namespace fs = std::filesystem;

namespace {
constexpr const char* kEmbedding = "transformer.wte.weight";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// A stream of uniform 64-bit words: SHA-256 of (seed, block counter), four words per block.
class HashStream {
 public:
  explicit HashStream(std::string seed) : seed_(std::move(seed)) {}
  std::uint64_t next() {
    if (used_ == 4) {
      Sha256 hash;
      hash.update(seed_ + ":" + std::to_string(counter_++));
      const std::string hex = hash.hex_digest();
      for (int word = 0; word < 4; ++word) {
        std::uint64_t value = 0;
        for (int i = 0; i < 16; ++i) value = value << 4 | hex_value(hex[word * 16 + i]);
        words_[word] = value;
      }
      used_ = 0;
    }
    return words_[used_++];
  }
  /// Uniform in [0, bound) without modulo bias.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    std::uint64_t value;
    do value = next();
    while (value >= limit);
    return value % bound;
  }

 private:
  std::string seed_;
  std::uint64_t counter_ = 0;
  std::uint64_t words_[4] = {};
  int used_ = 4;
};
}  // namespace

std::string new_permutation_seed() {
  unsigned char bytes[32];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  if (!urandom) throw Error("cannot read /dev/urandom");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

std::vector<std::int64_t> permutation_from_seed(const std::string& seed_hex, std::int64_t n) {
  if (seed_hex.size() < 32)
    throw Error("a permutation seed needs at least 128 bits (32 hex digits)");
  for (char c : seed_hex)
    if (hex_value(c) < 0) throw Error("a permutation seed is lower-case hex");
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
  HashStream stream(seed_hex);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(stream.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  }
  return perm;
}

void write_corrupted_model(const fs::path& clean, const fs::path& out,
                           const std::vector<std::int64_t>& permutation) {
  const lm::SafetensorsFile file = lm::SafetensorsFile::open(clean);
  const lm::TensorEntry& wte = file.at(kEmbedding);
  if (wte.dtype != lm::DType::kF32 || wte.shape.size() != 2)
    throw Error(fmt::format("{}: {} must be a 2-D F32 matrix (found {} {})", clean.string(),
                            kEmbedding, lm::dtype_name(wte.dtype), lm::shape_string(wte.shape)));
  const std::int64_t rows = wte.shape[0];
  if (static_cast<std::int64_t>(permutation.size()) != rows)
    throw Error(fmt::format("the permutation has {} entries; {} has {} rows", permutation.size(),
                            kEmbedding, rows));
  const std::size_t row_bytes = static_cast<std::size_t>(wte.shape[1]) * sizeof(float);
  std::string permuted(wte.bytes(), '\0');
  const std::uint8_t* source = file.data(wte);
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t from = permutation[static_cast<std::size_t>(i)];
    if (from < 0 || from >= rows) throw Error("permutation entry out of range");
    std::memcpy(&permuted[static_cast<std::size_t>(i) * row_bytes],
                source + static_cast<std::size_t>(from) * row_bytes, row_bytes);
  }
  std::vector<lm::TensorToWrite> tensors;
  for (const lm::TensorEntry& t : file.tensors()) {
    const void* data = t.name == kEmbedding ? static_cast<const void*>(permuted.data())
                                            : static_cast<const void*>(file.data(t));
    tensors.push_back({t.name, t.dtype, t.shape, data, static_cast<std::size_t>(t.bytes())});
  }
  lm::write_safetensors(out, tensors, file.metadata());
}

std::vector<std::uint64_t> HeldoutSet::offsets() const {
  std::vector<std::uint64_t> starts;
  for (std::int64_t i = 0; i < windows; ++i)
    starts.push_back(static_cast<std::uint64_t>(i * (length + 1)));
  return starts;
}

HeldoutSet select_heldout(const lm::TokenCorpus& corpus, std::int64_t windows,
                          std::int64_t length) {
  const lm::TokenSpan val = corpus.tokens(lm::Split::kVal);
  const std::vector<std::uint64_t> starts =
      lm::evaluation_window_offsets(val.size, length, windows);
  if (static_cast<std::int64_t>(starts.size()) < windows)
    throw Error(fmt::format("the val split of {} has {} tokens: too few for {} held-out windows of "
                            "{} tokens (lower heldout_windows in the profile)",
                            corpus.dir().string(), val.size, windows, length + 1),
                ExitCode::kUsage);
  HeldoutSet set;
  set.windows = windows;
  set.length = length;
  set.tokens.reserve(static_cast<std::size_t>(windows * (length + 1)));
  for (std::uint64_t start : starts)
    set.tokens.insert(set.tokens.end(), val.data + start, val.data + start + length + 1);
  return set;
}

std::string heldout_sha256(const HeldoutSet& heldout) {
  Sha256 hash;
  hash.update(heldout.tokens.data(), heldout.tokens.size() * sizeof(std::uint16_t));
  return hash.hex_digest();
}

void write_heldout(const fs::path& file, const HeldoutSet& heldout) {
  // Little-endian uint16, like train.bin (x86 and ARM hosts are little-endian).
  write_file_atomic(file, std::string(reinterpret_cast<const char*>(heldout.tokens.data()),
                                      heldout.tokens.size() * sizeof(std::uint16_t)));
}

HeldoutSet read_heldout(const fs::path& file, std::int64_t windows, std::int64_t length) {
  HeldoutSet set;
  set.windows = windows;
  set.length = length;
  const std::uintmax_t expected =
      static_cast<std::uintmax_t>(windows * (length + 1)) * sizeof(std::uint16_t);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec || size != expected)
    throw Error(fmt::format("{}: expected {} bytes of held-out tokens, found {}", file.string(),
                            expected, ec ? std::string("no file") : std::to_string(size)));
  set.tokens.resize(static_cast<std::size_t>(expected / sizeof(std::uint16_t)));
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(set.tokens.data()), static_cast<std::streamsize>(expected));
  if (!in) throw Error("cannot read " + file.string());
  return set;
}

Json TaskRecord::to_json() const {
  return {{"format", "rebench-fix-embedding-task"},
          {"version", 1},
          {"config", config.to_json()},
          {"heldout",
           {{"file", kHeldoutFile},
            {"windows", windows},
            {"length", config.block_size},
            {"sha256", heldout_sha256}}},
          {"permutation_seed", permutation_seed},
          {"clean_loss", clean_loss},
          {"provenance", provenance}};
}

TaskRecord TaskRecord::from_json(const Json& json, const std::string& file) {
  ConfigReader reader(file, json, "");
  if (reader.integer("version") != 1) reader.fail("version", "expected 1");
  TaskRecord record;
  record.config = lm::GptConfig::from_json(reader.raw("config"), file, "/config");
  ConfigReader heldout = reader.object("heldout");
  record.windows = heldout.integer("windows");
  if (heldout.integer("length") != record.config.block_size)
    heldout.fail("length", "expected the model's block_size");
  record.heldout_sha256 = heldout.string("sha256");
  record.permutation_seed = reader.string("permutation_seed");
  record.clean_loss = reader.number("clean_loss");
  record.provenance = reader.raw("provenance");
  return record;
}

void copy_bytes(const fs::path& from, const fs::path& to) {
  // copy_file reads and writes the bytes: the copy shares no inode with the cache.
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

}  // namespace rebench::fix_embedding
