// UTC timestamps, monotonic time and human-readable durations.
#include "rebench/time_util.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <regex>

#include <fmt/format.h>

#include "rebench/errors.hpp"

namespace rebench {

std::string utc_timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t seconds = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buffer, static_cast<int>(millis));
}

std::string utc_date() { return utc_timestamp().substr(0, 10); }

double monotonic_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

double parse_duration(const std::string& text) {
  static const std::regex kPlain(R"(\s*(\d+(?:\.\d+)?)\s*)");
  static const std::regex kParts(
      R"(\s*(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?\s*)");
  std::smatch match;
  if (std::regex_match(text, match, kPlain)) return std::stod(match[1]);
  if (!text.empty() && std::regex_match(text, match, kParts) &&
      (match[1].matched || match[2].matched || match[3].matched)) {
    double total = 0;
    if (match[1].matched) total += std::stod(match[1]) * 3600;
    if (match[2].matched) total += std::stod(match[2]) * 60;
    if (match[3].matched) total += std::stod(match[3]);
    return total;
  }
  throw UsageError("cannot read duration '" + text + "' (examples: 90s, 30m, 8h, 1h30m)");
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  long long total = std::llround(std::max(0.0, seconds));
  long long h = total / 3600;
  long long m = (total % 3600) / 60;
  long long s = total % 60;
  if (h > 0) return fmt::format("{}h{:02d}m{:02d}s", h, m, s);
  if (m > 0) return fmt::format("{}m{:02d}s", m, s);
  return fmt::format("{}s", s);
}

}  // namespace rebench
