// Checks of a submitted checkpoint (see checkpoint_check.hpp).
#include "fix_embedding/checkpoint_check.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace rebench::fix_embedding {

namespace {

/// Reads a whole regular file without following a link, refusing more than `max_bytes`.
std::string read_bounded(const std::filesystem::path& path, const std::string& name,
                         std::uint64_t max_bytes, std::uint64_t needed) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      throw Rejected(fmt::format("no {} in solution/: write the repaired model there", name));
    throw Rejected(fmt::format("{} cannot be opened ({}); it must be a regular file", name,
                               std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Rejected(fmt::format("{} is not a regular file", name));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    throw Rejected(
        fmt::format("{} is {:.1f} MB, over the limit of {:.1f} MB (this architecture "
                    "holds {:.1f} MB of float32 weights)",
                    name, size / 1048576.0, max_bytes / 1048576.0, needed / 1048576.0));
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw Rejected(fmt::format("{} could not be read completely", name));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace

std::vector<lm::ExpectedTensor> expected_tensors(const lm::GptConfig& config) {
  std::vector<lm::ExpectedTensor> expected;
  for (const auto& [name, shape] : config.tensor_shapes())
    expected.push_back({name, lm::DType::kF32, shape});
  return expected;
}

std::uint64_t expected_data_bytes(const lm::GptConfig& config) {
  std::uint64_t total = 0;
  for (const auto& [name, shape] : config.tensor_shapes()) {
    std::uint64_t numel = 1;
    for (std::int64_t d : shape) numel *= static_cast<std::uint64_t>(d);
    total += numel * sizeof(float);
  }
  return total;
}

lm::SafetensorsFile check_checkpoint(const std::filesystem::path& path, const std::string& name,
                                     const lm::GptConfig& config, std::uint64_t max_bytes) {
  const std::uint64_t needed = expected_data_bytes(config);
  std::string bytes = read_bounded(path, name, max_bytes, needed);
  lm::SafetensorsLimits limits;
  limits.max_file_bytes = max_bytes;
  limits.max_header_bytes = std::min<std::uint64_t>(limits.max_header_bytes, 16u << 20);
  try {
    lm::SafetensorsFile file = lm::SafetensorsFile::parse(std::move(bytes), limits, name);
    lm::validate_architecture(file, expected_tensors(config));
    if (auto bad = lm::find_non_finite(file)) {
      std::string where = fmt::format("element {}", bad->index);
      const lm::TensorEntry& entry = file.at(bad->tensor);
      if (entry.shape.size() == 2)
        where += fmt::format(" (row {}, column {})", bad->index / entry.shape[1],
                             bad->index % entry.shape[1]);
      throw Rejected(fmt::format("{}: tensor '{}' holds {} at {}: every weight must be finite",
                                 name, bad->tensor, bad->kind, where));
    }
    return file;
  } catch (const lm::SafetensorsError& e) {
    throw Rejected(e.what());
  }
}

}  // namespace rebench::fix_embedding
