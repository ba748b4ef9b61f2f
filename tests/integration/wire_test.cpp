// The wire protocol against the real server over raw sockets: the reference's bytes,
// pipelining, malformed input, out-of-range batches, and idle connections.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

const std::string golden_init = "INIT," + std::string(golden_id) + ",5,5;";
constexpr std::string_view golden_num = "NUM,6:41:81:68:68;";
constexpr std::string_view golden_fac_5 = "FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;";
constexpr std::string_view golden_fac_10 = "FAC,9b14501c5359fb4eac96df9e874348b2;";
constexpr std::string_view golden_fac_0 = "FAC,d751713988987e9331980363e24189ce;";

/// @brief Runs a fresh client session on `server` and checks it ends valid.
void check_fresh_session_is_valid(running_server& server, const std::string& id) {
  temp_dir dir;
  const auto params = test_params(id, 50);
  const auto result = run_client({"NEW", "50", server.port_text(), "--client_id", id}, dir.path());
  INFO("client stdout: " << result.out);
  INFO("client stderr: " << result.err);
  CHECK(result.exit_code() == 0);
  CHECK(last_lines(result.out_lines(), 2) ==
        valid_result_lines(expected_sum(params), expected_checksum(params)));
  CHECK(server.process().running());
}

}  // namespace

TEST_SUITE("wire") {
  TEST_CASE("scenario 1 wire transcript matches the reference byte for byte") {
    running_server server;
    auto conn = server.connect();
    REQUIRE(conn.send(golden_init, reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    REQUIRE(conn.send("RECV,0;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>(golden_num));
    REQUIRE(conn.send("FIN;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>(golden_fac_5));
    CHECK_MESSAGE(conn.wait_closed_silently(reply_timeout),
                  "the server must close after FAC; pending: " << conn.pending());
  }

  TEST_CASE("scenario 1 pipelined in one write gets the same replies in order") {
    running_server server;
    auto conn = server.connect();
    REQUIRE(conn.send(golden_init + "RECV,0;FIN;", reply_timeout));
    const auto bytes = conn.read_until_closed(reply_timeout);
    CHECK(bytes == "ACK;" + std::string(golden_num) + std::string(golden_fac_5));
    CHECK(conn.closed());
  }

  TEST_CASE("scenario 1 sent one byte at a time gets the same replies") {
    running_server server;
    auto conn = server.connect();
    for (const char c : golden_init + "RECV,0;FIN;") {
      REQUIRE(conn.send(std::string_view(&c, 1), reply_timeout));
    }
    CHECK(conn.read_until_closed(reply_timeout) ==
          "ACK;" + std::string(golden_num) + std::string(golden_fac_5));
  }

  TEST_CASE("CR LF and spaces between messages are skipped as for nc") {
    running_server server;
    auto conn = server.connect();
    REQUIRE(conn.send(golden_init + "\r\n RECV,0;\n\nFIN;\r\n", reply_timeout));
    CHECK(conn.read_until_closed(reply_timeout) ==
          "ACK;" + std::string(golden_num) + std::string(golden_fac_5));
  }

  TEST_CASE("RECV in any order with repeats and a CONT on a new connection") {
    running_server server;
    const std::string id(golden_id);
    {
      auto conn = server.connect();
      REQUIRE(conn.send("INIT," + id + ",10,5;RECV,1;RECV,0;RECV,1;", reply_timeout));
      CHECK(conn.read_replies(4, reply_timeout) ==
            std::vector<std::string>{"ACK;", "NUM,41:10:40:78:98;", std::string(golden_num),
                                     "NUM,41:10:40:78:98;"});
    }
    auto conn = server.connect();
    REQUIRE(conn.send("CONT," + id + ";RECV,1;FIN;", reply_timeout));
    CHECK(conn.read_until_closed(reply_timeout) ==
          "ACK;NUM,41:10:40:78:98;" + std::string(golden_fac_10));
  }

  TEST_CASE("n 0 has no batches and the checksum of the empty list") {
    running_server server;
    auto conn = server.connect();
    REQUIRE(conn.send("INIT," + numbered_id(1) + ",0,5;RECV,0;FIN;", reply_timeout));
    CHECK(conn.read_until_closed(reply_timeout) ==
          "ACK;ERR,Invalid batch index requested: 0;" + std::string(golden_fac_0));
  }

  TEST_CASE("an out-of-range RECV gets the invalid-index error and the connection stays open") {
    running_server server;
    auto conn = server.connect();
    REQUIRE(conn.send("INIT," + std::string(golden_id) + ",10,5;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));

    REQUIRE(conn.send("RECV,2;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) ==
          std::optional<std::string>("ERR,Invalid batch index requested: 2;"));
    REQUIRE(conn.send("RECV,0;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>(golden_num));

    REQUIRE(conn.send("RECV,18446744073709551615;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) ==
          std::optional<std::string>("ERR,Invalid batch index requested: 18446744073709551615;"));
    REQUIRE(conn.send("RECV,1;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>("NUM,41:10:40:78:98;"));

    // An index past 2^64 is out of range too, not malformed: the digits are echoed.
    REQUIRE(conn.send("RECV,99999999999999999999999;", reply_timeout));
    CHECK(
        conn.read_reply(reply_timeout) ==
        std::optional<std::string>("ERR,Invalid batch index requested: 99999999999999999999999;"));
    REQUIRE(conn.send("RECV,0;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>(golden_num));

    REQUIRE(conn.send("FIN;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>(golden_fac_10));
    CHECK(conn.wait_closed_silently(reply_timeout));
  }

  TEST_CASE("every malformed input gets one ERR and the connection is closed") {
    struct bad_input {
      const char* what;
      std::string bytes;
      std::size_t acks = 0;  // replies "ACK;" expected before the ERR
    };
    unsigned next = 100;
    auto init = [&](std::string_view n, std::string_view batch) {
      return "INIT," + numbered_id(next++) + "," + std::string(n) + "," + std::string(batch) + ";";
    };
    const std::vector<bad_input> inputs = {
        {"unknown type", "HELO,1;"},
        {"empty message", ";"},
        {"lower-case type", "init," + numbered_id(next++) + ",5,5;"},
        {"bad uuid (not hex)", "INIT,123e4567-e89b-12d3-a456-42661417400z,5,5;"},
        {"bad uuid (no dashes)", "INIT,123e4567e89b12d3a456426614174000,5,5;"},
        {"bad uuid (too short)", "INIT,123e4567-e89b-12d3-a456-42661417400,5,5;"},
        {"n 65536", init("65536", "5")},
        {"batch 0", init("5", "0")},
        {"batch 65536", init("5", "65536")},
        {"signed n (+)", init("+5", "5")},
        {"signed n (-)", init("-5", "5")},
        {"overflowing digits in n", init("99999999999999999999999", "5")},
        {"empty field", init("", "5")},
        {"missing field in INIT", "INIT," + numbered_id(next++) + ",5;"},
        {"extra field in INIT", "INIT," + numbered_id(next++) + ",5,5,5;"},
        {"missing field in CONT", "CONT;"},
        {"NUL byte in the type", std::string("IN\0IT,", 6) + numbered_id(next++) + ",5,5;"},
        {"binary bytes", std::string("\x01\x02\xff\xfe\x80;", 6)},
        {"overlong frame of 10 KB without ';'", std::string(10 * 1024, 'A')},
        {"overlong frame of 10 KB digits in INIT",
         "INIT," + numbered_id(next++) + "," + std::string(10 * 1024, '1')},
        {"RECV before INIT", "RECV,0;"},
        {"FIN before INIT", "FIN;"},
        {"server message type from a client", "ACK;"},
        {"second INIT", init("5", "5") + init("5", "5"), 1},
        {"CONT after INIT", init("5", "5") + "CONT," + numbered_id(next - 1) + ";", 1},
        {"signed RECV index", init("10", "5") + "RECV,+0;", 1},
        {"negative RECV index", init("10", "5") + "RECV,-1;", 1},
        {"RECV without index", init("10", "5") + "RECV;", 1},
        {"FIN with a field", init("10", "5") + "FIN,1;", 1},
    };
    running_server server;
    for (const auto& input : inputs) {
      CAPTURE(input.what);
      auto conn = server.connect();
      // A server that refuses early may close before it has read everything: a failed
      // send is fine, the reply is what counts.
      conn.send(input.bytes, reply_timeout);
      const auto replies = conn.read_replies(input.acks + 1, reply_timeout);
      REQUIRE_MESSAGE(replies.size() == input.acks + 1,
                      "replies: " << replies.size() << " pending: " << conn.pending()
                                  << (conn.reset() ? " (connection reset)" : ""));
      for (std::size_t i = 0; i < input.acks; ++i) {
        CHECK(replies[i] == "ACK;");
      }
      const auto& err = replies.back();
      CHECK_MESSAGE(err.starts_with("ERR,"), err);
      CHECK(err.ends_with(";"));
      CHECK_MESSAGE(err.size() > 5, "the ERR must give a reason: " << err);
      CHECK_MESSAGE(conn.wait_closed_silently(reply_timeout),
                    "the connection must be closed after the ERR; pending: " << conn.pending());
    }
    check_fresh_session_is_valid(server, std::string(golden_id));
  }

  TEST_CASE("--max-message bounds a frame and an INIT still fits") {
    running_server server({"--max-message", "64"});
    {
      auto conn = server.connect();
      REQUIRE(conn.send(golden_init + "RECV,0;FIN;", reply_timeout));
      CHECK(conn.read_until_closed(reply_timeout) ==
            "ACK;" + std::string(golden_num) + std::string(golden_fac_5));
    }
    auto conn = server.connect();
    conn.send(std::string(100, 'A'), reply_timeout);
    const auto reply = conn.read_reply(reply_timeout);
    REQUIRE(reply.has_value());
    CHECK(reply->starts_with("ERR,"));
    CHECK(conn.wait_closed_silently(reply_timeout));
  }

  TEST_CASE("1000 connections closed without a byte leave the server serving") {
    running_server server;
    for (int i = 0; i < 1000; ++i) {
      auto conn = tcp_client::connect(server.port(), seconds(5));
      REQUIRE_MESSAGE(conn.has_value(), "connection " << i << " failed");
    }
    // And 100 that hang up in the middle of a message.
    for (unsigned i = 0; i < 100; ++i) {
      auto conn = server.connect();
      conn.send("INIT," + numbered_id(i).substr(0, 20), reply_timeout);
    }
    CHECK(server.process().running());
    check_fresh_session_is_valid(server, std::string(golden_id));
  }

  TEST_CASE("200 concurrent raw sessions all get their own numbers and checksums") {
    constexpr unsigned sessions = 200;
    constexpr std::uint32_t n = 20;
    constexpr std::uint32_t batch = 5;
    running_server server({"--session-timeout", "0"});
    std::vector<tcp_client> conns;
    conns.reserve(sessions);
    for (unsigned i = 0; i < sessions; ++i) {
      conns.push_back(server.connect());
      REQUIRE(conns.back().send("INIT," + numbered_id(i, 0x200) + ",20,5;", reply_timeout));
    }
    // Every session is acknowledged before any finishes: 200 live at once.
    for (auto& conn : conns) {
      REQUIRE(conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    }
    for (std::uint32_t k = 0; k < n / batch; ++k) {
      for (auto& conn : conns) {
        REQUIRE(conn.send("RECV," + std::to_string(k) + ";", reply_timeout));
      }
      for (unsigned i = 0; i < sessions; ++i) {
        const auto numbers = whole_sequence(test_params(numbered_id(i, 0x200), n, batch));
        std::string expected = "NUM,";
        for (std::uint32_t j = k * batch; j < (k + 1) * batch; ++j) {
          expected += (j > k * batch ? ":" : "") + std::to_string(numbers[j]);
        }
        CHECK(conns[i].read_reply(reply_timeout) == std::optional<std::string>(expected + ";"));
      }
    }
    for (auto& conn : conns) {
      REQUIRE(conn.send("FIN;", reply_timeout));
    }
    for (unsigned i = 0; i < sessions; ++i) {
      const auto fac = "FAC," + expected_checksum(test_params(numbered_id(i, 0x200), n)) + ";";
      CHECK(conns[i].read_reply(reply_timeout) == std::optional<std::string>(fac));
    }
  }
}

}  // namespace numsequence::integration
