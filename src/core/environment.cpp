// Non-virtual wrappers of the environment contract: validation, timing, error capture.
#include "rebench/environment.hpp"

#include <cmath>
#include <exception>

#include "rebench/errors.hpp"
#include "rebench/profile.hpp"
#include "rebench/time_util.hpp"

namespace rebench {

std::string to_string(Direction direction) {
  return direction == Direction::kLowerIsBetter ? "lower" : "higher";
}
std::string to_string(Selection selection) {
  return selection == Selection::kBestValid ? "best" : "last";
}
std::string to_string(ScoreVisibility visibility) {
  return visibility == ScoreVisibility::kVisible ? "visible" : "hidden";
}

Json finite_or_null(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

double number_or_nan(const Json& value) {
  return value.is_number() ? value.get<double>() : std::nan("");
}

Json metrics_to_json(const std::vector<Metric>& metrics) {
  Json out = Json::array();
  for (const Metric& m : metrics)
    out.push_back({{"name", m.name}, {"value", finite_or_null(m.value)}, {"unit", m.unit}});
  return out;
}

std::vector<Metric> metrics_from_json(const Json& json) {
  std::vector<Metric> metrics;
  for (const Json& m : json)
    metrics.push_back({m.at("name").get<std::string>(), number_or_nan(m.at("value")),
                       m.at("unit").get<std::string>()});
  return metrics;
}

ScoreResult ScoreResult::invalid(std::string message, Json details) {
  ScoreResult result;
  result.valid = false;
  result.raw = std::nan("");
  result.score = std::nan("");
  result.message = std::move(message);
  result.details = std::move(details);
  return result;
}

Json ScoreResult::to_json() const {
  return {{"valid", valid},
          {"metrics", metrics_to_json(metrics)},
          {"raw", finite_or_null(raw)},
          {"score", finite_or_null(score)},
          {"message", message},
          {"details", details},
          {"device", device},
          {"duration_s", duration_s}};
}

ScoreResult ScoreResult::from_json(const Json& json) {
  ScoreResult result;
  result.valid = json.at("valid").get<bool>();
  result.metrics = metrics_from_json(json.at("metrics"));
  result.raw = number_or_nan(json.at("raw"));
  result.score = number_or_nan(json.at("score"));
  result.message = json.at("message").get<std::string>();
  result.details = json.value("details", Json::object());
  result.device = json.value("device", Json::object());
  result.duration_s = json.value("duration_s", 0.0);
  return result;
}

Environment::Environment(EnvironmentInfo info) : info_(std::move(info)) {}

void Environment::provision(const ProvisionRequest& request) const {
  namespace fs = std::filesystem;
  for (const fs::path& dir : {request.home, request.private_dir}) {
    if (!fs::is_directory(dir)) throw Error("provision: " + dir.string() + " is not a directory");
    if (!fs::is_empty(dir)) throw Error("provision: " + dir.string() + " is not empty");
  }
  if (request.profile == nullptr) throw Error("provision: no profile given");
  do_provision(request);
  if (!fs::is_directory(request.home / "solution"))
    throw Error("environment " + info_.id + " provisioned no home/solution folder");
}

ScoreResult Environment::score(const ScoreRequest& request) const {
  double start = monotonic_seconds();
  ScoreResult result;
  try {
    if (request.profile == nullptr) throw Error("score: no profile given");
    result = do_score(request);
  } catch (const std::exception& e) {
    result = ScoreResult::invalid(std::string("scorer error: ") + e.what());
  }
  if (result.valid) {
    result.score = std::isfinite(result.raw) ? info_.transform.apply(result.raw) : std::nan("");
    if (!std::isfinite(result.raw) || !std::isfinite(result.score)) {
      result.details["rejected_raw"] = finite_or_null(result.raw);
      result.valid = false;
      result.message = "invalid: the " + info_.metric_name + " (" +
                       (std::isfinite(result.raw) ? std::to_string(result.raw) : "non-finite") +
                       ") is outside the domain of " + info_.transform.formula;
    }
  }
  if (!result.valid) result.score = std::nan("");
  result.duration_s = monotonic_seconds() - start;
  return result;
}

void Environment::verify(const ScoreRequest& request, ScoreResult& result) const {
  if (!result.valid) return;
  try {
    do_verify(request, result);
  } catch (const std::exception& e) {
    result.valid = false;
    result.message = std::string("verification error: ") + e.what();
  }
  if (!result.valid) result.score = std::nan("");
}

std::filesystem::path Environment::reference_solution(const Profile& profile) const {
  return do_reference_solution(profile);
}

}  // namespace rebench

namespace rebench {

Json to_json(const EnvironmentInfo& info) {
  return {{"id", info.id},
          {"title", info.title},
          {"version", info.version},
          {"summary", info.summary},
          {"metric", {{"name", info.metric_name}, {"unit", info.metric_unit}}},
          {"transform", info.transform.formula},
          {"direction", to_string(info.direction)},
          {"selection", to_string(info.selection)},
          {"score_visibility", to_string(info.visibility)},
          {"resources",
           {{"gpus", info.resources.gpus},
            {"memory_gb", info.resources.memory_gb},
            {"max_processes", info.resources.max_processes}}},
          {"default_time_limit_s", info.default_time_limit_s},
          {"score_timeout_s", info.score_timeout_s}};
}

}  // namespace rebench
