// libFuzzer entry point for the safetensors reader (opt-in; CI does not build it). Every input
// must either parse into a file that round-trips through the writer or throw SafetensorsError.
// Build and run: tests/lm/safetensors_fuzz.sh [SECONDS]
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lm/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rebench::lm;
  SafetensorsLimits limits;
  limits.max_file_bytes = 1 << 20;
  try {
    SafetensorsFile file =
        SafetensorsFile::parse(std::string(reinterpret_cast<const char*>(data), size), limits);
    std::vector<TensorToWrite> rewrite;
    for (const TensorEntry& e : file.tensors())
      rewrite.push_back(
          {e.name, e.dtype, e.shape, file.data(e), static_cast<std::size_t>(e.bytes())});
    SafetensorsFile again = SafetensorsFile::parse(serialize_safetensors(rewrite, file.metadata()));
    if (again.tensors().size() != file.tensors().size() || again.metadata() != file.metadata())
      std::abort();
    for (const TensorEntry& e : file.tensors()) {
      const TensorEntry& a = again.at(e.name);
      if (a.shape != e.shape || a.dtype != e.dtype ||
          std::memcmp(again.data(a), file.data(e), e.bytes()) != 0)
        std::abort();
    }
    (void)find_non_finite(file);
  } catch (const SafetensorsError&) {
    // a clean rejection
  }
  return 0;  // any other exception escapes and libFuzzer reports it as a crash
}
