// Environment `optimize_kernel`: a fast GPU prefix-sum variant (RE-Bench "Optimize a Kernel").
#pragma once

#include <memory>

#include "rebench/environment.hpp"

namespace rebench {

std::unique_ptr<Environment> make_optimize_kernel();

}  // namespace rebench
