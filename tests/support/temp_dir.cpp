// Temporary directories and small file helpers for tests.
#include "support/temp_dir.hpp"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rebench::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rebench-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);  // files and (now empty) directories; errors ignored, as in a destructor
  return 0;
}
}  // namespace

TempDir::~TempDir() {
  // nftw rather than std::filesystem::remove_all: test binaries link libtorch, and PyTorch 2.x
  // exports its own remove_all, which crashed when our call bound to it (H100 host).
  ::nftw(path_.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

void write_text(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace rebench::testing
