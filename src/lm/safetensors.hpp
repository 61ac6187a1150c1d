// Safetensors checkpoints (huggingface/safetensors format): a validating reader and an atomic
// writer.
//
// Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
// {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}} (space-padded), then the byte buffer; offsets are relative
// to the buffer. No pickle: loading a file never executes anything it contains, so files written
// by an agent are safe to open. The reader treats its input as hostile: every rule of the official
// implementation is checked (plus a few stricter ones, listed at SafetensorsFile::parse) and every
// violation is a SafetensorsError naming the file, the tensor and the rule, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rebench/errors.hpp"

namespace rebench::lm {

/// Element types of the format, with their official names ("F32", "BF16", ...).
enum class DType {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
};

/// Bytes per element.
std::size_t dtype_size(DType dtype);
/// The format's name of the dtype ("F32").
std::string_view dtype_name(DType dtype);
/// The dtype named `name`, or nothing for a name the format does not define.
std::optional<DType> parse_dtype(std::string_view name);
/// Every dtype, in enum order (for tests and messages).
const std::vector<DType>& all_dtypes();
/// Floating-point dtypes (F64, F32, F16, BF16, F8_E4M3, F8_E5M2): those find_non_finite checks.
bool is_floating(DType dtype);

/// A malformed or unreadable safetensors file, or a checkpoint that does not match the model.
/// Exit code: usage (the input is bad, not the program).
class SafetensorsError : public Error {
 public:
  explicit SafetensorsError(const std::string& message) : Error(message, ExitCode::kUsage) {}
};

/// Caps applied before anything is allocated: a hostile file cannot make the reader allocate or
/// loop beyond these. Defaults fit GPT-2-XL-sized checkpoints.
struct SafetensorsLimits {
  std::uint64_t max_header_bytes = 100'000'000;  ///< the official reader's cap
  std::uint64_t max_file_bytes = 16ULL << 30;    ///< the whole file is read into memory
  std::size_t max_tensors = 100'000;
  std::size_t max_rank = 32;
  std::size_t max_name_bytes = 4096;
};

struct TensorEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;  ///< empty for a scalar
  std::uint64_t begin = 0;          ///< byte offsets relative to the data buffer, end exclusive
  std::uint64_t end = 0;
  [[nodiscard]] std::uint64_t bytes() const { return end - begin; }
  [[nodiscard]] std::uint64_t numel() const { return bytes() / dtype_size(dtype); }
};

/// A parsed, fully validated safetensors file held in memory.
class SafetensorsFile {
 public:
  /// Reads and validates `path` (a regular file; not mmapped, so a file truncated by someone
  /// else while open cannot SIGBUS the reader).
  static SafetensorsFile open(const std::filesystem::path& path,
                              const SafetensorsLimits& limits = {});
  /// Validates the bytes of a whole file; `source` names it in messages. Rules (official ones
  /// first): 8-byte length present; header length <= max_header_bytes and within the file;
  /// header is valid UTF-8 JSON starting with '{' and holding an object; no duplicate keys at any
  /// level; each tensor is {"dtype", "shape", "data_offsets"} and nothing else, with a known
  /// dtype, non-negative integer dims, two non-negative integer offsets, begin <= end,
  /// end - begin == numel * dtype size (computed without overflow); offsets, sorted, cover the
  /// buffer from 0 to its end contiguously (no hole, no overlap, no trailing bytes);
  /// "__metadata__", if present, maps strings to strings. Stricter than the official reader:
  /// non-empty names no longer than max_name_bytes, rank <= max_rank, at most max_tensors.
  static SafetensorsFile parse(std::string bytes, const SafetensorsLimits& limits = {},
                               std::string source = "<memory>");

  /// Tensors in file (offset) order.
  [[nodiscard]] const std::vector<TensorEntry>& tensors() const { return tensors_; }
  /// The tensor called `name`, or nullptr.
  [[nodiscard]] const TensorEntry* find(std::string_view name) const;
  /// The tensor called `name`; SafetensorsError naming the file when absent.
  [[nodiscard]] const TensorEntry& at(std::string_view name) const;
  /// First byte of the tensor's data (entry.bytes() long). Not necessarily aligned to the
  /// element size (other writers may not pad the header): copy with memcpy, do not cast.
  [[nodiscard]] const std::uint8_t* data(const TensorEntry& entry) const;
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// What messages call this file (its path, or the `source` given to parse).
  [[nodiscard]] const std::string& source() const { return source_; }

 private:
  SafetensorsFile() = default;
  std::string bytes_;
  std::size_t data_start_ = 0;
  std::string source_;
  std::vector<TensorEntry> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

/// One tensor to write: `bytes` must equal numel(shape) * dtype_size(dtype); data is
/// little-endian, row-major (C order), as the format requires.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t bytes = 0;
};

/// The bytes of a safetensors file holding `tensors` and `metadata`, laid out like the official
/// writer: tensors sorted by decreasing element size, then by name (so every tensor's data is
/// aligned to its element size), compact JSON header padded with spaces to a multiple of 8.
/// Throws SafetensorsError for an empty/duplicate/"__metadata__" name, a negative dim, a byte
/// count that does not match the shape, or a name/metadata string that is not valid UTF-8.
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

/// Writes the same bytes to `path` atomically (temporary file in the same folder, fsync, rename,
/// fsync of the folder), streaming tensor data rather than building the whole file in memory.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// A tensor a model expects in its checkpoint.
struct ExpectedTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
};

/// Checks that `file` holds exactly `expected` (names, dtypes, shapes). On mismatch, throws one
/// SafetensorsError listing every missing, unexpected, mis-shaped and wrongly typed tensor
/// (the first 20, then a count), each with what was expected and what was found.
void validate_architecture(const SafetensorsFile& file,
                           const std::vector<ExpectedTensor>& expected);

/// The first NaN or infinity in a floating-point tensor (in file order, then element order).
struct NonFinite {
  std::string tensor;
  std::uint64_t index = 0;  ///< flat (row-major) element index
  std::string kind;         ///< "nan", "+inf" or "-inf"
};
/// Scans every floating-point tensor; nothing when all values are finite.
std::optional<NonFinite> find_non_finite(const SafetensorsFile& file);

/// "[768, 3072]"-style rendering of a shape, for messages.
std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace rebench::lm
