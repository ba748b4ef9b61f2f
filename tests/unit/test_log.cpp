// Logging: the three formats byte for byte, hostile bytes, the rate limit on a fake clock,
// level filtering. Expected lines are written out by hand from the formats' rules (RFC 3339,
// logfmt as go-logfmt writes it, JSON); dates come from Python's datetime, and the JSON and
// logfmt lines are decoded with nlohmann-json, not with the code under test.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "numsequence/ops/log.hpp"

using namespace numsequence;
using namespace std::chrono_literals;

namespace {

// datetime(2026, 11, 29, 19, 41, 58, 123000, tzinfo=timezone.utc).timestamp() * 1000
constexpr std::int64_t fixed_ms = 1795981318123;

std::chrono::system_clock::time_point at_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

/// A logger on fixed clocks that keeps its lines; `now` moves the rate limit's clock.
struct captured_log {
  std::vector<std::string> lines;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  std::int64_t wall_ms = fixed_ms;
  logger log;

  explicit captured_log(log_format format = log_format::text, log_level level = log_level::debug,
                        logger::rate_limit limit = {})
      : log(make_options(format, level, limit)) {}

  logger::options make_options(log_format format, log_level level, logger::rate_limit limit) {
    logger::options o;
    o.level = level;
    o.format = format;
    o.output = [this](std::string_view line) { lines.emplace_back(line); };
    o.wall_clock = [this] { return at_ms(wall_ms); };
    o.steady_clock = [this] { return now; };
    o.limit = limit;
    return o;
  }
};

/// Every byte 0-255 once.
std::string all_bytes() {
  std::string s;
  for (int b = 0; b < 256; ++b)
    s += static_cast<char>(b);
  return s;
}

/// What a JSON decoder gives for all_bytes() with invalid UTF-8 replaced: in Python,
/// bytes(range(256)).decode('utf-8', 'replace') is chr(0) ... chr(127), then 128 U+FFFD
/// (every byte from 0x80 on is invalid where it stands).
std::string all_bytes_decoded() {
  std::string s;
  for (int b = 0; b < 128; ++b)
    s += static_cast<char>(b);
  for (int i = 0; i < 128; ++i)
    s += "\xef\xbf\xbd";
  return s;
}

/// Splits a logfmt line into its pairs: key=bare or key="quoted", the quoted form decoded
/// as the JSON string it is (go-logfmt's escaping) by nlohmann-json.
std::vector<std::pair<std::string, std::string>> split_logfmt(std::string_view line) {
  REQUIRE(line.ends_with('\n'));
  line.remove_suffix(1);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t i = 0;
  while (i < line.size()) {
    const auto eq = line.find('=', i);
    REQUIRE(eq != std::string_view::npos);
    std::string key(line.substr(i, eq - i));
    std::size_t end = eq + 1;
    std::string value;
    if (end < line.size() && line[end] == '"') {
      ++end;
      while (end < line.size() && line[end] != '"')
        end += line[end] == '\\' ? 2u : 1u;
      REQUIRE(end < line.size());
      ++end;
      value = nlohmann::json::parse(line.substr(eq + 1, end - eq - 1)).get<std::string>();
    } else {
      end = std::min(line.find(' ', end), line.size());
      value = std::string(line.substr(eq + 1, end - eq - 1));
    }
    pairs.emplace_back(std::move(key), std::move(value));
    REQUIRE((end == line.size() || line[end] == ' '));
    i = end + 1;
  }
  return pairs;
}

/// Counts how often it is rendered.
struct counting {
  int* renders;
  friend std::ostream& operator<<(std::ostream& os, const counting& c) {
    ++*c.renders;
    return os << "x";
  }
};

struct streamable {
  int x;
  friend std::ostream& operator<<(std::ostream& os, const streamable& s) {
    return os << "<" << s.x << ">";
  }
};

}  // namespace

TEST_CASE("log: one line in each format for a fixed clock and fields, byte for byte") {
  struct row {
    log_format format;
    std::string expected;
  };
  const std::vector<row> rows = {
      {log_format::text,
       "2026-11-29T19:41:58.123Z info: session created client=123e4567 remote=127.0.0.1:5000 "
       "n=42 note=\"two words\"\n"},
      {log_format::logfmt,
       "ts=2026-11-29T19:41:58.123Z level=info msg=\"session created\" client=123e4567 "
       "remote=127.0.0.1:5000 n=42 note=\"two words\"\n"},
      {log_format::json,
       "{\"ts\":\"2026-11-29T19:41:58.123Z\",\"level\":\"info\",\"msg\":\"session created\","
       "\"client\":\"123e4567\",\"remote\":\"127.0.0.1:5000\",\"n\":42,\"note\":\"two words\"}\n"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.expected);
    captured_log c(r.format);
    const std::string client = "123e4567";
    c.log.log(log_level::info, "session created", log_field("client", client),
              log_field("remote", "127.0.0.1:5000"), log_field("n", 42),
              log_field("note", std::string_view("two words")));
    REQUIRE(c.lines.size() == 1);
    CHECK(c.lines[0] == r.expected);
  }
}

TEST_CASE("log: each level is named in each format") {
  const std::vector<std::pair<log_level, std::string>> rows = {{log_level::debug, "debug"},
                                                               {log_level::info, "info"},
                                                               {log_level::warning, "warning"},
                                                               {log_level::error, "error"}};
  for (const auto& [level, name] : rows) {
    captured_log text(log_format::text), logfmt(log_format::logfmt), json(log_format::json);
    text.log.log(level, "m");
    logfmt.log.log(level, "m");
    json.log.log(level, "m");
    CHECK(text.lines.at(0) == "2026-11-29T19:41:58.123Z " + name + ": m\n");
    CHECK(logfmt.lines.at(0) == "ts=2026-11-29T19:41:58.123Z level=" + name + " msg=m\n");
    CHECK(json.lines.at(0) ==
          "{\"ts\":\"2026-11-29T19:41:58.123Z\",\"level\":\"" + name + "\",\"msg\":\"m\"}\n");
  }
}

TEST_CASE("log: the time stamp is RFC 3339 in UTC with milliseconds") {
  // Milliseconds since the epoch and their datetime.isoformat() in UTC, from Python.
  const std::vector<std::pair<std::int64_t, std::string>> rows = {
      {0, "1970-01-01T00:00:00.000Z"},
      {fixed_ms, "2026-11-29T19:41:58.123Z"},
      {1709251199999, "2024-02-29T23:59:59.999Z"},
      {-995, "1969-12-31T23:59:59.005Z"},
  };
  for (const auto& [ms, stamp] : rows) {
    captured_log c;
    c.wall_ms = ms;
    c.log.log(log_level::info, "x");
    CHECK(c.lines.at(0) == stamp + " info: x\n");
  }
}

TEST_CASE("log: arguments that are not fields are streamed into the message as before") {
  captured_log c;
  const streamable s{7};
  c.log.log(log_level::info, "session ", 42, ' ', s, " created", log_field("k", "v"), " and more");
  CHECK(c.lines.at(0) == "2026-11-29T19:41:58.123Z info: session 42 <7> created and more k=v\n");
}

TEST_CASE("log: field values are rendered by type, integers as JSON numbers") {
  captured_log c(log_format::json);
  const streamable s{7};
  c.log.log(log_level::info, "", log_field("i", -5),
            log_field("u", std::uint64_t{18446744073709551615u}), log_field("b", true),
            log_field("c", 'x'), log_field("d", 1.5), log_field("s", s),
            log_field("e", std::string()));
  CHECK(c.lines.at(0) ==
        "{\"ts\":\"2026-11-29T19:41:58.123Z\",\"level\":\"info\",\"msg\":\"\",\"i\":-5,"
        "\"u\":18446744073709551615,\"b\":\"true\",\"c\":\"x\",\"d\":\"1.5\",\"s\":\"<7>\","
        "\"e\":\"\"}\n");
}

TEST_CASE("log: an empty message and empty values stay visible in logfmt") {
  captured_log c(log_format::logfmt);
  c.log.log(log_level::info, log_field("e", ""));
  CHECK(c.lines.at(0) == "ts=2026-11-29T19:41:58.123Z level=info msg=\"\" e=\"\"\n");
}

TEST_CASE("log: field keys that are reserved or not printable are renamed") {
  captured_log c(log_format::logfmt);
  c.log.log(log_level::info, "m", log_field("msg", 1), log_field("ts", 2), log_field("level", 3),
            log_field("dropped", 4), log_field("a b", 5), log_field("k=\"v\"", 6), log_field("", 7),
            log_field("caf\xc3\xa9", 8));
  CHECK(c.lines.at(0) ==
        "ts=2026-11-29T19:41:58.123Z level=info msg=m msg_=1 ts_=2 level_=3 dropped_=4 a_b=5 "
        "k__v_=6 _=7 caf__=8\n");
}

TEST_CASE("log: every byte in a message and a field gives one valid JSON line") {
  captured_log c(log_format::json);
  const std::string bytes = all_bytes();
  c.log.log(log_level::warning, bytes, log_field("peer", bytes));
  REQUIRE(c.lines.size() == 1);
  const std::string& line = c.lines[0];
  CHECK(line.find('\n') == line.size() - 1);   // the only newline ends the line
  const auto j = nlohmann::json::parse(line);  // throws on invalid JSON or UTF-8
  CHECK(j.at("msg").get<std::string>() == all_bytes_decoded());
  CHECK(j.at("peer").get<std::string>() == all_bytes_decoded());
  CHECK(j.at("level") == "warning");
}

TEST_CASE("log: every byte in a message and a field gives one logfmt line of the expected pairs") {
  captured_log c(log_format::logfmt);
  const std::string bytes = all_bytes();
  c.log.log(log_level::warning, bytes, log_field("peer", bytes), log_field("after", "ok"));
  REQUIRE(c.lines.size() == 1);
  const std::string& line = c.lines[0];
  CHECK(line.find('\n') == line.size() - 1);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"ts", "2026-11-29T19:41:58.123Z"},
      {"level", "warning"},
      {"msg", all_bytes_decoded()},
      {"peer", all_bytes_decoded()},
      {"after", "ok"}};
  CHECK(split_logfmt(line) == expected);
}

TEST_CASE("log: logfmt quotes a value with a space, =, quote, backslash, control or bad byte") {
  struct row {
    std::string value;
    std::string written;
    std::string decoded;  // what a logfmt decoder reads back
  };
  const std::vector<row> rows = {
      {"plain", "plain", "plain"},
      {"caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9"},  // valid UTF-8 goes bare
      {"a b", "\"a b\"", "a b"},
      {"a=b", "\"a=b\"", "a=b"},
      {"say \"hi\"", "\"say \\\"hi\\\"\"", "say \"hi\""},
      {"C:\\dir", "\"C:\\\\dir\"", "C:\\dir"},
      {"tab\there", "\"tab\\there\"", "tab\there"},
      {"line\nbreak", "\"line\\nbreak\"", "line\nbreak"},
      {std::string("nul\0x", 5), "\"nul\\u0000x\"", std::string("nul\0x", 5)},
      {"del\x7f", "\"del\\u007f\"", "del\x7f"},
      {"c1\xc2\x9b", "\"c1\\u009b\"", "c1\xc2\x9b"},
      // Python: b'\xff' and b'\xf0\x9f\x98' both decode ('replace') to one U+FFFD.
      {"\xff", "\"\xef\xbf\xbd\"", "\xef\xbf\xbd"},
      {"cut\xf0\x9f\x98", "\"cut\xef\xbf\xbd\"", "cut\xef\xbf\xbd"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.written);
    captured_log c(log_format::logfmt);
    c.log.log(log_level::info, "m", log_field("v", r.value));
    CHECK(c.lines.at(0) == "ts=2026-11-29T19:41:58.123Z level=info msg=m v=" + r.written + "\n");
    CHECK(split_logfmt(c.lines[0]).back().second == r.decoded);
  }
}

TEST_CASE("log: the text format escapes control bytes and replaces invalid UTF-8") {
  captured_log c(log_format::text);
  c.log.log(log_level::warning, all_bytes());
  // From Python: json.dumps(bytes(range(256)).decode('utf-8', 'replace'),
  // ensure_ascii=False)[1:-1] with the escaped quote and backslash unescaped and DEL written
  // \u007f: the ASCII part, then 128 U+FFFD.
  std::string expected =
      "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u"
      "000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b"
      "\\u001c\\u001d\\u001e\\u001f !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
      "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\\u007f";
  for (int i = 0; i < 128; ++i)
    expected += "\xef\xbf\xbd";
  CHECK(c.lines.at(0) == "2026-11-29T19:41:58.123Z warning: " + expected + "\n");
}

TEST_CASE("log: the text format keeps UTF-8, quotes and backslashes, and escapes controls") {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"session 123e4567\xe2\x80\xa6 continued", "session 123e4567\xe2\x80\xa6 continued"},
      {"say \"hi\" C:\\dir", "say \"hi\" C:\\dir"},
      {"red \x1b[31m bell \x07", "red \\u001b[31m bell \\u0007"},
      {"two\nlines\r\n", "two\\nlines\\r\\n"},
      {"c1 \xc2\x9b", "c1 \\u009b"},
      {"bad \xff\xfe", "bad \xef\xbf\xbd\xef\xbf\xbd"},
  };
  for (const auto& row : rows) {
    const auto& [message, shown] = row;
    CAPTURE(row.second);
    captured_log c(log_format::text);
    c.log.log(log_level::info, message);
    CHECK(c.lines.at(0) == "2026-11-29T19:41:58.123Z info: " + shown + "\n");
  }
}

TEST_CASE("log: valid UTF-8 passes through logfmt and json unchanged") {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // café € U+1F600
  captured_log logfmt(log_format::logfmt), json(log_format::json);
  logfmt.log.log(log_level::info, text, log_field("v", text));
  json.log.log(log_level::info, text, log_field("v", text));
  CHECK(logfmt.lines.at(0) ==
        "ts=2026-11-29T19:41:58.123Z level=info msg=\"" + text + "\" v=\"" + text + "\"\n");
  CHECK(json.lines.at(0) == "{\"ts\":\"2026-11-29T19:41:58.123Z\",\"level\":\"info\",\"msg\":\"" +
                                text + "\",\"v\":\"" + text + "\"}\n");
  // Without a space it needs no quotes in logfmt.
  logfmt.log.log(log_level::info, "m", log_field("v", "\xe2\x82\xac"));
  CHECK(logfmt.lines.at(1) == "ts=2026-11-29T19:41:58.123Z level=info msg=m v=\xe2\x82\xac\n");
}

TEST_CASE("log: lines below the level are not written, and off writes nothing") {
  captured_log c(log_format::text, log_level::warning);
  c.log.log(log_level::debug, "d");
  c.log.log(log_level::info, "i");
  c.log.log(log_level::warning, "w");
  c.log.log(log_level::error, "e");
  c.log.log(log_level::off, "o");  // off is not a level to log at
  CHECK(c.lines == std::vector<std::string>{"2026-11-29T19:41:58.123Z warning: w\n",
                                            "2026-11-29T19:41:58.123Z error: e\n"});
  c.log.set_level(log_level::off);
  c.log.log(log_level::error, "e");
  CHECK(c.lines.size() == 2);
  CHECK_FALSE(c.log.enabled(log_level::error));
}

TEST_CASE("log: a field's value is not rendered when the line is below the level") {
  int renders = 0;
  captured_log c(log_format::text, log_level::info);
  c.log.log(log_level::debug, "m", log_field("v", counting{&renders}));
  CHECK(renders == 0);
  c.log.log(log_level::info, "m", log_field("v", counting{&renders}));
  CHECK(renders == 1);
}

TEST_CASE("log: level and format names parse, and nothing else does") {
  CHECK(parse_log_level("debug") == log_level::debug);
  CHECK(parse_log_level("info") == log_level::info);
  CHECK(parse_log_level("warning") == log_level::warning);
  CHECK(parse_log_level("error") == log_level::error);
  CHECK(parse_log_level("off") == log_level::off);
  CHECK(parse_log_format("text") == log_format::text);
  CHECK(parse_log_format("logfmt") == log_format::logfmt);
  CHECK(parse_log_format("json") == log_format::json);
  for (const std::string_view bad : {"", "JSON", "json ", "warn", "Text", "logfmt\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_log_format(bad));
    CHECK_FALSE(parse_log_level(bad));
  }
}

TEST_CASE("log: a flood of one warning passes 10 lines a second and reports the drops") {
  captured_log c;
  for (int i = 0; i < 1000; ++i)
    c.log.log(log_level::warning, "flood ", "of one", log_field("i", i));
  REQUIRE(c.lines.size() == 10);
  CHECK(c.lines.front() == "2026-11-29T19:41:58.123Z warning: flood of one i=0\n");
  CHECK(c.lines.back() == "2026-11-29T19:41:58.123Z warning: flood of one i=9\n");
  c.now += 999ms;  // the same window
  c.log.log(log_level::warning, "flood of one", log_field("i", 1000));
  CHECK(c.lines.size() == 10);
  c.now += 1ms;  // a new window: the first line through reports the 991 dropped
  c.log.log(log_level::warning, "flood of one", log_field("i", 1001));
  REQUIRE(c.lines.size() == 11);
  CHECK(c.lines.back() == "2026-11-29T19:41:58.123Z warning: flood of one i=1001 dropped=991\n");
  c.log.log(log_level::warning, "flood of one", log_field("i", 1002));
  CHECK(c.lines.back() == "2026-11-29T19:41:58.123Z warning: flood of one i=1002\n");
}

TEST_CASE("log: the drops are reported in logfmt and json too") {
  for (const auto format : {log_format::logfmt, log_format::json}) {
    captured_log c(format, log_level::debug, {2, 1s, 16});
    for (int i = 0; i < 5; ++i)
      c.log.log(log_level::error, "e");
    c.now += 1s;
    c.log.log(log_level::error, "e");
    REQUIRE(c.lines.size() == 3);
    if (format == log_format::logfmt) {
      CHECK(c.lines[2] == "ts=2026-11-29T19:41:58.123Z level=error msg=e dropped=3\n");
    } else {
      CHECK(c.lines[2] ==
            "{\"ts\":\"2026-11-29T19:41:58.123Z\",\"level\":\"error\",\"msg\":\"e\",\"dropped\":3}"
            "\n");
    }
  }
}

TEST_CASE("log: info and debug lines are never rate limited") {
  captured_log c;
  for (int i = 0; i < 100; ++i) {
    c.log.log(log_level::info, "same");
    c.log.log(log_level::debug, "same");
  }
  CHECK(c.lines.size() == 200);
}

TEST_CASE("log: each message text has its own limit, whatever its fields") {
  captured_log c(log_format::text, log_level::debug, {3, 1s, 16});
  for (int i = 0; i < 10; ++i) {
    c.log.log(log_level::warning, "a", log_field("i", i));
    c.log.log(log_level::warning, "b", log_field("i", i));
  }
  CHECK(c.lines.size() == 6);
}

TEST_CASE("log: a rate limit of 0 lines turns limiting off") {
  captured_log c(log_format::text, log_level::debug, {0, 1s, 16});
  for (int i = 0; i < 100; ++i)
    c.log.log(log_level::warning, "w");
  CHECK(c.lines.size() == 100);
}

TEST_CASE("log: flush_dropped reports the pending drops once, then nothing") {
  captured_log c(log_format::text, log_level::debug, {1, 1s, 16});
  for (int i = 0; i < 4; ++i) {
    c.log.log(log_level::warning, "w");
    c.log.log(log_level::error, "e");
  }
  c.log.log(log_level::warning, "quiet");
  REQUIRE(c.lines.size() == 3);
  CHECK(c.log.flush_dropped() == 2);
  REQUIRE(c.lines.size() == 5);
  // One line per message, in no particular order.
  std::vector<std::string> reports(c.lines.begin() + 3, c.lines.end());
  std::sort(reports.begin(), reports.end());
  CHECK(reports == std::vector<std::string>{"2026-11-29T19:41:58.123Z error: e dropped=3\n",
                                            "2026-11-29T19:41:58.123Z warning: w dropped=3\n"});
  CHECK(c.log.flush_dropped() == 0);
  // Reported drops are not reported again by the next line through.
  c.now += 1s;
  c.log.log(log_level::warning, "w");
  CHECK(c.lines.back() == "2026-11-29T19:41:58.123Z warning: w\n");
}

TEST_CASE("log: with the message table full, busy messages make new ones share one limit") {
  captured_log c(log_format::text, log_level::debug, {2, 1s, 2});
  c.log.log(log_level::warning, "a");
  c.log.log(log_level::warning, "b");
  // The table holds a and b, both in their window: c, d and e share the overflow's 2 lines.
  c.log.log(log_level::warning, "c");
  c.log.log(log_level::warning, "d");
  c.log.log(log_level::warning, "e");
  CHECK(c.lines.size() == 4);
  CHECK(c.lines.back() == "2026-11-29T19:41:58.123Z warning: d\n");
  CHECK(c.log.flush_dropped() == 1);
  CHECK(c.lines.back() ==
        "2026-11-29T19:41:58.123Z warning: log lines dropped by the rate limit (too many distinct "
        "messages at once) dropped=1\n");
}

TEST_CASE(
    "log: with the message table full, idle messages are forgotten and their drops reported") {
  captured_log c(log_format::text, log_level::debug, {1, 1s, 2});
  c.log.log(log_level::warning, "a");
  c.log.log(log_level::warning, "a");  // dropped
  c.log.log(log_level::warning, "b");
  c.now += 1s;  // a and b idle: the next new message makes room and a's drop is reported
  c.log.log(log_level::warning, "c");
  REQUIRE(c.lines.size() == 4);
  CHECK(c.lines[2] == "2026-11-29T19:41:58.123Z warning: a dropped=1\n");
  CHECK(c.lines[3] == "2026-11-29T19:41:58.123Z warning: c\n");
}

TEST_CASE("log: lines from several threads reach the sink whole, one call each") {
  captured_log c(log_format::logfmt, log_level::debug, {0, 1s, 16});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 500; ++i)
        c.log.log(log_level::info, "from thread", log_field("t", t), log_field("i", i));
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(c.lines.size() == 2000);
  std::map<std::string, int> next_i;
  for (const auto& line : c.lines) {
    const auto pairs = split_logfmt(line);
    REQUIRE(pairs.size() == 5);
    CHECK(pairs[2].second == "from thread");
    // Each thread's lines arrive whole and in its order.
    CHECK(std::stoi(pairs[4].second) == next_i[pairs[3].second]++);
  }
}

TEST_CASE("log: the process logger writes to a sink it is given, in the format set") {
  std::vector<std::string> lines;
  set_log_sink([&lines](std::string_view line) { lines.emplace_back(line); });
  set_log_level(log_level::info);
  set_log_format(log_format::json);
  log(log_level::info, "session ", 12, " created", log_field("client", "123e4567"));
  log(log_level::debug, "not shown");
  set_log_format(log_format::text);
  set_log_sink({});
  REQUIRE(lines.size() == 1);
  const auto j = nlohmann::json::parse(lines[0]);
  CHECK(j.at("msg") == "session 12 created");
  CHECK(j.at("client") == "123e4567");
  CHECK(j.at("ts").get<std::string>().size() == 24);
}
