// Score log I/O: versioned header, durable appends, tolerant and non-destructive reading.
#include "rebench/score_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "rebench/errors.hpp"
#include "rebench/time_util.hpp"

namespace rebench {

namespace {

std::pair<int, int> parse_version(const std::string& text, const std::filesystem::path& path) {
  int major = 0;
  int minor = 0;
  char dot = 0;
  std::istringstream in(text);
  if (!(in >> major >> dot >> minor) || dot != '.')
    throw Error(path.string() + ": score log header has a malformed version '" + text + "'");
  return {major, minor};
}

}  // namespace

std::string to_string(EntryKind kind) {
  switch (kind) {
    case EntryKind::kBaseline:
      return "baseline";
    case EntryKind::kAgent:
      return "agent";
    case EntryKind::kFinal:
      return "final";
    case EntryKind::kReplay:
      return "replay";
  }
  return "agent";
}

EntryKind entry_kind_from_string(const std::string& text) {
  if (text == "baseline") return EntryKind::kBaseline;
  if (text == "agent") return EntryKind::kAgent;
  if (text == "final") return EntryKind::kFinal;
  if (text == "replay") return EntryKind::kReplay;
  throw Error("unknown score entry kind '" + text + "'");
}

Json ScoreEntry::to_json() const {
  return {{"index", index},
          {"kind", rebench::to_string(kind)},
          {"timestamp", timestamp},
          {"elapsed_s", elapsed_s},
          {"scorer_duration_s", scorer_duration_s},
          {"metrics", metrics_to_json(metrics)},
          {"raw", finite_or_null(raw)},
          {"score", finite_or_null(score)},
          {"valid", valid},
          {"message", message},
          {"details", details},
          {"snapshot_id", snapshot_id},
          {"device", device}};
}

ScoreEntry ScoreEntry::from_json(const Json& json) {
  ScoreEntry e;
  e.index = json.at("index").get<int>();
  e.kind = entry_kind_from_string(json.at("kind").get<std::string>());
  e.timestamp = json.at("timestamp").get<std::string>();
  e.elapsed_s = json.at("elapsed_s").get<double>();
  e.scorer_duration_s = json.at("scorer_duration_s").get<double>();
  e.metrics = metrics_from_json(json.at("metrics"));
  e.raw = number_or_nan(json.at("raw"));
  e.score = number_or_nan(json.at("score"));
  e.valid = json.at("valid").get<bool>();
  e.message = json.at("message").get<std::string>();
  e.details = json.value("details", Json::object());
  e.snapshot_id = json.value("snapshot_id", std::string());
  e.device = json.value("device", Json::object());
  return e;
}

ScoreEntry ScoreEntry::from_result(const ScoreResult& result) {
  ScoreEntry e;
  e.scorer_duration_s = result.duration_s;
  e.metrics = result.metrics;
  e.raw = result.valid ? result.raw : std::nan("");
  e.score = result.valid ? result.score : std::nan("");
  e.valid = result.valid;
  e.message = result.message;
  e.details = result.details;
  e.device = result.device;
  return e;
}

Json ScoreLogHeader::to_json() const {
  return {{"format", kScoreLogFormat},
          {"version", std::to_string(major) + "." + std::to_string(minor)},
          {"run_id", run_id},
          {"environment", environment},
          {"environment_version", environment_version},
          {"created", created}};
}

ScoreLogContents read_score_log(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open score log " + path.string() + ": " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  ScoreLogContents contents;
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // no newline: an append may have been cut short
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.empty()) throw Error(path.string() + ": score log is empty (no header)");

  Json header;
  try {
    header = Json::parse(lines[0]);
  } catch (const Json::parse_error&) {
    throw Error(path.string() + ": score log header is not JSON");
  }
  if (!header.is_object() || header.value("format", "") != kScoreLogFormat)
    throw Error(path.string() + ": not a rebench score log (format field missing or wrong)");
  auto [major, minor] = parse_version(header.value("version", ""), path);
  if (major != kScoreLogMajorVersion)
    throw Error(path.string() + ": score log version " + std::to_string(major) + "." +
                std::to_string(minor) + " is not supported by this rebench (reads major " +
                std::to_string(kScoreLogMajorVersion) + "); the file was left untouched");
  contents.header.major = major;
  contents.header.minor = minor;
  contents.header.run_id = header.value("run_id", "");
  contents.header.environment = header.value("environment", "");
  contents.header.environment_version = header.value("environment_version", "");
  contents.header.created = header.value("created", "");

  for (std::size_t i = 1; i < lines.size(); ++i) {
    const bool last = i + 1 == lines.size();
    Json parsed = Json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      // Only the final line can be torn by a crash mid-append; garbage elsewhere is corruption.
      if (last) {
        contents.torn_tail = true;
        break;
      }
      throw Error(path.string() + ": line " + std::to_string(i + 1) + " is not JSON");
    }
    try {
      contents.entries.push_back(ScoreEntry::from_json(parsed));
    } catch (const std::exception& e) {
      // Complete JSON that is not an entry this version understands: refuse, never truncate.
      throw Error(path.string() + ": line " + std::to_string(i + 1) +
                  " is not a valid score entry: " + e.what());
    }
  }
  return contents;
}

namespace {

void write_line(int fd, const std::string& line, const std::filesystem::path& path) {
  // One line per call: with O_APPEND it lands contiguously after the previous entry.
  write_all(fd, line, path);
  if (::fsync(fd) != 0)
    throw Error("cannot fsync score log " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

ScoreLogWriter::ScoreLogWriter(std::filesystem::path path, int fd, int next_index)
    : path_(std::move(path)), fd_(fd), next_index_(next_index) {}

ScoreLogWriter::ScoreLogWriter(ScoreLogWriter&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), next_index_(other.next_index_) {
  other.fd_ = -1;
}

ScoreLogWriter::~ScoreLogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

ScoreLogWriter ScoreLogWriter::create(const std::filesystem::path& path,
                                      const ScoreLogHeader& header) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot create score log " + path.string() + ": " + std::strerror(errno));
  ScoreLogWriter writer(path, fd, 0);
  write_line(fd, header.to_json().dump() + "\n", path);
  return writer;
}

ScoreLogWriter ScoreLogWriter::open(const std::filesystem::path& path) {
  ScoreLogContents contents = read_score_log(path);  // validates version before any write
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const bool ends_in_newline = !text.empty() && text.back() == '\n';
  if (contents.torn_tail) {
    // Cut the torn fragment so the next entry starts on its own line. Everything before it is
    // intact, and the fragment is kept beside the log for inspection.
    std::size_t keep = text.rfind('\n', ends_in_newline ? text.size() - 2 : std::string::npos);
    keep = keep == std::string::npos ? 0 : keep + 1;
    std::ofstream(path.string() + ".torn", std::ios::app) << text.substr(keep);
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0)
      throw Error("cannot repair torn score log " + path.string() + ": " + std::strerror(errno));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open score log " + path.string() + ": " + std::strerror(errno));
  // A complete last entry whose newline was lost still counts; terminate it before appending.
  if (!contents.torn_tail && !ends_in_newline) write_line(fd, "\n", path);
  int next = contents.entries.empty() ? 0 : contents.entries.back().index + 1;
  return ScoreLogWriter(path, fd, next);
}

ScoreEntry ScoreLogWriter::append(ScoreEntry entry) {
  entry.index = next_index_;
  write_line(fd_, entry.to_json().dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
             path_);
  ++next_index_;
  return entry;
}

}  // namespace rebench
