// --io-model shared: one io_context run by several threads, a strand per connection. The
// same sessions as elsewhere, with the cross-thread paths exercised: many connections at
// once, forced drops and resumes, a takeover and a shutdown with connections open.

#include <doctest/doctest.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "server_fixture.hpp"

namespace numsequence::integration {

namespace {

const std::vector<std::string> shared_model = {"--io-model", "shared", "--threads", "2"};

std::vector<std::string> shared_with(std::vector<std::string> more) {
  auto args = shared_model;
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_SUITE("io model") {
  TEST_CASE(
      "shared io_context, 2 threads: concurrent clients cut by the session timer finish "
      "valid") {
    constexpr unsigned clients = 8;
    constexpr std::uint32_t n = 3000;
    // A 50 ms session timer cuts every client several times: each resume is a CONT that
    // attaches (and parks) on whichever thread serves the new connection.
    running_server server(shared_with({"--session-timeout", "0.05"}));
    temp_dir dir;
    std::vector<std::unique_ptr<child_process>> running;
    for (unsigned i = 0; i < clients; ++i) {
      const auto state = dir.path() / ("state-" + std::to_string(i));
      running.push_back(start_client(
          {"NEW", std::to_string(n), server.port_text(), "--client_id", numbered_id(i, 0x5a),
           "--state-file", state.string(), "--pipeline", std::to_string(1 + i % 4 * 16)},
          dir.path()));
    }
    for (unsigned i = 0; i < clients; ++i) {
      CAPTURE(i);
      const auto status = running[i]->wait(client_timeout);
      INFO("stdout:\n" << running[i]->stdout_text() << "stderr:\n" << running[i]->stderr_text());
      REQUIRE(status.has_value());
      CHECK_MESSAGE(status->success(), status->describe());
      const auto params = test_params(numbered_id(i, 0x5a), n);
      CHECK(last_lines(split_lines(running[i]->stdout_text()), 2) ==
            valid_result_lines(expected_sum(params), expected_checksum(params)));
    }
  }

  TEST_CASE("shared io_context: raw sessions on many connections get the reference's replies") {
    running_server server(shared_with({"--session-timeout", "0"}));
    constexpr unsigned connections = 16;
    std::vector<tcp_client> open;
    for (unsigned i = 0; i < connections; ++i) {
      open.push_back(server.connect());
      REQUIRE(open.back().send("INIT," + numbered_id(i, 0x5b) + ",10,5;", reply_timeout));
    }
    for (unsigned i = 0; i < connections; ++i)
      CHECK(open[i].read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    for (unsigned i = 0; i < connections; ++i)
      REQUIRE(open[i].send("RECV,1;RECV,0;FIN;", reply_timeout));
    for (unsigned i = 0; i < connections; ++i) {
      CAPTURE(i);
      const auto params = test_params(numbered_id(i, 0x5b), 10);
      sequence_generator generator(params);
      std::string expected;
      for (const std::uint32_t k : {1u, 0u}) {
        expected += "NUM,";
        const auto numbers = generator.batch(k);
        for (std::size_t j = 0; j < numbers.size(); ++j)
          expected += (j == 0 ? "" : ":") + std::to_string(numbers[j]);
        expected += ";";
      }
      expected += "FAC," + expected_checksum(params) + ";";
      CHECK(open[i].read_until_closed(reply_timeout) == expected);
    }
  }

  TEST_CASE("shared io_context: CONT takes over a live session and closes the old connection") {
    running_server server(shared_with({"--session-timeout", "0"}));
    check_cont_takes_over(server);
  }

  TEST_CASE("shared io_context: SIGTERM with connections open exits 0 and closes them") {
    running_server server(shared_model);
    std::vector<tcp_client> open;
    for (unsigned i = 0; i < 6; ++i) {
      open.push_back(server.connect());
      REQUIRE(open.back().send("INIT," + numbered_id(i, 0x5c) + ",5,5;", reply_timeout));
      CHECK(open.back().read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
    }
    const auto status = server.stop(SIGTERM);
    INFO("server stderr:\n" << server.process().stderr_text());
    REQUIRE(status.has_value());
    CHECK_MESSAGE(status->success(), status->describe());
    for (auto& conn : open)
      CHECK(conn.wait_closed_silently(reply_timeout));
  }
}

}  // namespace numsequence::integration
