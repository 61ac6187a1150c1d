// Safetensors reader/writer: round trips, the official byte layout, every malformed-input rule,
// architecture validation, non-finite detection and a cross-check with an independent reader.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <random>

#include "lm/safetensors.hpp"
#include "rebench/paths.hpp"
#include "rebench/process.hpp"
#include "support/temp_dir.hpp"

namespace rebench::lm {
namespace {

using testing::TempDir;

std::string le64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// A file from a literal header (length computed) and buffer.
std::string make_file(const std::string& header, const std::string& buffer = "") {
  return le64(header.size()) + header + buffer;
}

template <typename T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// Expects parse to throw SafetensorsError whose message contains every fragment.
void expect_rejected(const std::string& bytes, const std::vector<std::string>& fragments,
                     const SafetensorsLimits& limits = {}) {
  try {
    SafetensorsFile::parse(bytes, limits, "test.safetensors");
    ADD_FAILURE() << "accepted; expected an error mentioning '" << fragments.front() << "'";
  } catch (const SafetensorsError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("test.safetensors"), std::string::npos) << message;
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "message '" << message << "' lacks '" << fragment << "'";
  }
}

const std::string kF32x4 = R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";

TEST(Safetensors, DTypeNamesAndSizes) {
  EXPECT_EQ(all_dtypes().size(), 15u);
  for (DType d : all_dtypes()) {
    auto parsed = parse_dtype(dtype_name(d));
    ASSERT_TRUE(parsed.has_value()) << dtype_name(d);
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_EQ(dtype_size(DType::kF64), 8u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kBool), 1u);
  EXPECT_EQ(dtype_name(DType::kF8E4M3), "F8_E4M3");
  EXPECT_FALSE(parse_dtype("f32").has_value());
  EXPECT_FALSE(parse_dtype("F128").has_value());
  EXPECT_TRUE(is_floating(DType::kBF16));
  EXPECT_FALSE(is_floating(DType::kI64));
}

// Byte-exact outputs of the official writer (safetensors/src/tensor.rs unit tests).
TEST(Safetensors, MatchesOfficialWriterBytes) {
  std::vector<float> values{0, 1, 2, 3, 4, 5};
  std::string out =
      serialize_safetensors({{"attn.0", DType::kF32, {1, 2, 3}, values.data(), values.size() * 4}});
  std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  EXPECT_EQ(out, le64(64) + header + raw(values));

  out = serialize_safetensors(
      {{"attn0", DType::kF32, {1, 1, 2, 3}, values.data(), values.size() * 4}});
  header =
      R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" + std::string(7, ' ');
  EXPECT_EQ(out, le64(72) + header + raw(values));

  EXPECT_EQ(serialize_safetensors({}), le64(8) + "{}" + std::string(6, ' '));
  EXPECT_EQ(serialize_safetensors({}, {{"framework", "pt"}}),
            le64(40) + R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '));
}

TEST(Safetensors, RoundTripAllDTypesScalarsEmptyAndUnicode) {
  std::mt19937_64 random(7);
  std::vector<std::string> buffers;
  std::vector<TensorToWrite> tensors;
  for (DType d : all_dtypes()) {
    int i = static_cast<int>(tensors.size());
    std::vector<std::int64_t> shape{3, 1, 2 + i % 3};
    std::string buffer;
    for (std::size_t b = 0; b < static_cast<std::size_t>(3 * (2 + i % 3)) * dtype_size(d); ++b)
      buffer.push_back(static_cast<char>(random() & 0xff));
    tensors.push_back({"layer." + std::to_string(i) + "." + std::string(dtype_name(d)), d, shape,
                       nullptr, buffer.size()});
    buffers.push_back(std::move(buffer));
  }
  std::vector<double> scalar{3.25};
  std::vector<std::int16_t> none;
  tensors.push_back({"scalar", DType::kF64, {}, scalar.data(), 8});
  tensors.push_back({"empty", DType::kI16, {0, 5}, none.data(), 0});
  tensors.push_back({"empty.too", DType::kI16, {4, 0}, nullptr, 0});
  tensors.push_back({"wörter.权重.🙂", DType::kU8, {1}, "x", 1});
  for (std::size_t k = 0; k < buffers.size(); ++k) tensors[k].data = buffers[k].data();
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "ünïcode ✓"}, {"", ""}};

  TempDir dir;
  write_safetensors(dir / "model.safetensors", tensors, metadata);
  SafetensorsFile file = SafetensorsFile::open(dir / "model.safetensors");
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const TensorToWrite& t : tensors) {
    const TensorEntry* entry = file.find(t.name);
    ASSERT_NE(entry, nullptr) << t.name;
    EXPECT_EQ(entry->dtype, t.dtype);
    EXPECT_EQ(entry->shape, t.shape);
    EXPECT_EQ(entry->bytes(), t.bytes);
    EXPECT_EQ(entry->begin % dtype_size(t.dtype), 0u) << "unaligned " << t.name;
    if (t.bytes) {
      EXPECT_EQ(std::memcmp(file.data(*entry), t.data, t.bytes), 0) << t.name;
    }
  }
  EXPECT_EQ(file.at("scalar").numel(), 1u);
  EXPECT_EQ(file.at("empty").numel(), 0u);
  EXPECT_EQ(file.find("missing"), nullptr);
  EXPECT_THROW((void)file.at("missing"), SafetensorsError);
  // Offsets are in the official order: non-increasing element size, then name.
  for (std::size_t k = 1; k < file.tensors().size(); ++k)
    EXPECT_GE(dtype_size(file.tensors()[k - 1].dtype), dtype_size(file.tensors()[k].dtype));
  // Same bytes in memory and on disk, and a rewrite of what was read gives the same bytes.
  std::string bytes = serialize_safetensors(tensors, metadata);
  // Header padded to a multiple of 8: with the offsets above, every tensor is aligned in the file.
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]) % 8, 0);
  EXPECT_EQ(testing::read_text(dir / "model.safetensors"), bytes);
  std::vector<TensorToWrite> again;
  for (const TensorEntry& e : file.tensors())
    again.push_back({e.name, e.dtype, e.shape, file.data(e), static_cast<std::size_t>(e.bytes())});
  EXPECT_EQ(serialize_safetensors(again, file.metadata()), bytes);
}

TEST(Safetensors, WriteIsAtomicAndOverwrites) {
  TempDir dir;
  std::vector<float> a{1, 2}, b{3, 4, 5};
  write_safetensors(dir / "w.safetensors", {{"a", DType::kF32, {2}, a.data(), 8}});
  write_safetensors(dir / "w.safetensors", {{"b", DType::kF32, {3}, b.data(), 12}});
  SafetensorsFile file = SafetensorsFile::open(dir / "w.safetensors");
  ASSERT_EQ(file.tensors().size(), 1u);
  EXPECT_EQ(file.tensors()[0].name, "b");
  int entries = 0;
  for (const auto& unused : std::filesystem::directory_iterator(dir.path())) {
    (void)unused;
    ++entries;
  }
  EXPECT_EQ(entries, 1) << "temporary files left behind";
  struct stat st {};
  ASSERT_EQ(::stat((dir / "w.safetensors").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // A failed write (bad input) leaves the old file untouched.
  EXPECT_THROW(write_safetensors(dir / "w.safetensors", {{"c", DType::kF32, {5}, b.data(), 12}}),
               SafetensorsError);
  EXPECT_EQ(SafetensorsFile::open(dir / "w.safetensors").tensors()[0].name, "b");
  EXPECT_THROW(write_safetensors(dir / "no-such-dir" / "x.safetensors", {}), Error);
}

TEST(Safetensors, WriterRejectsBadInput) {
  std::vector<float> v{1, 2, 3, 4};
  auto rejects = [](const std::vector<TensorToWrite>& t, const std::string& fragment,
                    const std::map<std::string, std::string>& metadata = {}) {
    try {
      (void)serialize_safetensors(t, metadata);
      ADD_FAILURE() << "accepted; expected '" << fragment << "'";
    } catch (const SafetensorsError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  rejects({{"", DType::kF32, {4}, v.data(), 16}}, "empty name");
  rejects({{"__metadata__", DType::kF32, {4}, v.data(), 16}}, "reserved");
  rejects({{"a", DType::kF32, {4}, v.data(), 16}, {"a", DType::kF32, {4}, v.data(), 16}}, "twice");
  rejects({{"a", DType::kF32, {-4}, v.data(), 16}}, "negative");
  rejects({{"a", DType::kF32, {1LL << 40, 1LL << 40}, v.data(), 16}}, "overflowing");
  rejects({{"a", DType::kF32, {3}, v.data(), 16}}, "needs 12 bytes, given 16");
  rejects({{"a", DType::kF32, {4}, nullptr, 16}}, "no data");
  rejects({{"bad\xff", DType::kF32, {4}, v.data(), 16}}, "UTF-8");
  rejects({}, "UTF-8", {{"k", "\xc3"}});
}

TEST(Safetensors, AcceptsPaddingZeroSizeTensorsAndAnyKeyOrder) {
  std::vector<float> v{1, 2, 3, 4};
  // Offsets not in key order, a zero-size tensor between two others, padding spaces.
  std::string header = R"({"z":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                       R"("a":{"data_offsets":[32,32],"shape":[0],"dtype":"I8"},)"
                       R"("m":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}   )";
  SafetensorsFile file = SafetensorsFile::parse(make_file(header, raw(v) + raw(v)));
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.tensors()[0].name, "z");
  EXPECT_EQ(file.tensors()[1].name, "m");
  EXPECT_EQ(file.tensors()[2].name, "a");
  float third;
  std::memcpy(&third, file.data(file.at("m")) + 8, 4);
  EXPECT_EQ(third, 3.0f);
}

TEST(Safetensors, RejectsMalformedFiles) {
  std::string buffer16(16, '\0');
  expect_rejected("", {"only 0 bytes"});
  expect_rejected("abc", {"only 3 bytes", "8-byte header length"});
  expect_rejected(le64(100) + "{}", {"header length 100", "truncated"});
  expect_rejected(le64(~0ULL) + "{}", {"exceeds the limit"});
  expect_rejected(le64(200'000'000) + "{}", {"exceeds the limit of 100000000"});
  expect_rejected(make_file(""), {"does not start with '{'"});
  expect_rejected(make_file(" {}"), {"does not start with '{'"});
  expect_rejected(make_file("[1,2]"), {"does not start with '{'"});
  expect_rejected(make_file("{"), {"not valid JSON"});
  expect_rejected(make_file("{} x"), {"not valid JSON"});
  expect_rejected(make_file("{\"a\xff\":1}"), {"not valid JSON"});
  expect_rejected(make_file(R"({"\ud800":1})"), {"not valid JSON"});
  // Lying offsets, overlaps, holes, reversed and misplaced offsets, truncation, trailing bytes.
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,100]}})",
                            std::string(100, '\0')),
                  {"tensor 'w'", "span 100 bytes", "needs 16"});
  expect_rejected(make_file(R"({"a":)" + kF32x4 +
                                R"(,"b":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})",
                            std::string(24, '\0')),
                  {"tensor 'b'", "overlap tensor 'a'"});
  expect_rejected(make_file(R"({"a":)" + kF32x4 +
                                R"(,"b":{"dtype":"F32","shape":[2,2],"data_offsets":[20,36]}})",
                            std::string(36, '\0')),
                  {"tensor 'b'", "hole after tensor 'a'"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})",
                            std::string(24, '\0')),
                  {"tensor 'w'", "hole after the start"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})", buffer16),
                  {"tensor 'w'", "before begin"});
  expect_rejected(make_file(R"({"w":)" + kF32x4 + "}", std::string(15, '\0')),
                  {"tensor 'w'", "beyond the data buffer", "truncated"});
  expect_rejected(make_file(R"({"w":)" + kF32x4 + "}", buffer16 + "garbage"), {"trailing bytes"});
  expect_rejected(make_file("{}", "x"), {"trailing bytes"});
  // Shapes and sizes.
  expect_rejected(
      make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}})"),
      {"tensor 'w'", "overflows"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"),
                  {"tensor 'w'", "non-negative integer", "-1"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})"),
                  {"tensor 'w'", "non-negative integer"});
  expect_rejected(
      make_file(R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,0]}})"),
      {"does not fit in int64"});
  expect_rejected(
      make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}})"),
      {"data_offsets[1] must be a non-negative integer"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[1000000000000],)"
                            R"("data_offsets":[0,4000000000000]}})"),
                  {"tensor 'w'", "beyond the data buffer"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})"),
                  {"shape must be an array"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})"),
                  {"data_offsets must be an array [begin, end]"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":{"a":0}}})"),
                  {"data_offsets must be an array"});
  // Names, dtypes, fields, duplicates.
  expect_rejected(
      make_file(R"({"w":{"dtype":"F128","shape":[2,2],"data_offsets":[0,16]}})", buffer16),
      {"tensor 'w'", "unknown dtype 'F128'"});
  expect_rejected(make_file(R"({"w":{"dtype":32,"shape":[2,2],"data_offsets":[0,16]}})", buffer16),
                  {"dtype must be a string"});
  expect_rejected(make_file(R"({"w":)" + kF32x4 + R"(,"w":)" + kF32x4 + "}", buffer16),
                  {"duplicate key 'w'"});
  expect_rejected(
      make_file(R"({"w":{"dtype":"F32","dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
                buffer16),
      {"duplicate key 'dtype'"});
  expect_rejected(make_file(R"({"__metadata__":{"a":"1","a":"2"}})"), {"duplicate key 'a'"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[2,2]}})"),
                  {"missing field 'data_offsets'"});
  expect_rejected(
      make_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"x":1}})", buffer16),
      {"unknown field 'x'"});
  expect_rejected(make_file(R"({"w":[1,2]})"), {"tensor 'w'", "expected an object"});
  expect_rejected(make_file(R"({"":)" + kF32x4 + "}", buffer16), {"empty name"});
  expect_rejected(make_file(R"({"w":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}})"),
                  {"nests deeper"});
  expect_rejected(make_file(R"({"__metadata__":{"a":1}})"),
                  {"__metadata__ value of 'a' must be a string"});
  expect_rejected(make_file(R"({"__metadata__":"pt"})"), {"__metadata__ must be an object"});
  expect_rejected(make_file(R"({"__metadata__":{"a":{"b":"c"}}})"), {"string"});
}

TEST(Safetensors, EnforcesLimits) {
  std::vector<float> v(4, 0.0f);
  std::string two = serialize_safetensors(
      {{"a", DType::kF32, {4}, v.data(), 16}, {"bb", DType::kF32, {2, 2}, v.data(), 16}});
  SafetensorsLimits limits;
  limits.max_tensors = 1;
  expect_rejected(two, {"tensors", "max_tensors"}, limits);
  limits = {};
  limits.max_rank = 1;
  expect_rejected(two, {"tensor 'bb'", "rank 2 exceeds max_rank 1"}, limits);
  limits = {};
  limits.max_name_bytes = 1;
  expect_rejected(two, {"tensor 'bb'", "max_name_bytes"}, limits);
  limits = {};
  limits.max_header_bytes = 16;
  expect_rejected(two, {"exceeds the limit of 16 bytes"}, limits);
  limits = {};
  limits.max_file_bytes = 20;
  expect_rejected(two, {"max_file_bytes"}, limits);
  EXPECT_EQ(SafetensorsFile::parse(two).tensors().size(), 2u);
}

TEST(Safetensors, OpenRejectsMissingAndSpecialFiles) {
  TempDir dir;
  EXPECT_THROW(SafetensorsFile::open(dir / "absent.safetensors"), SafetensorsError);
  EXPECT_THROW(SafetensorsFile::open(dir.path()), SafetensorsError);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  try {
    (void)SafetensorsFile::open(dir / "fifo");  // must not block waiting for a writer
    ADD_FAILURE() << "a FIFO was accepted";
  } catch (const SafetensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  testing::write_text(dir / "big.safetensors", std::string(100, ' '));
  SafetensorsLimits limits;
  limits.max_file_bytes = 99;
  EXPECT_THROW(SafetensorsFile::open(dir / "big.safetensors", limits), SafetensorsError);
}

TEST(Safetensors, ValidateArchitectureNamesEveryProblem) {
  std::vector<float> v(12, 0.0f);
  std::string bytes = serialize_safetensors({{"wte", DType::kF32, {3, 4}, v.data(), 48},
                                             {"ln.bias", DType::kF32, {4}, v.data(), 16},
                                             {"extra", DType::kF32, {2}, v.data(), 8},
                                             {"head", DType::kBF16, {2, 3}, v.data(), 12}});
  SafetensorsFile file = SafetensorsFile::parse(bytes, {}, "ckpt.safetensors");
  EXPECT_NO_THROW(validate_architecture(file, {{"wte", DType::kF32, {3, 4}},
                                               {"ln.bias", DType::kF32, {4}},
                                               {"extra", DType::kF32, {2}},
                                               {"head", DType::kBF16, {2, 3}}}));
  try {
    validate_architecture(file, {{"wte", DType::kF32, {4, 3}},
                                 {"ln.bias", DType::kF32, {4}},
                                 {"head", DType::kF32, {2, 3}},
                                 {"ln.weight", DType::kF32, {4}}});
    ADD_FAILURE() << "mismatch accepted";
  } catch (const SafetensorsError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("ckpt.safetensors does not match"), std::string::npos) << m;
    EXPECT_NE(m.find("4 problems"), std::string::npos) << m;
    EXPECT_NE(m.find("tensor 'wte' has shape [3, 4], expected [4, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("tensor 'head' is BF16, expected F32"), std::string::npos) << m;
    EXPECT_NE(m.find("missing tensor 'ln.weight' (expected F32 [4])"), std::string::npos) << m;
    EXPECT_NE(m.find("unexpected tensor 'extra' (F32 [2])"), std::string::npos) << m;
  }
  EXPECT_THROW(
      validate_architecture(file, {{"wte", DType::kF32, {3, 4}}, {"wte", DType::kF32, {3, 4}}}),
      Error);
}

TEST(Safetensors, FindsFirstNonFiniteValue) {
  std::vector<float> f32{1, 2, 3, 4, 5, std::nanf(""), INFINITY};
  std::vector<std::uint16_t> bf16{0x3f80, 0xff80};         // 1.0, -inf
  std::vector<std::uint16_t> f16{0x3c00, 0x7bff, 0x7c00};  // 1.0, 65504, +inf
  std::vector<std::uint8_t> e4m3{0x7e, 0xff};              // 448, NaN
  std::vector<std::uint8_t> e5m2{0x7b, 0x7c};              // 57344, +inf
  std::vector<std::int32_t> ints{-1, 0x7f800000};  // bit patterns of non-finite floats, as ints
  std::vector<double> f64{0.5, -INFINITY};
  auto first = [](const std::vector<TensorToWrite>& t) {
    return find_non_finite(SafetensorsFile::parse(serialize_safetensors(t)));
  };
  auto hit =
      first({{"ints", DType::kI32, {2}, ints.data(), 8}, {"w", DType::kF32, {7}, f32.data(), 28}});
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->tensor, "w");
  EXPECT_EQ(hit->index, 5u);
  EXPECT_EQ(hit->kind, "nan");
  hit = first({{"b", DType::kBF16, {2}, bf16.data(), 4}});
  ASSERT_TRUE(hit && hit->index == 1 && hit->kind == "-inf");
  hit = first({{"h", DType::kF16, {3}, f16.data(), 6}});
  ASSERT_TRUE(hit && hit->index == 2 && hit->kind == "+inf");
  hit = first({{"e", DType::kF8E4M3, {2}, e4m3.data(), 2}});
  ASSERT_TRUE(hit && hit->index == 1 && hit->kind == "nan");
  hit = first({{"e", DType::kF8E5M2, {2}, e5m2.data(), 2}});
  ASSERT_TRUE(hit && hit->index == 1 && hit->kind == "+inf");
  hit = first({{"d", DType::kF64, {2}, f64.data(), 16}});
  ASSERT_TRUE(hit && hit->index == 1 && hit->kind == "-inf");
  EXPECT_FALSE(first({{"ints", DType::kI32, {2}, ints.data(), 8},
                      {"w", DType::kF32, {5}, f32.data(), 20},
                      {"h", DType::kF16, {2}, f16.data(), 4},
                      {"e", DType::kF8E4M3, {1}, e4m3.data(), 1}})
                   .has_value());
}

// An independent reader (Python's json + struct, tests/lm/safetensors_check.py) accepts what
// this writer wrote and sees the same names, dtypes, shapes, metadata and data checksums.
TEST(Safetensors, IndependentPythonReaderAgrees) {
  TempDir dir;
  std::vector<float> w{1.5f, -2.0f, 3.0f, 0.25f, 8.0f, 9.0f};
  std::vector<std::uint16_t> h{1, 2, 3};
  std::vector<std::int64_t> ids{7};
  write_safetensors(dir / "x.safetensors",
                    {{"h.0.attn", DType::kBF16, {3}, h.data(), 6},
                     {"wte.weight", DType::kF32, {2, 3}, w.data(), 24},
                     {"ids", DType::kI64, {}, ids.data(), 8},
                     {"ünï", DType::kU8, {0}, nullptr, 0}},
                    {{"format", "pt"}});
  std::filesystem::path script = data_root() / "tests/lm/safetensors_check.py";
  ProcessResult result =
      run_process({"python3", script.string(), (dir / "x.safetensors").string()}, 60);
  ASSERT_TRUE(result.ok()) << result.describe() << "\n" << result.output;
  SafetensorsFile file = SafetensorsFile::open(dir / "x.safetensors");
  std::string expected;
  for (const TensorEntry& e : file.tensors()) {
    unsigned sum = 0;
    for (std::uint64_t i = 0; i < e.bytes(); ++i) sum = (sum * 31 + file.data(e)[i]) % 1000003;
    expected += e.name + " " + std::string(dtype_name(e.dtype)) + " " + shape_string(e.shape) +
                " " + std::to_string(e.begin) + " " + std::to_string(sum) + "\n";
  }
  expected += "__metadata__ format=pt\n";
  EXPECT_EQ(result.output, expected);
  // And it rejects what ours rejects (a lying offset).
  testing::write_text(dir / "bad.safetensors",
                      make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
                                std::string(12, '\0')));
  result = run_process({"python3", script.string(), (dir / "bad.safetensors").string()}, 60);
  EXPECT_EQ(result.exit_code, 1) << result.output;
}

}  // namespace
}  // namespace rebench::lm
