// The environments compiled into rebench, in the order `rebench list` shows them.
// Registration is explicit: adding an environment means adding one line here (and its folder).
#include "rebench/registry.hpp"

#include "optimize_kernel/optimize_kernel.hpp"

namespace rebench {

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    r.add(make_optimize_kernel());
    return r;
  }();
  return registry;
}

}  // namespace rebench
