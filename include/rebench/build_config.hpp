// How this rebench binary was configured: compilers and libtorch location, used to build agents'
// solutions with the same toolchain the harness was built with.
#pragma once

#include <string>

namespace rebench {

struct BuildConfig {
  std::string cxx_compiler;
  std::string cuda_compiler;       ///< "" when built without CUDA
  std::string cuda_architectures;  ///< e.g. "90"
  bool have_cuda = false;
  bool have_torch = false;
  std::string torch_version;
  std::string torch_source;        ///< "python3 PyTorch (…)" or "system libtorch"
  std::string torch_include_dirs;  ///< ':'-separated
  std::string torch_library_dir;
  std::string torch_cxx_flags;  ///< e.g. "-D_GLIBCXX_USE_CXX11_ABI=1"
  bool torch_has_cuda = false;
};

const BuildConfig& build_config();

}  // namespace rebench
