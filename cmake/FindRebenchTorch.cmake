# Finds libtorch: from an installed PyTorch when python3 has one (CUDA build on GPU hosts), else
# Debian's libtorch-dev (CPU build). Sets REBENCH_HAVE_TORCH and the Torch targets/variables.
set(REBENCH_HAVE_TORCH OFF)
find_program(REBENCH_PYTHON3 python3)
if(REBENCH_PYTHON3)
  execute_process(
    COMMAND "${REBENCH_PYTHON3}" -c "import torch; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
    RESULT_VARIABLE _torch_status)
  if(_torch_status EQUAL 0 AND EXISTS "${_torch_prefix}")
    list(APPEND CMAKE_PREFIX_PATH "${_torch_prefix}")
    set(REBENCH_TORCH_SOURCE "python3 PyTorch (${_torch_prefix})")
  endif()
endif()
if(NOT REBENCH_TORCH_SOURCE)
  set(REBENCH_TORCH_SOURCE "system libtorch")
endif()
find_package(Torch QUIET)
if(Torch_FOUND)
  set(REBENCH_HAVE_TORCH ON)
  message(STATUS "rebench: libtorch ${Torch_VERSION} from ${REBENCH_TORCH_SOURCE}")
else()
  message(STATUS "rebench: libtorch not found; torch-based solutions cannot be built")
endif()
