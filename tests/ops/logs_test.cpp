// The real server's stderr in each --log-format, for a run with a session, bad requests and a
// stop: every line parses (JSON with nlohmann-json; logfmt pairs, quoted values decoded as the
// JSON strings they are; text by its time stamp and level), and the lines carry their context.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ops_support.hpp"

namespace numsequence::ops_test {
namespace {

const std::regex timestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
const std::regex level(R"(debug|info|warning|error)");

/// A logfmt line's pairs: key=bare or key="quoted", the quoted form decoded by nlohmann-json
/// as the JSON string it is (go-logfmt's escaping). Empty when the line is not logfmt.
std::vector<std::pair<std::string, std::string>> split_logfmt(std::string_view line) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t i = 0;
  while (i < line.size()) {
    const auto eq = line.find('=', i);
    if (eq == std::string_view::npos || eq == i)
      return {};
    std::string key(line.substr(i, eq - i));
    std::size_t end = eq + 1;
    std::string value;
    if (end < line.size() && line[end] == '"') {
      ++end;
      while (end < line.size() && line[end] != '"')
        end += line[end] == '\\' ? 2u : 1u;
      if (end >= line.size())
        return {};
      ++end;
      const auto decoded = nlohmann::json::parse(line.substr(eq + 1, end - eq - 1), nullptr, false);
      if (!decoded.is_string())
        return {};
      value = decoded.get<std::string>();
    } else {
      end = std::min(line.find(' ', end), line.size());
      value = std::string(line.substr(eq + 1, end - eq - 1));
    }
    if (key.find_first_of(" \"") != std::string::npos || (end < line.size() && line[end] != ' '))
      return {};
    pairs.emplace_back(std::move(key), std::move(value));
    i = end + 1;
  }
  return pairs;
}

/// The fields of one line as key/value text, whatever the format; fails the test when the
/// line does not parse.
std::vector<std::pair<std::string, std::string>> fields_of(std::string_view format,
                                                           const std::string& line) {
  CAPTURE(line);
  std::vector<std::pair<std::string, std::string>> fields;
  if (format == "json") {
    // ordered_json: the keys in the order written (ts, level, msg first).
    const auto j = nlohmann::ordered_json::parse(line, nullptr, false);
    REQUIRE(j.is_object());
    for (const auto& [key, value] : j.items())
      fields.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  } else if (format == "logfmt") {
    fields = split_logfmt(line);
    REQUIRE(!fields.empty());
  } else {
    // text: `<ts> <level>: <message> key=value...`; the message is free text.
    const auto space = line.find(' ');
    const auto colon = line.find(':', space);
    REQUIRE(space != std::string::npos);
    REQUIRE(colon != std::string::npos);
    REQUIRE((colon + 1 == line.size() || line[colon + 1] == ' '));
    fields = {{"ts", line.substr(0, space)},
              {"level", line.substr(space + 1, colon - space - 1)},
              {"msg", line.substr(std::min(colon + 2, line.size()))}};
  }
  REQUIRE(fields.size() >= 3);
  CHECK(fields[0].first == "ts");
  CHECK(std::regex_match(fields[0].second, timestamp));
  CHECK(fields[1].first == "level");
  CHECK(std::regex_match(fields[1].second, level));
  CHECK(fields[2].first == "msg");
  return fields;
}

std::string field(const std::vector<std::pair<std::string, std::string>>& fields,
                  std::string_view key) {
  for (const auto& [k, v] : fields) {
    if (k == key)
      return v;
  }
  return {};
}

}  // namespace

TEST_CASE("every stderr line of each --log-format parses, for a session, bad requests and a stop") {
  for (const std::string format : {"json", "logfmt", "text"}) {
    CAPTURE(format);
    ops_server s({"--log-format", format, "--log-level", "debug", "--session-timeout", "0"});
    const std::string id = numbered_id(1, 0x10f);
    {
      temp_dir dir;
      const auto r = run_client({"NEW", "10", s.port_text(), "--client_id", id}, dir.path());
      REQUIRE(r.exit_code() == 0);
    }
    auto bad = s.server().connect();
    REQUIRE(bad.send("HELLO,\x1b[31m;", reply_timeout));  // a control byte reaches the log
    CHECK(bad.read_until_closed(reply_timeout).starts_with("ERR,"));
    CHECK(s.get("/v1/fibonacci?n=-1").status == 400);
    http_client garbage(s.http_port());
    REQUIRE(garbage.send("NOT HTTP AT ALL\r\n\r\n"));
    const auto refused = garbage.read_response();
    REQUIRE(refused.has_value());
    CHECK(refused->status == 400);
    const auto status = s.server().stop();
    REQUIRE(status.has_value());
    CHECK(status->success());

    const auto lines = split_lines(s.process().stderr_text());
    REQUIRE(lines.size() >= 5);
    bool created = false;
    bool stopped = false;
    for (const auto& line : lines) {
      const auto fields = fields_of(format, line);
      if (format != "text" && fields[2].second == "session created") {
        created = true;
        CHECK(field(fields, "client") == id.substr(0, 8));
        CHECK(std::regex_match(field(fields, "session"), std::regex("[0-9a-f]{16}")));
        CHECK(field(fields, "remote").starts_with("127.0.0.1:"));
        CHECK(field(fields, "transport") == "tcp");
        CHECK(field(fields, "n") == "10");
      }
      if (format == "text" &&
          fields[2].second.starts_with("session created client=" + id.substr(0, 8) + " session="))
        created = true;
      stopped = stopped || fields[2].second == "stopped";
    }
    CHECK(created);
    CHECK(stopped);
    // The id is a session's only credential: never whole in the log.
    CHECK(s.process().stderr_text().find(id) == std::string::npos);
  }
}

}  // namespace numsequence::ops_test
