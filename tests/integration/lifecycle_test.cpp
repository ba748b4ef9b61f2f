// Session lifecycle on the real server (spec §4): timers, parking, purge, takeover.

#include <doctest/doctest.h>

#include <string>

#include "server_fixture.hpp"

namespace numsequence::integration {

TEST_SUITE("lifecycle") {
  TEST_CASE("the idle timer closes a connection that sends nothing") {
    running_server server({"--idle-timeout", "0.2", "--session-timeout", "0"});
    auto conn = server.connect();
    const auto before = test_clock::now();
    CHECK(conn.wait_closed_silently(seconds(10)));
    CHECK(test_clock::now() - before >= milliseconds(150));
  }

  TEST_CASE("the session timer closes a busy connection and CONT resumes the session") {
    running_server server({"--session-timeout", "0.3"});
    const std::string id = numbered_id(7);
    auto conn = server.connect();
    REQUIRE(conn.send("INIT," + id + ",10,5;", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    CHECK(conn.wait_closed_silently(seconds(10)));

    auto again = server.connect();
    REQUIRE(again.send("CONT," + id + ";RECV,1;RECV,0;FIN;", reply_timeout));
    const auto numbers = whole_sequence(test_params(id, 10));
    CHECK(again.read_until_closed(reply_timeout) ==
          "ACK;NUM," + std::to_string(numbers[5]) + ":" + std::to_string(numbers[6]) + ":" +
              std::to_string(numbers[7]) + ":" + std::to_string(numbers[8]) + ":" +
              std::to_string(numbers[9]) + ";NUM," + std::to_string(numbers[0]) + ":" +
              std::to_string(numbers[1]) + ":" + std::to_string(numbers[2]) + ":" +
              std::to_string(numbers[3]) + ":" + std::to_string(numbers[4]) + ";FAC," +
              expected_checksum(test_params(id, 10)) + ";");
  }

  TEST_CASE("INIT for a live session is refused with already exist") {
    running_server server({"--session-timeout", "0"});
    const std::string id(golden_id);
    auto first = server.connect();
    REQUIRE(first.send("INIT," + id + ",5,5;", reply_timeout));
    CHECK(first.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    auto second = server.connect();
    REQUIRE(second.send("INIT," + id + ",5,5;", reply_timeout));
    CHECK(second.read_reply(reply_timeout) ==
          std::optional<std::string>("ERR," + id + " already exist;"));
    CHECK(second.wait_closed_silently(reply_timeout));
  }

  TEST_CASE("CONT takes over a live session and closes the old connection") {
    running_server server({"--session-timeout", "0"});
    check_cont_takes_over(server);
  }

  TEST_CASE("a parked session is purged after purge-after and CONT then gets does not exist") {
    running_server server({"--purge-after", "0.3"});
    const std::string id(golden_id);
    {
      auto conn = server.connect();
      REQUIRE(conn.send("INIT," + id + ",10,5;RECV,0;", reply_timeout));
      CHECK(conn.read_replies(2, reply_timeout).size() == 2);
    }
    CHECK(server.process().wait_for_stderr_containing("Purging client info for client=123e4567",
                                                      seconds(10)));
    auto conn = server.connect();
    REQUIRE(conn.send("CONT," + id + ";", reply_timeout));
    CHECK(conn.read_reply(reply_timeout) ==
          std::optional<std::string>("ERR,Client-id: " + id + " does not exist;"));
    CHECK(conn.wait_closed_silently(reply_timeout));
    // The id is free again once purged.
    auto fresh = server.connect();
    REQUIRE(fresh.send("INIT," + id + ",5,5;RECV,0;FIN;", reply_timeout));
    CHECK(fresh.read_until_closed(reply_timeout) ==
          "ACK;NUM,6:41:81:68:68;FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;");
  }

  TEST_CASE("--max-sessions 2: a third INIT is refused, existing sessions continue and complete") {
    running_server server({"--max-sessions", "2", "--session-timeout", "0"});
    const std::string first = numbered_id(1, 0x5e55u);
    const std::string second = numbered_id(2, 0x5e55u);
    const std::string third = numbered_id(3, 0x5e55u);
    auto live = server.connect();
    REQUIRE(live.send("INIT," + first + ",10,5;RECV,0;", reply_timeout));
    const auto started = live.read_replies(2, reply_timeout);
    REQUIRE(started.size() == 2);
    CHECK(started[0] == "ACK;");
    {
      auto parked = server.connect();
      REQUIRE(parked.send("INIT," + second + ",10,5;", reply_timeout));
      CHECK(parked.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    }  // closed: the second session is parked, and still counts

    const std::string refusal =
        "ERR,too many sessions (the server's session limit is reached, try again later);";
    auto refused = server.connect();
    REQUIRE(refused.send("INIT," + third + ",10,5;RECV,0;", reply_timeout));
    CHECK(refused.read_until_closed(reply_timeout) == refusal);
    CHECK(server.process().wait_for_stderr_containing(
        "session limit reached: new sessions are refused until records expire max_sessions=2",
        reply_timeout));
    // The refused INIT created nothing.
    auto probe = server.connect();
    REQUIRE(probe.send("CONT," + third + ";", reply_timeout));
    CHECK(probe.read_until_closed(reply_timeout) == "ERR,Client-id: " + third + " does not exist;");

    // The live session goes on; the parked one resumes with CONT; both complete.
    REQUIRE(live.send("RECV,1;FIN;", reply_timeout));
    const auto rest = live.read_replies(2, reply_timeout);
    REQUIRE(rest.size() == 2);
    CHECK(rest[1] == "FAC," + expected_checksum(test_params(first, 10)) + ";");
    auto resumed = server.connect();
    REQUIRE(resumed.send("CONT," + second + ";RECV,1;FIN;", reply_timeout));
    const auto resumed_replies = resumed.read_replies(3, reply_timeout);
    REQUIRE(resumed_replies.size() == 3);
    CHECK(resumed_replies[0] == "ACK;");
    CHECK(resumed_replies[2] == "FAC," + expected_checksum(test_params(second, 10)) + ";");
    // Completion records keep their slots for the purge window (30 s here).
    auto still_full = server.connect();
    REQUIRE(still_full.send("INIT," + third + ",10,5;", reply_timeout));
    CHECK(still_full.read_until_closed(reply_timeout) == refusal);
  }

  TEST_CASE("--max-sessions: a purged record frees its slot for a new INIT") {
    running_server server({"--max-sessions", "1", "--purge-after", "0.3"});
    const std::string first = numbered_id(1, 0x5e56u);
    const std::string second = numbered_id(2, 0x5e56u);
    {
      auto conn = server.connect();
      REQUIRE(conn.send("INIT," + first + ",5,5;FIN;", reply_timeout));
      CHECK(conn.read_until_closed(reply_timeout) ==
            "ACK;FAC," + expected_checksum(test_params(first, 5)) + ";");
    }
    REQUIRE(server.process().wait_for_stderr_containing(
        "Purging client info for client=" + first.substr(0, 8), seconds(10)));
    auto conn = server.connect();
    REQUIRE(conn.send("INIT," + second + ",5,5;FIN;", reply_timeout));
    CHECK(conn.read_until_closed(reply_timeout) ==
          "ACK;FAC," + expected_checksum(test_params(second, 5)) + ";");
  }

  TEST_CASE("RECV on a completed session is an error") {
    running_server server;
    const std::string id(golden_id);
    {
      auto conn = server.connect();
      REQUIRE(conn.send("INIT," + id + ",5,5;FIN;", reply_timeout));
      CHECK(conn.read_until_closed(reply_timeout) == "ACK;FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;");
    }
    auto conn = server.connect();
    REQUIRE(conn.send("CONT," + id + ";RECV,0;", reply_timeout));
    const auto replies = conn.read_replies(2, reply_timeout);
    REQUIRE(replies.size() == 2);
    CHECK(replies[0] == "ACK;");
    CHECK(replies[1].starts_with("ERR,"));
  }
}

}  // namespace numsequence::integration
