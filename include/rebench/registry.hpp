// The explicit, ordered list of environments compiled into this binary (no static-init magic).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rebench/environment.hpp"

namespace rebench {

using EnvironmentFactory = std::function<std::unique_ptr<Environment>()>;

class Registry {
 public:
  /// Adds an environment; throws Error if its id is empty, malformed or already registered.
  void add(std::unique_ptr<Environment> environment);
  /// The environment with this id; throws UnknownEnvironmentError naming the closest id.
  [[nodiscard]] const Environment& get(const std::string& id) const;
  [[nodiscard]] const Environment* find(const std::string& id) const;
  /// In registration order.
  [[nodiscard]] std::vector<const Environment*> all() const;
  [[nodiscard]] std::vector<std::string> ids() const;

 private:
  std::vector<std::unique_ptr<Environment>> environments_;
};

/// The registry of the environments built into rebench (src/builtin_environments.cpp).
const Registry& builtin_registry();
/// Adds the built-in environments, in order, to `registry` (test binaries add theirs after).
void add_builtin_environments(Registry& registry);

/// Edit distance between two strings (for did-you-mean suggestions).
std::size_t edit_distance(const std::string& a, const std::string& b);
/// The candidate closest to `word`, or "" when none is plausibly meant.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace rebench
