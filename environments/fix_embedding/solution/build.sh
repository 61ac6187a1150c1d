#!/usr/bin/env bash
# Builds ./repair from every .cpp in this folder with the harness's compiler and libtorch (the
# values below were filled in when this workspace was made). Usage: bash build.sh [extra flags]
set -euo pipefail
cd "$(dirname "$0")"
CXX={{cxx}}
TORCH_INCLUDES=({{torch_includes}})
TORCH_FLAGS=({{torch_flags}})
TORCH_LIBDIR={{torch_libdir}}
TORCH_LIBS=({{torch_libs}})
# --no-as-needed: libtorch registers its CPU/CUDA kernels from libraries no symbol refers to.
"$CXX" -O2 -std=c++17 "${TORCH_INCLUDES[@]}" "${TORCH_FLAGS[@]}" "$@" ./*.cpp -o repair \
  -Wl,--no-as-needed -L"$TORCH_LIBDIR" -Wl,-rpath,"$TORCH_LIBDIR" "${TORCH_LIBS[@]}" -lpthread
echo "built ./repair"
