// SHA-256 (FIPS 180-4) for content addressing: snapshots, build caches, file provenance.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rebench {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  /// Finishes and returns the lowercase hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  std::size_t buffer_size_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const std::string& text);
std::string sha256_file(const std::filesystem::path& file);

}  // namespace rebench
