// Safetensors reader (hostile input: checked arithmetic, capped sizes) and atomic writer.
#include "lm/safetensors.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rebench/json_file.hpp"

namespace rebench::lm {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

struct DTypeInfo {
  DType dtype;
  const char* name;
  std::size_t size;
  bool floating;
};

// Enum order; names and sizes as in the official implementation (safetensors/src/tensor.rs).
constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "BOOL", 1, false},     {DType::kU8, "U8", 1, false},
    {DType::kI8, "I8", 1, false},         {DType::kF8E5M2, "F8_E5M2", 1, true},
    {DType::kF8E4M3, "F8_E4M3", 1, true}, {DType::kI16, "I16", 2, false},
    {DType::kU16, "U16", 2, false},       {DType::kF16, "F16", 2, true},
    {DType::kBF16, "BF16", 2, true},      {DType::kI32, "I32", 4, false},
    {DType::kU32, "U32", 4, false},       {DType::kF32, "F32", 4, true},
    {DType::kF64, "F64", 8, true},        {DType::kI64, "I64", 8, false},
    {DType::kU64, "U64", 8, false},
};

const DTypeInfo& info(DType dtype) {
  auto index = static_cast<std::size_t>(dtype);
  if (index >= std::size(kDTypes)) throw Error("invalid DType value " + std::to_string(index));
  return kDTypes[index];
}

constexpr const char* kMetadataKey = "__metadata__";

// Parser messages may quote raw header bytes; keep messages printable ASCII.
std::string printable(const std::string& text, std::size_t max_bytes = 200) {
  std::string out;
  for (unsigned char c : text.substr(0, max_bytes)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (text.size() > max_bytes) out += "...";
  return out;
}

std::string quoted(const std::string& name) { return "'" + printable(name, 120) + "'"; }

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw SafetensorsError("safetensors file " + source + ": " + what);
}

[[noreturn]] void fail_tensor(const std::string& source, const std::string& name,
                              const std::string& what) {
  fail(source, "tensor " + quoted(name) + ": " + what);
}

// a * b, or nothing on uint64 overflow.
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::nullopt;
  return a * b;
}

std::optional<std::uint64_t> element_count(const std::vector<std::int64_t>& shape) {
  std::uint64_t count = 1;
  for (std::int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    auto next = checked_mul(count, static_cast<std::uint64_t>(dim));
    if (!next) return std::nullopt;
    count = *next;
  }
  return count;
}

// Parses the header text with duplicate keys rejected at every level (nlohmann keeps one of
// them silently) and nesting capped (a valid header nests three deep).
Json parse_header_json(const std::string& text, const std::string& source,
                       const SafetensorsLimits& limits) {
  constexpr int kMaxDepth = 3;
  std::vector<std::set<std::string>> keys_per_object;
  std::size_t top_level_keys = 0;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kMaxDepth) fail(source, "header JSON nests deeper than a safetensors header");
        if (event == Json::parse_event_t::object_start) keys_per_object.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys_per_object.empty()) keys_per_object.pop_back();
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (keys_per_object.empty()) break;
        if (!keys_per_object.back().insert(key).second)
          fail(source, "duplicate key " + quoted(key) + " in the header");
        if (depth == 1 && ++top_level_keys > limits.max_tensors + 1)
          fail(source,
               "more than " + std::to_string(limits.max_tensors) + " tensors (limit max_tensors)");
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text, callback);
  } catch (const Json::exception& e) {
    fail(source, "header is not valid JSON (" + printable(e.what()) + ")");
  }
}

std::uint64_t unsigned_value(const Json& value, const std::string& source, const std::string& name,
                             const std::string& field) {
  if (!value.is_number_unsigned())
    fail_tensor(source, name,
                field + " must be a non-negative integer, found " +
                    printable(value.dump(-1, ' ', true, Json::error_handler_t::replace), 60));
  return value.get<std::uint64_t>();
}

TensorEntry parse_tensor(const std::string& name, const Json& value, const std::string& source,
                         const SafetensorsLimits& limits) {
  if (name.empty()) fail(source, "a tensor has an empty name");
  if (name.size() > limits.max_name_bytes)
    fail_tensor(source, name,
                "name is " + std::to_string(name.size()) + " bytes (limit max_name_bytes " +
                    std::to_string(limits.max_name_bytes) + ")");
  if (!value.is_object())
    fail_tensor(
        source, name,
        std::string("expected an object {dtype, shape, data_offsets}, found ") + value.type_name());
  for (const auto& [key, unused] : value.items()) {
    (void)unused;
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail_tensor(source, name, "unknown field " + quoted(key));
  }
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) fail_tensor(source, name, std::string("missing field '") + key + "'");

  TensorEntry entry;
  entry.name = name;
  const Json& dtype = value.at("dtype");
  if (!dtype.is_string()) fail_tensor(source, name, "dtype must be a string");
  auto parsed = parse_dtype(dtype.get_ref<const std::string&>());
  if (!parsed)
    fail_tensor(source, name,
                "unknown dtype " + quoted(dtype.get<std::string>()) +
                    " (known: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16 I8 U64 U32 U16 U8 "
                    "BOOL)");
  entry.dtype = *parsed;

  const Json& shape = value.at("shape");
  if (!shape.is_array()) fail_tensor(source, name, "shape must be an array of integers");
  if (shape.size() > limits.max_rank)
    fail_tensor(source, name,
                "rank " + std::to_string(shape.size()) + " exceeds max_rank " +
                    std::to_string(limits.max_rank));
  for (const Json& dim : shape) {
    std::uint64_t d = unsigned_value(dim, source, name, "each dimension of shape");
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail_tensor(source, name, "dimension " + std::to_string(d) + " does not fit in int64");
    entry.shape.push_back(static_cast<std::int64_t>(d));
  }

  const Json& offsets = value.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2)
    fail_tensor(source, name, "data_offsets must be an array [begin, end]");
  entry.begin = unsigned_value(offsets[0], source, name, "data_offsets[0]");
  entry.end = unsigned_value(offsets[1], source, name, "data_offsets[1]");
  if (entry.end < entry.begin)
    fail_tensor(source, name,
                "data_offsets end " + std::to_string(entry.end) + " is before begin " +
                    std::to_string(entry.begin));

  auto numel = element_count(entry.shape);
  std::optional<std::uint64_t> bytes;
  if (numel) bytes = checked_mul(*numel, dtype_size(entry.dtype));
  if (!bytes)
    fail_tensor(source, name,
                "shape " + shape_string(entry.shape) + " of " +
                    std::string(dtype_name(entry.dtype)) + " overflows a 64-bit byte count");
  if (entry.end - entry.begin != *bytes)
    fail_tensor(source, name,
                "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                    "] span " + std::to_string(entry.end - entry.begin) + " bytes, but " +
                    std::string(dtype_name(entry.dtype)) + " " + shape_string(entry.shape) +
                    " needs " + std::to_string(*bytes));
  return entry;
}

// The tensors, sorted by offsets, must tile [0, buffer_size) exactly.
void check_layout(std::vector<TensorEntry>& tensors, std::uint64_t buffer_size,
                  const std::string& source) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  std::uint64_t position = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry& entry : tensors) {
    if (entry.begin < position)
      fail_tensor(source, entry.name,
                  "data_offsets [" + std::to_string(entry.begin) + ", " +
                      std::to_string(entry.end) + "] overlap tensor " + quoted(previous->name) +
                      " (ends at " + std::to_string(position) + ")");
    if (entry.begin > position)
      fail_tensor(source, entry.name,
                  "data_offsets begin " + std::to_string(entry.begin) + " leaves a hole after " +
                      (previous ? "tensor " + quoted(previous->name) : std::string("the start")) +
                      " (which ends at " + std::to_string(position) + ")");
    if (entry.end > buffer_size)
      fail_tensor(source, entry.name,
                  "data_offsets end " + std::to_string(entry.end) + " is beyond the data buffer (" +
                      std::to_string(buffer_size) +
                      " bytes): the file is truncated or the header lies");
    position = entry.end;
    previous = &entry;
  }
  if (position != buffer_size)
    fail(source, "the data buffer is " + std::to_string(buffer_size) +
                     " bytes but the tensors cover " + std::to_string(position) +
                     " (trailing bytes after the last tensor)");
}

void write_bytes(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const auto* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size) {
    // Chunks keep single writes well under the kernel's per-call limit.
    std::size_t chunk = std::min<std::size_t>(size - done, 1 << 30);
    ssize_t n = ::write(fd, bytes + done, chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

// Header text and tensor order of a file to write (shared by serialize and write).
struct Prepared {
  std::string header;  // 8-byte length included
  std::vector<const TensorToWrite*> order;
};

Prepared prepare(const std::vector<TensorToWrite>& tensors,
                 const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  for (const TensorToWrite& t : tensors) {
    if (t.name.empty()) throw SafetensorsError("cannot write a tensor with an empty name");
    if (t.name == kMetadataKey)
      throw SafetensorsError("cannot write a tensor named '__metadata__' (reserved)");
    if (!names.insert(t.name).second)
      throw SafetensorsError("cannot write tensor " + quoted(t.name) + " twice");
    auto numel = element_count(t.shape);
    std::optional<std::uint64_t> bytes;
    if (numel) bytes = checked_mul(*numel, dtype_size(t.dtype));
    if (!bytes)
      throw SafetensorsError("cannot write tensor " + quoted(t.name) + ": shape " +
                             shape_string(t.shape) + " has a negative or overflowing size");
    if (*bytes != t.bytes)
      throw SafetensorsError("cannot write tensor " + quoted(t.name) + ": " +
                             std::string(dtype_name(t.dtype)) + " " + shape_string(t.shape) +
                             " needs " + std::to_string(*bytes) + " bytes, given " +
                             std::to_string(t.bytes));
    if (t.bytes > 0 && t.data == nullptr)
      throw SafetensorsError("cannot write tensor " + quoted(t.name) + ": no data");
  }
  Prepared prepared;
  for (const TensorToWrite& t : tensors) prepared.order.push_back(&t);
  // The official writer's order: larger elements first, then by name, so that every tensor
  // starts at a multiple of its element size (the header is padded to a multiple of 8).
  std::sort(prepared.order.begin(), prepared.order.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) {
              // DType's order is the official one (non-decreasing element size).
              if (a->dtype != b->dtype) return a->dtype > b->dtype;
              return a->name < b->name;
            });
  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const TensorToWrite* t : prepared.order) {
    header[t->name] = {{"dtype", std::string(dtype_name(t->dtype))},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->bytes}}};
    offset += t->bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const OrderedJson::exception& e) {
    throw SafetensorsError(std::string("cannot write a safetensors header: a name or metadata "
                                       "string is not valid UTF-8 (") +
                           e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::uint64_t length = text.size();
  for (int i = 0; i < 8; ++i)
    prepared.header.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  prepared.header += text;
  return prepared;
}

std::string read_file_bounded(const std::filesystem::path& path, const SafetensorsLimits& limits) {
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path.string(), std::string("cannot open: ") + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    fail(path.string(), std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path.string(), "not a regular file");
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > limits.max_file_bytes)
    fail(path.string(), "file is " + std::to_string(size) + " bytes, over the limit of " +
                            std::to_string(limits.max_file_bytes) + " (max_file_bytes)");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) fail(path.string(), std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) fail(path.string(), "file shrank while being read");
    done += static_cast<std::size_t>(n);
  }
  char extra = 0;
  ssize_t more = ::read(fd, &extra, 1);
  if (more > 0) fail(path.string(), "file grew while being read");
  return bytes;
}

// Classifies the bits of one float element: 0 finite, 1 NaN, 2 +inf, 3 -inf.
int classify(DType dtype, const std::uint8_t* p) {
  auto load = [p](auto zero) {
    decltype(zero) v;
    std::memcpy(&v, p, sizeof v);  // little-endian host assumed (as the format's data is)
    return v;
  };
  auto ieee = [](std::uint64_t bits, int exp_bits, int man_bits) {
    std::uint64_t exp_mask = (std::uint64_t{1} << exp_bits) - 1;
    std::uint64_t exp = (bits >> man_bits) & exp_mask;
    std::uint64_t man = bits & ((std::uint64_t{1} << man_bits) - 1);
    if (exp != exp_mask) return 0;
    if (man != 0) return 1;
    return ((bits >> (exp_bits + man_bits)) & 1) ? 3 : 2;
  };
  switch (dtype) {
    case DType::kF64:
      return ieee(load(std::uint64_t{}), 11, 52);
    case DType::kF32:
      return ieee(load(std::uint32_t{}), 8, 23);
    case DType::kF16:
      return ieee(load(std::uint16_t{}), 5, 10);
    case DType::kBF16:
      return ieee(load(std::uint16_t{}), 8, 7);
    case DType::kF8E5M2:
      return ieee(*p, 5, 2);
    case DType::kF8E4M3:
      // float8_e4m3fn: no infinities; only S.1111.111 is NaN.
      return (*p & 0x7f) == 0x7f ? 1 : 0;
    default:
      return 0;
  }
}

}  // namespace

std::size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }
bool is_floating(DType dtype) { return info(dtype).floating; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const DTypeInfo& d : kDTypes)
    if (name == d.name) return d.dtype;
  return std::nullopt;
}

const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> all = [] {
    std::vector<DType> v;
    for (const DTypeInfo& d : kDTypes) v.push_back(d.dtype);
    return v;
  }();
  return all;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path,
                                      const SafetensorsLimits& limits) {
  return parse(read_file_bounded(path, limits), limits, path.string());
}

SafetensorsFile SafetensorsFile::parse(std::string bytes, const SafetensorsLimits& limits,
                                       std::string source) {
  if (bytes.size() > limits.max_file_bytes)
    fail(source, std::to_string(bytes.size()) + " bytes, over the limit of " +
                     std::to_string(limits.max_file_bytes) + " (max_file_bytes)");
  if (bytes.size() < 8)
    fail(source, "only " + std::to_string(bytes.size()) +
                     " bytes: a safetensors file starts with an 8-byte header length");
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i)
    header_length =
        (header_length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (header_length > limits.max_header_bytes)
    fail(source, "header length " + std::to_string(header_length) + " exceeds the limit of " +
                     std::to_string(limits.max_header_bytes) + " bytes");
  const std::uint64_t available = bytes.size() - 8;
  if (header_length > available)
    fail(source, "header length " + std::to_string(header_length) + " exceeds the " +
                     std::to_string(available) + " bytes after the length field (truncated file?)");
  std::string header_text = bytes.substr(8, static_cast<std::size_t>(header_length));
  if (header_text.empty() || header_text[0] != '{') fail(source, "header does not start with '{'");
  Json header = parse_header_json(header_text, source, limits);
  if (!header.is_object())
    fail(source, std::string("header is a JSON ") + header.type_name() + ", expected an object");

  SafetensorsFile file;
  file.source_ = std::move(source);
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      if (!value.is_object())
        fail(file.source_,
             "__metadata__ must be an object of strings, found " + std::string(value.type_name()));
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string())
          fail(file.source_, "__metadata__ value of " + quoted(mkey) + " must be a string, found " +
                                 mvalue.type_name());
        file.metadata_[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    file.tensors_.push_back(parse_tensor(key, value, file.source_, limits));
  }
  if (file.tensors_.size() > limits.max_tensors)
    fail(file.source_, std::to_string(file.tensors_.size()) + " tensors, over max_tensors " +
                           std::to_string(limits.max_tensors));
  file.data_start_ = 8 + static_cast<std::size_t>(header_length);
  check_layout(file.tensors_, available - header_length, file.source_);
  for (std::size_t i = 0; i < file.tensors_.size(); ++i)
    file.index_.emplace(file.tensors_[i].name, i);
  file.bytes_ = std::move(bytes);
  return file;
}

const TensorEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorEntry& SafetensorsFile::at(std::string_view name) const {
  const TensorEntry* entry = find(name);
  if (!entry) fail(source_, "no tensor " + quoted(std::string(name)));
  return *entry;
}

const std::uint8_t* SafetensorsFile::data(const TensorEntry& entry) const {
  // Entries are validated to lie inside the buffer; this guards entries not from this file.
  if (entry.end < entry.begin || entry.end > bytes_.size() - data_start_)
    throw Error("tensor entry " + quoted(entry.name) + " does not belong to " + source_);
  return reinterpret_cast<const std::uint8_t*>(bytes_.data()) + data_start_ + entry.begin;
}

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  Prepared prepared = prepare(tensors, metadata);
  std::string out = std::move(prepared.header);
  for (const TensorToWrite* t : prepared.order)
    if (t->bytes > 0) out.append(static_cast<const char*>(t->data), t->bytes);
  return out;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Prepared prepared = prepare(tensors, metadata);
  // Temporary file, fsync, rename, fsync of the folder: the core's atomic write, streamed.
  write_file_atomic(path, [&](int fd, const std::filesystem::path& temp) {
    write_bytes(fd, prepared.header.data(), prepared.header.size(), temp);
    for (const TensorToWrite* t : prepared.order) write_bytes(fd, t->data, t->bytes, temp);
  });
}

void validate_architecture(const SafetensorsFile& file,
                           const std::vector<ExpectedTensor>& expected) {
  std::vector<std::string> problems;
  std::set<std::string> expected_names;
  for (const ExpectedTensor& e : expected) {
    if (!expected_names.insert(e.name).second)
      throw Error("validate_architecture: tensor " + quoted(e.name) + " expected twice");
    std::string wanted = std::string(dtype_name(e.dtype)) + " " + shape_string(e.shape);
    const TensorEntry* found = file.find(e.name);
    if (!found) {
      problems.push_back("missing tensor " + quoted(e.name) + " (expected " + wanted + ")");
      continue;
    }
    if (found->dtype != e.dtype)
      problems.push_back("tensor " + quoted(e.name) + " is " +
                         std::string(dtype_name(found->dtype)) + ", expected " +
                         std::string(dtype_name(e.dtype)));
    if (found->shape != e.shape)
      problems.push_back("tensor " + quoted(e.name) + " has shape " + shape_string(found->shape) +
                         ", expected " + shape_string(e.shape));
  }
  for (const TensorEntry& t : file.tensors())
    if (!expected_names.count(t.name))
      problems.push_back("unexpected tensor " + quoted(t.name) + " (" +
                         std::string(dtype_name(t.dtype)) + " " + shape_string(t.shape) + ")");
  if (problems.empty()) return;
  constexpr std::size_t kShown = 20;
  std::string message = file.source() + " does not match the expected architecture (" +
                        std::to_string(problems.size()) + " problem" +
                        (problems.size() == 1 ? "" : "s") + "): ";
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i)
    message += (i ? "; " : "") + problems[i];
  if (problems.size() > kShown)
    message += "; and " + std::to_string(problems.size() - kShown) + " more";
  throw SafetensorsError(message);
}

std::optional<NonFinite> find_non_finite(const SafetensorsFile& file) {
  static const char* kKinds[] = {"finite", "nan", "+inf", "-inf"};
  for (const TensorEntry& t : file.tensors()) {
    if (!is_floating(t.dtype)) continue;
    const std::uint8_t* p = file.data(t);
    std::size_t size = dtype_size(t.dtype);
    for (std::uint64_t i = 0, n = t.numel(); i < n; ++i) {
      int kind = classify(t.dtype, p + i * size);
      if (kind != 0) return NonFinite{t.name, i, kKinds[kind]};
    }
  }
  return std::nullopt;
}

}  // namespace rebench::lm
