// Batch progress display (see progress.hpp).
#include "batch/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "batch/run_state.hpp"
#include "rebench/errors.hpp"
#include "rebench/time_util.hpp"

namespace rebench::batch {

namespace {
constexpr std::size_t kMaxLiveRows = 20;  // beyond that, only active runs get a row
}

BatchProgress::BatchProgress(const BatchPlan& plan, const Registry& registry, bool live,
                             std::FILE* out)
    : plan_(plan), registry_(registry), live_(live), out_(out), rows_(plan.runs.size()) {
  struct winsize size {};
  if (live_ && ::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0) width_ = size.ws_col;
}

void BatchProgress::status(std::size_t index, const std::string& status, const std::string& note) {
  Row& row = rows_.at(index);
  if (row.status == status && row.note == note) return;
  row.status = status;
  row.note = note;
  if (!live_)
    plain(fmt::format("{:<16} {}{}", status, plan_.runs[index].name,
                      note.empty() ? "" : "  (" + note + ")"));
  redraw(false);
}

void BatchProgress::started(std::size_t index, const std::string& status,
                            const std::vector<int>& gpus) {
  Row& row = rows_.at(index);
  row.status = status;
  row.note.clear();
  row.active = true;
  row.started_s = monotonic_seconds();
  row.gpus.clear();
  for (int g : gpus) row.gpus += (row.gpus.empty() ? "" : ",") + std::to_string(g);
  if (!live_)
    plain(fmt::format("{:<16} {}{}", status, plan_.runs[index].name,
                      row.gpus.empty() ? "" : "  (GPUs " + row.gpus + ")"));
  redraw(true);
}

void BatchProgress::finished(std::size_t index, const std::string& status,
                             const std::string& note) {
  Row& row = rows_.at(index);
  row.status = status;
  row.note = note;
  row.active = false;
  if (!live_)
    plain(fmt::format("{:<16} {}{}", status, plan_.runs[index].name,
                      note.empty() ? "" : "  " + note));
  redraw(true);
}

void BatchProgress::message(const std::string& text) {
  if (!live_) {
    plain(text);
    return;
  }
  // Above the table: clear it, print, draw it again below.
  if (drawn_lines_ > 0) std::fprintf(out_, "\033[%dF\033[J", drawn_lines_);
  std::fprintf(out_, "%s\n", text.c_str());
  drawn_lines_ = 0;
  redraw(true);
}

void BatchProgress::tick() {
  if (live_) {
    redraw(false);
    return;
  }
  const double now = monotonic_seconds();
  if (last_counts_s_ == 0) last_counts_s_ = now;
  if (now - last_counts_s_ >= 300) {
    last_counts_s_ = now;
    plain("progress: " + counts());
  }
}

void BatchProgress::close() {
  if (live_) redraw(true);
  std::fflush(out_);
}

void BatchProgress::plain(const std::string& line) {
  std::fprintf(out_, "[batch %s] %s\n", plan_.suite.c_str(), line.c_str());
  std::fflush(out_);
}

std::string BatchProgress::counts() const {
  std::map<std::string, int> by_status;
  for (const Row& row : rows_) ++by_status[row.status];
  std::string out = fmt::format("{} runs:", rows_.size());
  for (const auto& [status, n] : by_status) out += fmt::format(" {} {},", n, status);
  out.pop_back();
  return out;
}

std::string BatchProgress::budget_of(std::size_t index, const Row& row) const {
  // The budget the run has used (state.json, written by the run), else wall time since start.
  double used = -1;
  try {
    const auto state = plan_.run_dir(index) / "state.json";
    if (std::filesystem::exists(state)) used = read_json_file(state).value("used_s", -1.0);
  } catch (const Error&) {
  }
  if (used < 0 && row.started_s > 0) used = monotonic_seconds() - row.started_s;
  if (used < 0) return "-";
  return format_duration(used) + "/" + duration_tag(plan_.runs[index].time_limit_s);
}

std::string BatchProgress::score_of(std::size_t index) const {
  const Environment* env = registry_.find(plan_.runs[index].environment);
  if (env == nullptr) return "-";
  ScoreSoFar so_far = score_so_far(plan_.run_dir(index), env->info());
  if (so_far.entries == 0) return "-";
  return so_far.score ? fmt::format("{:.4f} ({} entries)", *so_far.score, so_far.entries)
                      : fmt::format("none valid ({})", so_far.entries);
}

std::string BatchProgress::render() const {
  std::vector<std::size_t> shown;
  for (std::size_t i = 0; i < rows_.size(); ++i)
    if (rows_.size() <= kMaxLiveRows || rows_[i].active) shown.push_back(i);
  std::size_t name_width = 3;
  for (std::size_t i : shown) name_width = std::max(name_width, plan_.runs[i].name.size());
  std::string out = fmt::format("{:<{}}  {:<16} {:<6} {:<18} {}\n", "run", name_width, "status",
                                "GPUs", "budget used", "score so far");
  for (std::size_t i : shown) {
    const Row& row = rows_[i];
    const bool begun = row.active || row.status != "pending";
    out +=
        fmt::format("{:<{}}  {:<16} {:<6} {:<18} {}{}\n", plan_.runs[i].name, name_width,
                    row.status, row.gpus.empty() ? "-" : row.gpus, begun ? budget_of(i, row) : "-",
                    begun ? score_of(i) : "-", row.note.empty() ? "" : "  " + row.note);
  }
  out += counts() + "\n";
  return out;
}

void BatchProgress::redraw(bool force) {
  if (!live_) return;
  const double now = monotonic_seconds();
  if (!force && now - last_draw_s_ < 1.0) return;
  last_draw_s_ = now;
  std::string table;
  const std::string full = render();
  for (std::size_t start = 0; start < full.size();) {
    std::size_t end = full.find('\n', start);
    std::string line = full.substr(start, end - start);
    if (width_ > 1 && static_cast<int>(line.size()) >= width_) line.resize(width_ - 1);
    table += line + "\n";
    start = end + 1;
  }
  if (drawn_lines_ > 0) std::fprintf(out_, "\033[%dF\033[J", drawn_lines_);
  std::fputs(table.c_str(), out_);
  std::fflush(out_);
  drawn_lines_ = static_cast<int>(std::count(table.begin(), table.end(), '\n'));
}

}  // namespace rebench::batch
