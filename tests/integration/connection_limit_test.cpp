// --max-connections, --output-buffer and --send-buffer against the real server.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "json_fields.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

const std::string id(golden_id);

}  // namespace

TEST_SUITE("connection limit") {
  TEST_CASE("one connection past --max-connections is told 'server busy', the others go on") {
    running_server server({"--max-connections", "2", "--session-timeout", "0"});
    auto first = server.connect();
    auto second = server.connect();
    REQUIRE(first.send("INIT," + id + ",10,5;RECV,0;", seconds(5)));
    CHECK(first.read_replies(2, seconds(10)) ==
          std::vector<std::string>{"ACK;", "NUM,6:41:81:68:68;"});
    // A connect returns once the kernel has queued the connection, before the server has
    // accepted (and counted) it: a reply shows that it has, so the third is the one past.
    REQUIRE(second.send("INIT," + numbered_id(2) + ",5,5;", seconds(5)));
    REQUIRE(second.read_reply(seconds(10)) == std::optional<std::string>("ACK;"));

    auto third = server.connect();
    // Even with its request already sent, the refusal is read before the close.
    REQUIRE(third.send("INIT," + numbered_id(3) + ",5,5;", seconds(5)));
    CHECK(third.read_until_closed(seconds(10)) == "ERR,server busy;");
    CHECK(third.closed());

    // The connections already admitted are served as before.
    REQUIRE(first.send("RECV,1;FIN;", seconds(5)));
    CHECK(first.read_replies(2, seconds(10)) ==
          std::vector<std::string>{"NUM,41:10:40:78:98;", "FAC,9b14501c5359fb4eac96df9e874348b2;"});
    REQUIRE(second.send("RECV,0;", seconds(5)));
    const auto numbers = second.read_reply(seconds(10));
    REQUIRE(numbers.has_value());
    CHECK(numbers->starts_with("NUM,"));
  }

  TEST_CASE("a slot freed by a closed connection admits the next one") {
    running_server server({"--max-connections", "1", "--session-timeout", "0"});
    auto holder = server.connect();
    REQUIRE(holder.send("INIT," + numbered_id(1) + ",5,5;", seconds(5)));
    REQUIRE(holder.read_reply(seconds(10)) == std::optional<std::string>("ACK;"));
    {
      auto refused = server.connect();
      CHECK(refused.read_until_closed(seconds(10)) == "ERR,server busy;");
    }
    holder.close();
    // The server counts the close when it sees it: retry for a bounded while.
    bool admitted = false;
    for (int attempt = 0; attempt < 200 && !admitted; ++attempt) {
      auto next = server.connect();
      REQUIRE(next.send("INIT," + id + ",5,5;", seconds(5)));
      const auto reply = next.read_reply(seconds(10));
      admitted = reply == std::optional<std::string>("ACK;");
      if (!admitted) {
        CHECK(reply == std::optional<std::string>("ERR,server busy;"));
      }
    }
    CHECK(admitted);
  }

  TEST_CASE("the stock client treats 'server busy' as transient and completes once admitted") {
    running_server server({"--max-connections", "1", "--session-timeout", "0"});
    auto holder = server.connect();
    REQUIRE(holder.send("INIT," + numbered_id(1) + ",5,5;", seconds(5)));
    REQUIRE(holder.read_reply(seconds(10)) == std::optional<std::string>("ACK;"));
    temp_dir dir;
    auto client = start_client({"NEW", "10", server.port_text(), "--client_id", id, "--json",
                                "--verbose", "--retries", "50"},
                               dir.path());
    // The client has been turned away at least once before the slot is freed.
    REQUIRE(client->wait_for_stderr_containing("server said: server busy", seconds(20)));
    holder.close();
    const auto status = client->wait(seconds(60));
    INFO("client stdout: " << client->stdout_text());
    INFO("client stderr: " << client->stderr_text());
    REQUIRE(status.has_value());
    CHECK(status->success());
    CHECK(json_field(client->stdout_text(), "checksum") ==
          std::optional<std::string>("9b14501c5359fb4eac96df9e874348b2"));
  }

  TEST_CASE("--max-connections 0 means no limit") {
    running_server server({"--max-connections", "0"});
    std::vector<tcp_client> open;
    for (int i = 0; i < 50; ++i)
      open.push_back(server.connect());
    auto last = server.connect();
    REQUIRE(last.send("INIT," + id + ",5,5;", seconds(5)));
    CHECK(last.read_reply(seconds(10)) == std::optional<std::string>("ACK;"));
  }

  TEST_CASE("--output-buffer bounds the gathered replies, pipelined replies stay in order") {
    // 1 KiB: every few batches are written before more requests are read.
    running_server server({"--output-buffer", "1024"});
    auto c = server.connect();
    std::string requests = "INIT," + id + ",2000,5;";
    for (int k = 0; k < 400; ++k)
      requests += "RECV," + std::to_string(k) + ";";
    requests += "FIN;";
    REQUIRE(c.send(requests, seconds(10)));
    const auto replies = c.read_replies(402, seconds(20));
    REQUIRE(replies.size() == 402);
    CHECK(replies.front() == "ACK;");
    CHECK(replies[1] == "NUM,6:41:81:68:68;");
    CHECK(replies.back() == "FAC," + expected_checksum(test_params(id, 2000)) + ";");
  }

  TEST_CASE("bad limit flags are usage errors") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--max-connections", "12abc"},
             {"--max-connections", "many"},
             {"--output-buffer", "100"},
             {"--output-buffer", "99999999999"},
             {"--send-buffer", "100"},
             {"--send-buffer", "99999999999"},
             {"--send-buffer", "-1"},
         }) {
      process_options o;
      o.argv = {server_binary, "0"};
      o.argv.insert(o.argv.end(), args.begin(), args.end());
      const auto r = run_process(o, seconds(10));
      INFO(args[0] << ' ' << args[1] << ": " << r.err);
      CHECK(r.exit_code() == 2);
      CHECK(r.err.find("invalid " + args[0]) != std::string::npos);
    }
  }
}

}  // namespace numsequence::integration
