#include "numsequence/ops/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace numsequence {
namespace {

std::atomic<log_level> current_level{log_level::info};

std::string_view level_name(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
    case log_level::off:
      break;
  }
  return "off";
}

}  // namespace

void set_log_level(log_level level) noexcept {
  current_level.store(level);
}

bool log_enabled(log_level level) noexcept {
  return level != log_level::off && level >= current_level.load(std::memory_order_relaxed);
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (auto level :
       {log_level::debug, log_level::info, log_level::warning, log_level::error, log_level::off}) {
    if (text == level_name(level))
      return level;
  }
  return std::nullopt;
}

namespace detail {

void write_log_line(log_level level, std::string_view text) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  const std::size_t len = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string line;
  line.reserve(text.size() + 48);
  line.append(stamp, len);
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ ", static_cast<int>(millis));
  line += ms;
  line += level_name(level);
  line += ": ";
  line += text;
  line += '\n';
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace detail
}  // namespace numsequence
