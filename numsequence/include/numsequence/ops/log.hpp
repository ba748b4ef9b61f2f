#pragma once
/// @brief Leveled, structured logging: one line per call, as text, logfmt or JSON.
///
/// @code
/// log(log_level::info, "session ", id.redacted(), " created");      // message only
/// log(log_level::info, "session created", log_field("client", id.redacted()),
///     log_field("remote", endpoint));                               // message and fields
/// @endcode
/// Arguments that are log_field go to the line's fields, in order; all others are streamed
/// (operator<<) into the message. The three formats, for that second call:
/// @code
/// 2026-11-29T19:41:58.123Z info: session created client=123e4567 remote=127.0.0.1:5000
/// ts=2026-11-29T19:41:58.123Z level=info msg="session created" client=123e4567 remote=...
/// {"ts":"2026-11-29T19:41:58.123Z","level":"info","msg":"session created","client":"123e4567",...}
/// @endcode
/// Any byte may reach a message or a field (a peer's bytes end up there), and every line is
/// still one line of valid output, with no byte that drives a terminal: control bytes (C0,
/// DEL, C1) are escaped as in JSON (`\n`, `\u001b`) and invalid UTF-8 is replaced by U+FFFD.
/// JSON strings are written so; logfmt quotes a value that is empty, has a space, `=`, `"`,
/// `\`, a control byte or invalid UTF-8, and escapes it the same way (the escaping go-logfmt
/// writes and reads); the text format shows the message escaped so but unquoted, with `"`
/// and `\` left as they are, and field values as logfmt does.
///
/// Warnings and errors are rate limited per message text (the message without its fields):
/// by default at most 10 lines per message per second; the first line of a message let
/// through after drops carries `dropped=N`, and flush_dropped_log_lines() reports the drops
/// still pending (call it now and then, so that drops at the end of a flood are reported).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace numsequence {

enum class log_level { debug, info, warning, error, off };

/// @brief How lines are written: `text` (for people), `logfmt` or `json` (one object a line).
enum class log_format { text, logfmt, json };

/// @brief A context field of a log line: log(level, "message", log_field("key", value)).
///
/// Holds a reference to `value`: meant as an argument of log(), never to be kept. The value
/// is rendered only if the line is written. Integers are JSON numbers; everything else is
/// rendered as text (strings as they are, other types with operator<<). A key that is not
/// printable ASCII without `=` or `"` has those bytes replaced by `_`; the keys ts, level,
/// msg and dropped are the line's own, so a field with one of them gets `_` appended.
template <class T>
class log_field {
 public:
  log_field(std::string_view key, const T& value) noexcept : key_(key), value_(value) {}
  std::string_view key() const noexcept { return key_; }
  const T& value() const noexcept { return value_; }

 private:
  std::string_view key_;
  const T& value_;
};

namespace detail {

template <class T>
struct is_log_field : std::false_type {};
template <class T>
struct is_log_field<log_field<T>> : std::true_type {};

/// @brief A field rendered as text; `number`: the text is a decimal integer.
struct rendered_field {
  std::string_view key;
  std::string value;
  bool number = false;
};

template <class T>
inline constexpr bool is_char_v =
    std::is_same_v<T, char> || std::is_same_v<T, signed char> || std::is_same_v<T, unsigned char> ||
    std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> || std::is_same_v<T, char16_t> ||
    std::is_same_v<T, char32_t>;

template <class T>
void render_value(const T& value, rendered_field& out) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out.value = std::string_view(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    out.value = value ? "true" : "false";
  } else if constexpr (std::is_integral_v<T> && !is_char_v<T>) {
    out.value = std::to_string(value);
    out.number = true;
  } else {
    std::ostringstream text;
    text << value;
    out.value = std::move(text).str();
  }
}

template <class T>
void append_to_message(std::ostringstream& message, const T& arg) {
  if constexpr (!is_log_field<T>::value)
    message << arg;
}

template <class T>
void render_field(const T& arg, rendered_field*& next) {
  if constexpr (is_log_field<T>::value) {
    next->key = arg.key();
    render_value(arg.value(), *next);
    ++next;
  }
}

}  // namespace detail

/// @brief A destination for log lines with its own level, format, output and rate limit.
///
/// The free functions below (log(), set_log_level(), ...) use one process-wide logger;
/// a separate logger is for tests (a fake clock, a sink that keeps the lines).
///
/// Thread-safe: lines from several threads are handed to the sink one at a time, whole,
/// each as one call (the default sink writes each with one fwrite to stderr, unbuffered).
/// set_level() and set_format() may be called at any time; set_sink() too.
class logger {
 public:
  /// @brief Receives each line, `\n` included. Called with the logger's output lock held.
  using sink = std::function<void(std::string_view line)>;

  struct rate_limit {
    /// Lines of one message (warning or error) let through per window; 0 turns limiting off.
    std::uint32_t lines = 10;
    std::chrono::steady_clock::duration window = std::chrono::seconds(1);
    /// Messages tracked at once. Beyond it, idle ones are forgotten (their pending drops
    /// reported) once per window; while every one is busy, new messages share one limit.
    std::size_t max_keys = 1024;
  };

  struct options {
    log_level level = log_level::info;
    log_format format = log_format::text;
    sink output;  ///< empty: stderr
    /// Time stamps; empty: std::chrono::system_clock::now.
    std::function<std::chrono::system_clock::time_point()> wall_clock;
    /// The rate limit's windows; empty: std::chrono::steady_clock::now.
    std::function<std::chrono::steady_clock::time_point()> steady_clock;
    rate_limit limit;
  };

  logger();
  explicit logger(options o);
  ~logger();
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  void set_level(log_level level) noexcept { level_.store(level, std::memory_order_relaxed); }
  bool enabled(log_level level) const noexcept {
    return level != log_level::off && level >= level_.load(std::memory_order_relaxed);
  }
  void set_format(log_format format) noexcept { format_.store(format, std::memory_order_relaxed); }
  /// @brief Sends lines to `output` from now on; an empty function restores stderr.
  void set_sink(sink output);

  /// @brief Writes one line if `level` is enabled (and the rate limit lets it through).
  template <class... Args>
  void log(log_level level, const Args&... args) {
    if (!enabled(level))
      return;
    std::ostringstream message_text;
    (detail::append_to_message(message_text, args), ...);
    const std::string message = std::move(message_text).str();
    const auto dropped = admit(level, message);
    if (!dropped)
      return;
    constexpr std::size_t field_count =
        (std::size_t{0} + ... + (detail::is_log_field<Args>::value ? 1u : 0u));
    std::array<detail::rendered_field, field_count> fields;
    [[maybe_unused]] auto* next = fields.data();  // unused without fields
    (detail::render_field(args, next), ...);
    write(level, message, fields, *dropped);
  }

  /// @brief Writes one line per message with drops not yet reported (`dropped=N`), and
  /// forgets messages whose window has ended. @return the lines written.
  std::size_t flush_dropped();

 private:
  struct limiter;
  // nullopt: drop the line; otherwise how many lines of this message were dropped before it.
  std::optional<std::uint64_t> admit(log_level level, std::string_view message);
  void write(log_level level, std::string_view message,
             std::span<const detail::rendered_field> fields, std::uint64_t dropped);
  struct drop_report;
  std::size_t write_reports(const std::vector<drop_report>& reports);

  std::atomic<log_level> level_;
  std::atomic<log_format> format_;
  std::unique_ptr<limiter> limiter_;
  struct output;
  std::unique_ptr<output> output_;
  std::function<std::chrono::system_clock::time_point()> wall_clock_;
};

/// @brief The process-wide logger that log() writes to. Never destroyed (logging from
/// other static destructors stays safe).
logger& default_logger() noexcept;

void set_log_level(log_level level) noexcept;
bool log_enabled(log_level level) noexcept;
/// @brief "debug", "info", "warning", "error" or "off"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view text) noexcept;

void set_log_format(log_format format) noexcept;
/// @brief "text", "logfmt" or "json"; nullopt for anything else.
std::optional<log_format> parse_log_format(std::string_view text) noexcept;

/// @brief Sends the process's log lines to `output` (empty: stderr again).
void set_log_sink(logger::sink output);

/// @brief default_logger().flush_dropped(): reports pending drops of rate-limited lines.
std::size_t flush_dropped_log_lines();

/// @brief Logs the arguments as one line, if `level` is enabled: log_field arguments as
/// fields, the others streamed into the message.
template <class... Args>
void log(log_level level, const Args&... args) {
  if (!log_enabled(level))
    return;
  default_logger().log(level, args...);
}

}  // namespace numsequence
