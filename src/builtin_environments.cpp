// The environments compiled into rebench, in the order `rebench list` shows them.
// Registration is explicit: adding an environment means adding one line here (and its folder).
#include "rebench/registry.hpp"

#include "fix_embedding/fix_embedding.hpp"
#include "optimize_kernel/optimize_kernel.hpp"

namespace rebench {

void add_builtin_environments(Registry& registry) {
  registry.add(make_optimize_kernel());
  registry.add(make_fix_embedding());
}

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    add_builtin_environments(r);
    return r;
  }();
  return registry;
}

}  // namespace rebench
