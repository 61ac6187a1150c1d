// Randomized robustness test of the safetensors reader: 20k mutated and generated inputs (fixed
// seed) must each either parse into a self-consistent file or throw SafetensorsError; anything
// else (another exception, a crash, a hang) fails. Run it under -fsanitize=address,undefined too.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "lm/safetensors.hpp"

namespace rebench::lm {
namespace {

// Valid files with varied dtypes, ranks, zero-size tensors and metadata: mutation seeds.
std::vector<std::string> seed_files(std::mt19937_64& random) {
  std::vector<std::string> files;
  for (int f = 0; f < 12; ++f) {
    std::vector<std::string> buffers;
    std::vector<TensorToWrite> tensors;
    int count = static_cast<int>(random() % 5);
    for (int t = 0; t < count; ++t) {
      DType dtype = all_dtypes()[random() % all_dtypes().size()];
      std::vector<std::int64_t> shape;
      for (int r = static_cast<int>(random() % 4); r > 0; --r)
        shape.push_back(static_cast<std::int64_t>(random() % 4));
      std::uint64_t numel = 1;
      for (auto d : shape) numel *= static_cast<std::uint64_t>(d);
      std::string buffer;
      for (std::uint64_t b = 0; b < numel * dtype_size(dtype); ++b)
        buffer.push_back(static_cast<char>(random()));
      tensors.push_back(
          {"t" + std::to_string(t) + (t % 2 ? ".w" : ".ü"), dtype, shape, nullptr, buffer.size()});
      buffers.push_back(std::move(buffer));
    }
    for (std::size_t t = 0; t < tensors.size(); ++t) tensors[t].data = buffers[t].data();
    std::map<std::string, std::string> metadata;
    if (f % 3 == 0) metadata["format"] = "pt";
    files.push_back(serialize_safetensors(tensors, metadata));
  }
  return files;
}

std::string random_number(std::mt19937_64& random) {
  static const char* kInteresting[] = {"0",
                                       "1",
                                       "-1",
                                       "2.5",
                                       "1e3",
                                       "4294967296",
                                       "18446744073709551615",
                                       "18446744073709551616",
                                       "9223372036854775807",
                                       "9223372036854775808",
                                       "-0",
                                       "null"};
  if (random() % 3 == 0) return kInteresting[random() % std::size(kInteresting)];
  return std::to_string(random() % 64);
}

// A JSON header from a small grammar: mostly tensor-shaped entries with random fields.
std::string random_header(std::mt19937_64& random) {
  static const char* kDTypes[] = {"F32", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "X", ""};
  std::string out = "{";
  int entries = static_cast<int>(random() % 5);
  for (int e = 0; e < entries; ++e) {
    if (e) out += ",";
    if (random() % 8 == 0) {
      out += R"("__metadata__":{"a":)" + std::string(random() % 2 ? "\"b\"" : "1") + "}";
      continue;
    }
    out += "\"n" + std::to_string(random() % 4) + "\":{";
    std::vector<std::string> fields;
    if (random() % 10) fields.push_back(std::string("\"dtype\":\"") + kDTypes[random() % 9] + "\"");
    if (random() % 10) {
      std::string shape = "\"shape\":[";
      for (int r = static_cast<int>(random() % 4); r > 0; --r)
        shape += random_number(random) + (r > 1 ? "," : "");
      fields.push_back(shape + "]");
    }
    if (random() % 10)
      fields.push_back("\"data_offsets\":[" + random_number(random) + "," + random_number(random) +
                       "]");
    if (random() % 20 == 0) fields.push_back("\"extra\":{}");
    for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
    out += "}";
  }
  out += "}";
  out.append(random() % 8, ' ');
  return out;
}

std::string le64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::string mutate(const std::vector<std::string>& seeds, std::mt19937_64& random) {
  std::string s = seeds[random() % seeds.size()];
  switch (random() % 8) {
    case 0:  // bit flips
      for (int k = 1 + static_cast<int>(random() % 8); k > 0 && !s.empty(); --k)
        s[random() % s.size()] ^= static_cast<char>(1u << (random() % 8));
      break;
    case 1:  // truncation
      s.resize(random() % (s.size() + 1));
      break;
    case 2: {  // splice of two valid files
      const std::string& other = seeds[random() % seeds.size()];
      s = s.substr(0, random() % (s.size() + 1)) + other.substr(random() % (other.size() + 1));
      break;
    }
    case 3: {  // a lying header length
      static const std::uint64_t kLengths[] = {0,           1,     7,         8,
                                               100'000'001, ~0ULL, ~0ULL - 7, 1ULL << 63};
      std::uint64_t n = random() % 2 ? kLengths[random() % std::size(kLengths)] : random() % 512;
      s = le64(n) + s.substr(std::min<std::size_t>(8, s.size()));
      break;
    }
    case 4: {  // bytes inserted or removed inside the header
      std::size_t at = 8 + random() % 64;
      if (at > s.size()) at = s.size();
      if (random() % 2)
        s.insert(at, std::string(1 + random() % 4, "{}[],:\"0 \xff"[random() % 11]));
      else
        s.erase(at, 1 + random() % 4);
      break;
    }
    case 5: {  // a generated header over a random buffer
      std::string header = random_header(random);
      s = le64(header.size()) + header + std::string(random() % 96, '\x01');
      break;
    }
    case 6:  // trailing garbage
      s += std::string(1 + random() % 8, static_cast<char>(random()));
      break;
    default: {  // a digit in the header changed (offsets, shapes and lengths lie)
      std::vector<std::size_t> digits;
      for (std::size_t i = 8; i < s.size() && i < 4096; ++i)
        if (s[i] >= '0' && s[i] <= '9') digits.push_back(i);
      if (!digits.empty())
        s[digits[random() % digits.size()]] = static_cast<char>('0' + random() % 10);
      break;
    }
  }
  return s;
}

// Properties of an accepted file: tensors tile the buffer, and rewriting them round-trips.
void check_accepted(const SafetensorsFile& file, const std::string& input) {
  std::uint64_t position = 0;
  std::vector<TensorToWrite> rewrite;
  for (const TensorEntry& e : file.tensors()) {
    ASSERT_EQ(e.begin, position);
    ASSERT_GE(e.end, e.begin);
    position = e.end;
    const std::uint8_t* p = file.data(e);
    ASSERT_NE(p, nullptr);
    rewrite.push_back({e.name, e.dtype, e.shape, p, static_cast<std::size_t>(e.bytes())});
  }
  ASSERT_LE(position, input.size());
  SafetensorsFile again = SafetensorsFile::parse(serialize_safetensors(rewrite, file.metadata()));
  ASSERT_EQ(again.tensors().size(), file.tensors().size());
  EXPECT_EQ(again.metadata(), file.metadata());
  for (const TensorEntry& e : file.tensors()) {
    const TensorEntry& a = again.at(e.name);
    ASSERT_EQ(a.shape, e.shape);
    ASSERT_EQ(a.dtype, e.dtype);
    ASSERT_EQ(std::memcmp(again.data(a), file.data(e), e.bytes()), 0);
  }
  (void)find_non_finite(file);
}

TEST(SafetensorsFuzz, MutatedInputsParseOrThrowCleanly) {
  std::mt19937_64 random(20240611);  // fixed: a failure reproduces
  std::vector<std::string> seeds = seed_files(random);
  SafetensorsLimits limits;
  limits.max_file_bytes = 1 << 20;
  int accepted = 0, rejected = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) {
    std::string input = mutate(seeds, random);
    try {
      SafetensorsFile file = SafetensorsFile::parse(input, limits);
      ++accepted;
      check_accepted(file, input);
      if (::testing::Test::HasFatalFailure()) FAIL() << "input " << i;
    } catch (const SafetensorsError& e) {
      ++rejected;
      ASSERT_GT(std::strlen(e.what()), 20u);
    } catch (const std::exception& e) {
      FAIL() << "input " << i << " threw a non-SafetensorsError: " << e.what();
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Both outcomes must be common, or the mutations are not exploring the format's edges.
  EXPECT_GT(accepted, 500) << "rejected " << rejected;
  EXPECT_GT(rejected, 5000) << "accepted " << accepted;
  RecordProperty("accepted", accepted);
  RecordProperty("rejected", rejected);
  std::printf("safetensors fuzz: %d accepted, %d rejected in %.2fs\n", accepted, rejected, seconds);
}

}  // namespace
}  // namespace rebench::lm
