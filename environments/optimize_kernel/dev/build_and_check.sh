#!/usr/bin/env bash
# Builds the optimize_kernel solutions (starting / reference / ceiling) into a scratch directory
# and runs the standalone checker on them: `gpu` needs an H100 + PyTorch, `cpu` needs g++ and
# Debian's libtorch 1.13 (libtorch-dev). Usage: dev/build_and_check.sh [gpu|cpu] [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
env_dir="$(dirname "${here}")"
mode="${1:-gpu}"
build="${2:-/tmp/optimize_kernel_build}"
mkdir -p "${build}"

case "${mode}" in
  gpu)
    nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
    nvflags=(-O3 -std=c++17 -arch=sm_90 -shared -Xcompiler -fPIC)
    # libtorch from the Python wheel: <site-packages>/torch/{include,lib}.
    torch_root="$(python3 -c 'import os, torch
print(os.path.realpath(os.path.join(torch.utils.cmake_prefix_path, "..", "..")))')"
    torch_abi="$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
    echo "nvcc: ${nvcc}; libtorch: ${torch_root} (cxx11 abi ${torch_abi})"
    set -x
    "${nvcc}" "${nvflags[@]}" -o "${build}/gpu_reference.so" "${env_dir}/reference/h100/solution.cu"
    "${nvcc}" "${nvflags[@]}" -o "${build}/gpu_ceiling.so" "${env_dir}/ceiling/h100/solution.cu"
    # --no-as-needed: nothing references libtorch_cuda's symbols directly, but its CUDA kernels
    # must be loaded (registered) or every CUDA op fails at dispatch (no CUDA kernel registered).
    "${nvcc}" "${nvflags[@]}" -D_GLIBCXX_USE_CXX11_ABI="${torch_abi}" \
      -I"${torch_root}/include" -I"${torch_root}/include/torch/csrc/api/include" \
      -o "${build}/gpu_starting.so" "${env_dir}/starting/h100/solution.cu" \
      -L"${torch_root}/lib" -Xlinker -rpath="${torch_root}/lib" -Xlinker --no-as-needed \
      -ltorch -ltorch_cuda -lc10 -lc10_cuda -ltorch_cpu
    "${nvcc}" -O2 -std=c++17 -arch=sm_90 -o "${build}/check_solutions" \
      "${here}/check_solutions.cu" -ldl
    "${build}/check_solutions" "starting=${build}/gpu_starting.so" \
      "reference=${build}/gpu_reference.so" "ceiling=${build}/gpu_ceiling.so"
    ;;
  cpu)
    cxx="${CXX:-g++}"
    cxxflags=(-O2 -std=c++17 -shared -fPIC)
    set -x
    "${cxx}" "${cxxflags[@]}" -I/usr/include/torch/csrc/api/include \
      -o "${build}/cpu_starting.so" "${env_dir}/starting/cpu/solution.cpp" \
      -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10
    "${cxx}" "${cxxflags[@]}" -o "${build}/cpu_reference.so" "${env_dir}/reference/cpu/solution.cpp"
    "${cxx}" "${cxxflags[@]}" -o "${build}/cpu_ceiling.so" "${env_dir}/ceiling/cpu/solution.cpp"
    "${cxx}" -O2 -std=c++17 -o "${build}/check_cpu" "${here}/check_cpu.cpp" -ldl
    "${build}/check_cpu" "starting=${build}/cpu_starting.so" \
      "reference=${build}/cpu_reference.so" "ceiling=${build}/cpu_ceiling.so"
    ;;
  *)
    echo "usage: $0 [gpu|cpu] [BUILD_DIR]" >&2
    exit 2
    ;;
esac
