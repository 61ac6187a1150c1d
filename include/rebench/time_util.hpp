// Time helpers: UTC timestamps, monotonic seconds, and human durations ("8h", "30m", "1h30m").
#pragma once

#include <string>

namespace rebench {

/// Current UTC time as ISO 8601 with milliseconds, e.g. "2026-11-22T19:50:00.123Z".
std::string utc_timestamp();
/// Current UTC date, e.g. "2026-11-22".
std::string utc_date();
/// Seconds on a monotonic clock (for deadlines and durations).
double monotonic_seconds();
/// Parses "90", "90s", "30m", "8h", "1h30m", "1.5h" into seconds; throws UsageError otherwise.
double parse_duration(const std::string& text);
/// "1h02m03s" style formatting of seconds.
std::string format_duration(double seconds);

}  // namespace rebench
