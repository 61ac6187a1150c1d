// Environment registry: explicit registration, duplicate rejection, did-you-mean lookup.
#include "rebench/registry.hpp"

#include <algorithm>
#include <regex>

#include "rebench/errors.hpp"

namespace rebench {

void Registry::add(std::unique_ptr<Environment> environment) {
  if (!environment) throw Error("registry: null environment");
  const std::string& id = environment->info().id;
  static const std::regex kIdPattern("[a-z][a-z0-9_]*");
  if (!std::regex_match(id, kIdPattern))
    throw Error("registry: environment id '" + id + "' must match [a-z][a-z0-9_]*");
  if (find(id) != nullptr) throw Error("registry: environment '" + id + "' is registered twice");
  environments_.push_back(std::move(environment));
}

const Environment* Registry::find(const std::string& id) const {
  for (const auto& env : environments_)
    if (env->info().id == id) return env.get();
  return nullptr;
}

const Environment& Registry::get(const std::string& id) const {
  if (const Environment* env = find(id)) return *env;
  std::string message = "unknown environment '" + id + "'";
  std::string suggestion = closest_match(id, ids());
  if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
  message += " (`rebench list` shows all)";
  throw UnknownEnvironmentError(message);
}

std::vector<const Environment*> Registry::all() const {
  std::vector<const Environment*> out;
  for (const auto& env : environments_) out.push_back(env.get());
  return out;
}

std::vector<std::string> Registry::ids() const {
  std::vector<std::string> out;
  for (const auto& env : environments_) out.push_back(env->info().id);
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    // A prefix or substring is a strong hint too ("kernel" -> "optimize_kernel").
    if (!word.empty() && candidate.find(word) != std::string::npos) d = std::min<std::size_t>(d, 1);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  // Suggest only when the typo is plausibly that name: at most half the word changed.
  if (best.empty() || best_distance > std::max<std::size_t>(2, word.size() / 2)) return "";
  return best;
}

}  // namespace rebench
