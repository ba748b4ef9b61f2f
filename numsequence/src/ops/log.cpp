#include "numsequence/ops/log.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

namespace numsequence {
namespace {

using steady_time = std::chrono::steady_clock::time_point;

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

std::string_view format_name(log_format format) noexcept {
  switch (format) {
    case log_format::text:
      return "text";
    case log_format::logfmt:
      return "logfmt";
    case log_format::json:
      return "json";
  }
  return "text";
}

/// RFC 3339, UTC, milliseconds: 2026-11-29T19:41:58.123Z.
std::string format_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss time{ms - day};
  char stamp[40];
  const int len = std::snprintf(
      stamp, sizeof stamp, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
      static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  return {stamp, static_cast<std::size_t>(len)};
}

bool is_printable_ascii(char c) noexcept {
  return c > ' ' && c < '\x7f';
}

/// A JSON string literal, quotes included. nlohmann's serializer escapes `"`, `\` and the
/// control bytes, and replaces invalid UTF-8 by U+FFFD: any input gives valid JSON. DEL and
/// the C1 controls (U+0080-U+009F), which JSON lets through, are escaped as well, so that
/// no byte of a line can drive a terminal.
void append_json_string(std::string& out, std::string_view text) {
  const std::string dumped =
      nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  constexpr std::string_view digits = "0123456789abcdef";
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    const auto byte = static_cast<unsigned char>(dumped[i]);
    // The text is valid UTF-8 now: 0xc2 is a lead byte, and 0xc2 0x80-0x9f is U+0080-U+009F.
    const bool c1 = byte == 0xc2 && i + 1 < dumped.size() &&
                    (static_cast<unsigned char>(dumped[i + 1]) & 0xe0) == 0x80;
    if (byte == 0x7f || c1) {
      const auto code = c1 ? static_cast<unsigned char>(dumped[++i]) : byte;
      out += "\\u00";
      out += digits[code >> 4];
      out += digits[code & 0xf];
    } else {
      out += dumped[i];
    }
  }
}

/// The text format is for people: the message as a JSON string would carry it (control
/// bytes escaped, invalid UTF-8 replaced) but without the quotes, and with `"` and `\` as
/// they are.
void append_text_message(std::string& out, std::string_view message) {
  const bool plain = std::all_of(message.begin(), message.end(),
                                 [](char c) { return is_printable_ascii(c) || c == ' '; });
  if (plain) {
    out += message;
    return;
  }
  std::string escaped;
  append_json_string(escaped, message);
  for (std::size_t i = 1; i + 1 < escaped.size(); ++i) {
    if (escaped[i] == '\\' && (escaped[i + 1] == '"' || escaped[i + 1] == '\\'))
      ++i;
    out += escaped[i];
  }
}

/// logfmt (as go-logfmt writes it): a value goes bare unless it is empty, has a space, `=`,
/// `"`, `\`, a control byte or invalid UTF-8; then it is quoted and escaped as a JSON string,
/// which is the escaping logfmt decoders undo.
void append_logfmt_value(std::string& out, std::string_view value) {
  const bool ascii_bare = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return is_printable_ascii(c) && c != '=' && c != '"' && c != '\\';
  });
  if (ascii_bare) {
    out += value;
    return;
  }
  std::string quoted;
  append_json_string(quoted, value);
  // Non-ASCII text that needed no escape and no replacement is valid UTF-8: bare too.
  const bool bare = !value.empty() && value.find_first_of(" =") == std::string_view::npos &&
                    std::string_view(quoted).substr(1, quoted.size() - 2) == value;
  out += bare ? std::string_view(value) : std::string_view(quoted);
}

/// A key every format can carry bare: printable ASCII without `=` and `"`, and not one of
/// the line's own keys.
std::string field_key(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  for (const char c : key)
    out += is_printable_ascii(c) && c != '=' && c != '"' ? c : '_';
  if (out.empty() || out == "ts" || out == "level" || out == "msg" || out == "dropped")
    out += '_';
  return out;
}

struct line_parts {
  std::string_view stamp;
  log_level level;
  std::string_view message;
  std::span<const detail::rendered_field> fields;
  std::uint64_t dropped;
};

void append_logfmt_fields(std::string& line, const line_parts& p) {
  for (const auto& f : p.fields) {
    line += ' ';
    line += field_key(f.key);
    line += '=';
    append_logfmt_value(line, f.value);
  }
  if (p.dropped != 0) {
    line += " dropped=";
    line += std::to_string(p.dropped);
  }
}

std::string format_text(const line_parts& p) {
  std::string line(p.stamp);
  line += ' ';
  line += level_name(p.level);
  line += ':';
  if (!p.message.empty()) {
    line += ' ';
    append_text_message(line, p.message);
  }
  append_logfmt_fields(line, p);
  line += '\n';
  return line;
}

std::string format_logfmt(const line_parts& p) {
  std::string line = "ts=";
  line += p.stamp;
  line += " level=";
  line += level_name(p.level);
  line += " msg=";
  append_logfmt_value(line, p.message);
  append_logfmt_fields(line, p);
  line += '\n';
  return line;
}

std::string format_json(const line_parts& p) {
  std::string line = "{\"ts\":";
  append_json_string(line, p.stamp);
  line += ",\"level\":";
  append_json_string(line, level_name(p.level));
  line += ",\"msg\":";
  append_json_string(line, p.message);
  for (const auto& f : p.fields) {
    line += ',';
    append_json_string(line, field_key(f.key));
    line += ':';
    if (f.number) {
      line += f.value;  // rendered from an integer: a valid JSON number
    } else {
      append_json_string(line, f.value);
    }
  }
  if (p.dropped != 0) {
    line += ",\"dropped\":";
    line += std::to_string(p.dropped);
  }
  line += "}\n";
  return line;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

constexpr std::string_view overflow_message =
    "log lines dropped by the rate limit (too many distinct messages at once)";

}  // namespace

struct logger::drop_report {
  log_level level;
  std::string message;
  std::uint64_t dropped;
};

/// Per message: a fixed window that lets `limit.lines` lines through, counting the rest.
struct logger::limiter {
  struct window {
    steady_time start{};
    std::uint32_t passed = 0;
    std::uint64_t dropped = 0;
    log_level level = log_level::warning;
  };

  rate_limit limit;
  std::function<steady_time()> clock;
  std::mutex mutex;
  std::unordered_map<std::string, window, string_hash, std::equal_to<>> windows;  // mutex held
  window overflow;  // shared by new messages while `windows` is full of busy ones
  std::optional<steady_time> last_sweep;

  steady_time now() const { return clock ? clock() : std::chrono::steady_clock::now(); }

  window& window_for(std::string_view message, steady_time t, std::vector<drop_report>& reports) {
    if (const auto it = windows.find(message); it != windows.end())
      return it->second;
    if (windows.size() >= limit.max_keys)
      sweep(t, false, reports);
    if (windows.size() >= limit.max_keys)
      return overflow;
    window& w = windows[std::string(message)];
    w.start = t;
    return w;
  }

  /// Mutex held. nullopt: drop; else the drops of this message to report with it.
  std::optional<std::uint64_t> admit(log_level level, std::string_view message,
                                     std::vector<drop_report>& reports) {
    const steady_time t = now();
    window& w = window_for(message, t, reports);
    w.level = level;
    if (t - w.start >= limit.window) {
      w.start = t;
      w.passed = 0;
    }
    if (w.passed >= limit.lines) {
      ++w.dropped;
      return std::nullopt;
    }
    ++w.passed;
    // The overflow's drops are other messages' lines: they get a line of their own.
    return &w == &overflow ? 0 : std::exchange(w.dropped, 0);
  }

  /// Mutex held. Forgets the messages whose window has ended, reporting their drops;
  /// `all` reports every pending drop. Without `all`, at most once per window: it walks
  /// the whole table.
  void sweep(steady_time t, bool all, std::vector<drop_report>& reports) {
    if (!all && last_sweep && t - *last_sweep < limit.window)
      return;
    last_sweep = t;
    for (auto it = windows.begin(); it != windows.end();) {
      window& w = it->second;
      const bool idle = t - w.start >= limit.window;
      if (w.dropped != 0 && (idle || all))
        reports.push_back({w.level, it->first, std::exchange(w.dropped, 0)});
      it = idle ? windows.erase(it) : std::next(it);
    }
    if (overflow.dropped != 0) {
      reports.push_back(
          {log_level::warning, std::string(overflow_message), std::exchange(overflow.dropped, 0)});
    }
  }
};

struct logger::output {
  std::mutex mutex;
  sink write;  // mutex held

  void emit(std::string_view line) {
    std::lock_guard lock(mutex);
    if (write) {
      write(line);
    } else {
      // stderr is unbuffered: one fwrite is one write(2) of the whole line.
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }
};

logger::logger(options o)
    : level_(o.level),
      format_(o.format),
      limiter_(std::make_unique<limiter>()),
      output_(std::make_unique<output>()),
      wall_clock_(std::move(o.wall_clock)) {
  limiter_->limit = o.limit;
  limiter_->clock = std::move(o.steady_clock);
  output_->write = std::move(o.output);
}

logger::logger() : logger(options{}) {}

logger::~logger() = default;

void logger::set_sink(sink output_sink) {
  std::lock_guard lock(output_->mutex);
  output_->write = std::move(output_sink);
}

std::optional<std::uint64_t> logger::admit(log_level level, std::string_view message) {
  if (level < log_level::warning || limiter_->limit.lines == 0)
    return 0;
  std::vector<drop_report> reports;
  std::optional<std::uint64_t> dropped;
  {
    std::lock_guard lock(limiter_->mutex);
    dropped = limiter_->admit(level, message, reports);
  }
  write_reports(reports);
  return dropped;
}

void logger::write(log_level level, std::string_view message,
                   std::span<const detail::rendered_field> fields, std::uint64_t dropped) {
  const std::string stamp =
      format_timestamp(wall_clock_ ? wall_clock_() : std::chrono::system_clock::now());
  const line_parts parts{stamp, level, message, fields, dropped};
  switch (format_.load(std::memory_order_relaxed)) {
    case log_format::text:
      output_->emit(format_text(parts));
      return;
    case log_format::logfmt:
      output_->emit(format_logfmt(parts));
      return;
    case log_format::json:
      output_->emit(format_json(parts));
      return;
  }
}

std::size_t logger::write_reports(const std::vector<drop_report>& reports) {
  std::size_t written = 0;
  for (const auto& r : reports) {
    if (enabled(r.level)) {
      write(r.level, r.message, {}, r.dropped);
      ++written;
    }
  }
  return written;
}

std::size_t logger::flush_dropped() {
  std::vector<drop_report> reports;
  {
    std::lock_guard lock(limiter_->mutex);
    limiter_->sweep(limiter_->now(), true, reports);
  }
  return write_reports(reports);
}

logger& default_logger() noexcept {
  // Never destroyed: a static destructor elsewhere may still log.
  static logger* const instance = new logger();
  return *instance;
}

void set_log_level(log_level level) noexcept {
  default_logger().set_level(level);
}

bool log_enabled(log_level level) noexcept {
  return default_logger().enabled(level);
}

std::optional<log_level> parse_log_level(std::string_view text) noexcept {
  for (auto level :
       {log_level::debug, log_level::info, log_level::warning, log_level::error, log_level::off}) {
    if (text == level_name(level))
      return level;
  }
  return std::nullopt;
}

void set_log_format(log_format format) noexcept {
  default_logger().set_format(format);
}

std::optional<log_format> parse_log_format(std::string_view text) noexcept {
  for (auto format : {log_format::text, log_format::logfmt, log_format::json}) {
    if (text == format_name(format))
      return format;
  }
  return std::nullopt;
}

void set_log_sink(logger::sink output) {
  default_logger().set_sink(std::move(output));
}

std::size_t flush_dropped_log_lines() {
  return default_logger().flush_dropped();
}

}  // namespace numsequence
