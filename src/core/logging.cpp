// spdlog setup and the progress display for long steps.
#include "rebench/logging.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "rebench/time_util.hpp"

namespace rebench {

void setup_logging(int verbosity) {
  auto logger = spdlog::stderr_color_mt("rebench");
  logger->set_pattern("%^[%H:%M:%S %l]%$ %v");
  logger->set_level(verbosity > 0   ? spdlog::level::debug
                    : verbosity < 0 ? spdlog::level::warn
                                    : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void add_log_file(const std::filesystem::path& file) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string());
  sink->set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [%l] %v");
  sink->set_level(spdlog::level::debug);
  auto logger = spdlog::default_logger();
  logger->sinks().push_back(sink);
  if (logger->level() > spdlog::level::debug) {
    // The file gets debug detail; stderr keeps the user's chosen level.
    for (auto& s : logger->sinks())
      if (s != sink) s->set_level(logger->level());
    logger->set_level(spdlog::level::debug);
  }
}

Progress::Progress(std::string label)
    : label_(std::move(label)), start_s_(monotonic_seconds()), live_(::isatty(STDERR_FILENO) == 1) {
  if (!live_) {
    spdlog::info("{} …", label_);
    return;
  }
  ticker_ = std::thread([this] {
    static const char* kFrames[] = {"|", "/", "-", "\\"};
    int frame = 0;
    while (running_) {
      std::fprintf(stderr, "\r%s %s %s ", kFrames[frame++ % 4], label_.c_str(),
                   format_duration(monotonic_seconds() - start_s_).c_str());
      std::fflush(stderr);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

void Progress::finish(const std::string& outcome) {
  if (finished_) return;
  finished_ = true;
  running_ = false;
  if (ticker_.joinable()) ticker_.join();
  if (live_) std::fprintf(stderr, "\r\033[K");
  spdlog::info("{}: {} ({})", label_, outcome, format_duration(monotonic_seconds() - start_s_));
}

Progress::~Progress() { finish(std::uncaught_exceptions() > 0 ? "failed" : "done"); }

}  // namespace rebench
