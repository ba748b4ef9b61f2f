#pragma once
/// @brief Minimal leveled logging to stderr, one line per call.

#include <optional>
#include <sstream>
#include <string_view>

namespace numsequence {

enum class log_level { debug, info, warning, error, off };

void set_log_level(log_level level) noexcept;
bool log_enabled(log_level level) noexcept;
/// @brief "debug", "info", "warning", "error" or "off"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

namespace detail {
void write_log_line(log_level level, std::string_view text);
}

/// @brief Logs the streamed arguments as one line, if `level` is enabled.
template <class... Args>
void log(log_level level, const Args&... args) {
  if (!log_enabled(level))
    return;
  std::ostringstream line;
  (line << ... << args);
  detail::write_log_line(level, line.str());
}

}  // namespace numsequence
