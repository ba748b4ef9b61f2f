// Normal mode (no TEST_MODE): uint32 numbers from a per-session seed, reproducible with
// --fixed-seed, and a FAC that matches what the client computes.

#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "json_fields.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

/// @brief The numbers of a `NUM,a:b:...;` reply; fails the test on anything else.
std::vector<std::uint32_t> parse_num(const std::string& reply) {
  REQUIRE_MESSAGE(reply.starts_with("NUM,"), reply);
  REQUIRE(reply.ends_with(";"));
  std::vector<std::uint32_t> out;
  std::string_view body(reply);
  body = body.substr(4, body.size() - 5);
  while (!body.empty()) {
    const auto colon = body.find(':');
    const auto field = body.substr(0, colon);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    REQUIRE_MESSAGE((ec == std::errc{} && end == field.data() + field.size() && !field.empty()),
                    "bad number '" << field << "' in " << reply);
    REQUIRE_MESSAGE(value <= 0xffffffffu, "not a uint32: " << field);
    if (field.size() > 1) {
      CHECK_MESSAGE(field.front() != '0', "leading zero in " << field);
    }
    out.push_back(static_cast<std::uint32_t>(value));
    if (colon == std::string_view::npos) {
      break;
    }
    body.remove_prefix(colon + 1);
  }
  return out;
}

/// @brief INIT id,n,batch then every RECV and FIN, one message at a time; all replies.
std::vector<std::string> whole_session(running_server& server, const std::string& id,
                                       std::uint32_t n, std::uint32_t batch) {
  auto conn = server.connect();
  std::vector<std::string> replies;
  REQUIRE(conn.send("INIT," + id + "," + std::to_string(n) + "," + std::to_string(batch) + ";",
                    reply_timeout));
  const auto batches = (n + batch - 1) / batch;
  for (std::uint32_t k = 0; k <= batches; ++k) {
    const auto reply = conn.read_reply(reply_timeout);
    REQUIRE_MESSAGE(reply.has_value(), "no reply after " << replies.size() << " replies");
    replies.push_back(*reply);
    REQUIRE(conn.send(k < batches ? "RECV," + std::to_string(k) + ";" : std::string("FIN;"),
                      reply_timeout));
  }
  const auto fac = conn.read_reply(reply_timeout);
  REQUIRE(fac.has_value());
  replies.push_back(*fac);
  CHECK(conn.wait_closed_silently(reply_timeout));
  return replies;
}

}  // namespace

TEST_SUITE("normal mode") {
  TEST_CASE("normal mode numbers span uint32 and FAC is the MD5 of exactly those numbers") {
    running_server server({}, false);
    const std::string id = numbered_id(1);
    const auto replies = whole_session(server, id, 1000, 100);
    REQUIRE(replies.size() == 12);
    CHECK(replies.front() == "ACK;");
    std::vector<std::uint32_t> numbers;
    for (std::size_t i = 1; i + 1 < replies.size(); ++i) {
      const auto batch = parse_num(replies[i]);
      CHECK(batch.size() == 100);
      numbers.insert(numbers.end(), batch.begin(), batch.end());
    }
    const auto largest = *std::max_element(numbers.begin(), numbers.end());
    CHECK_MESSAGE(largest > 101, "normal mode must not be the reference's 0..100 numbers");
    CHECK_MESSAGE(largest > 0x80000000u, "1000 uint32 draws should reach the upper half");
    CHECK(replies.back() == "FAC," + to_hex(checksum_of(numbers)) + ";");
    // Not the test-mode sequence for the same id.
    CHECK(std::vector<std::uint32_t>(numbers.begin(), numbers.begin() + 10) !=
          whole_sequence(test_params(id, 10)));
  }

  TEST_CASE("two servers with the same --fixed-seed give identical replies") {
    running_server first({"--fixed-seed", "12345"}, false);
    running_server second({"--fixed-seed", "12345"}, false);
    const std::string id = numbered_id(2);
    const auto a = whole_session(first, id, 50, 10);
    const auto b = whole_session(second, id, 50, 10);
    CHECK(a == b);
    CHECK(a.size() == 7);

    running_server other_seed({"--fixed-seed", "12346"}, false);
    CHECK(whole_session(other_seed, id, 50, 10) != a);
  }

  TEST_CASE("two servers without a fixed seed give different numbers for the same INIT") {
    running_server first({}, false);
    running_server second({}, false);
    const std::string id = numbered_id(3);
    CHECK(whole_session(first, id, 50, 10) != whole_session(second, id, 50, 10));
  }

  TEST_CASE("the client validates a normal-mode sequence") {
    running_server server({}, false);
    temp_dir dir;
    const auto result =
        run_client({"NEW", "2000", server.port_text(), "--batch-size", "7", "--json"}, dir.path());
    INFO("client stdout:\n" << result.out);
    INFO("client stderr:\n" << result.err);
    CHECK(result.exit_code() == 0);
    const auto mine = json_field(result.out, "checksum");
    REQUIRE(mine.has_value());
    CHECK(mine->size() == 32);
    CHECK(json_field(result.out, "server_checksum") == mine);
    CHECK(json_field(result.out, "valid") == std::optional<std::string>("true"));
    CHECK(json_field(result.out, "n") == std::optional<std::string>("2000"));
    CHECK(json_field(result.out, "batch") == std::optional<std::string>("7"));

    temp_dir text_dir;
    const auto text = run_client({"NEW", "300", server.port_text()}, text_dir.path());
    CHECK(text.exit_code() == 0);
    const auto lines = text.out_lines();
    REQUIRE(lines.size() >= 2);
    CHECK(lines.back().starts_with("Checksum ("));
    CHECK(lines.back().ends_with(") is valid!"));
    CHECK(lines[lines.size() - 2].starts_with("The SUM of numbers is: "));
  }
}

}  // namespace numsequence::integration
