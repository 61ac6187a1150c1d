// Environment `fix_embedding`: repair a pretrained GPT whose token embedding rows were permuted
// (RE-Bench "Fix Embedding").
#pragma once

#include <memory>

#include "rebench/environment.hpp"

namespace rebench {

std::unique_ptr<Environment> make_fix_embedding();

}  // namespace rebench
