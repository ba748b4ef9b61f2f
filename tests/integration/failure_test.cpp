// Failures around the client: killed mid-transfer, a server lying about the checksum,
// a server that is not there, and many clients at once.

#include <doctest/doctest.h>

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fake_server.hpp"
#include "json_fields.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {

namespace {

/// @brief Connections in state ESTABLISHED whose local port is `port` (the server's side
/// of each client connection).
std::size_t established_connections(std::uint16_t port) {
  const auto sockets = kernel_tcp_sockets();
  return static_cast<std::size_t>(std::count_if(sockets.begin(), sockets.end(), [&](const auto& s) {
    return s.established && s.local_port == port;
  }));
}

}  // namespace

TEST_SUITE("failures") {
  TEST_CASE("a client SIGKILLed mid-transfer is finished by CONTINUE with the right sum") {
    // --interval slows the server to about 5 ms per batch: 600 batches take ~3 s.
    running_server server({"--interval", "0.005", "--session-timeout", "0"});
    temp_dir dir;
    const std::string id = numbered_id(3000);
    const auto params = test_params(id, 3000);

    auto client = start_client({"NEW", "3000", server.port_text(), "--client_id", id,
                                "--batch-size", "5", "--pipeline", "1"},
                               dir.path());
    // Wait (bounded: at most 200 x 50 ms) for the state file, then let it make progress.
    bool saved = false;
    for (int i = 0; i < 200 && !saved; ++i) {
      saved = std::filesystem::exists(dir.state_file());
      if (!saved) {
        REQUIRE_MESSAGE(
            !client->wait(milliseconds(50)).has_value(),
            "the client ended before writing its state file; stderr: " << client->stderr_text());
      }
    }
    REQUIRE_MESSAGE(saved, "no state file " << dir.state_file() << " after 10 s");
    REQUIRE_MESSAGE(!client->wait(milliseconds(500)).has_value(),
                    "the client finished too soon to be killed mid-transfer");
    CHECK(std::filesystem::file_size(dir.state_file()) > 0);

    REQUIRE(client->kill(SIGKILL));
    const auto killed = client->wait(seconds(10));
    REQUIRE(killed.has_value());
    CHECK_FALSE(killed->exited);
    CHECK(killed->signal == SIGKILL);

    // CONTINUE resumes from the state file: it skips the batches the killed client had.
    const auto resumed = run_client({"CONTINUE", server.port_text(), "--verbose"}, dir.path());
    INFO("client stdout:\n" << resumed.out);
    INFO("client stderr:\n" << resumed.err);
    CHECK(resumed.exit_code() == 0);
    CHECK_MESSAGE(resumed.out.find("\nSkipping chunk-nr: 0\n") != std::string::npos,
                  "the progress saved before the kill must be reused");
    CHECK(last_lines(resumed.out_lines(), 2) ==
          valid_result_lines(expected_sum(params), expected_checksum(params)));

    // The finished session re-checks from the state file with the same facts.
    const auto result = run_client({"CONTINUE", server.port_text(), "--json"}, dir.path());
    INFO("client --json stdout:\n" << result.out);
    CHECK(result.exit_code() == 0);
    CHECK(json_field(result.out, "client_id") == std::optional<std::string>(id));
    CHECK(json_field(result.out, "sum") ==
          std::optional<std::string>(std::to_string(expected_sum(params))));
    CHECK(json_field(result.out, "checksum") ==
          std::optional<std::string>(expected_checksum(params)));
    CHECK(json_field(result.out, "valid") == std::optional<std::string>("true"));
  }

  TEST_CASE("a checksum from the server that does not match gives the mismatch line and exit 1") {
    const std::string wrong(32, '0');
    auto script = [&](std::string_view message) -> scripted_reply {
      if (message.starts_with("INIT,")) {
        return {"ACK;"};
      }
      if (message == "RECV,0") {
        return {"NUM,1:2:3:4:5;"};
      }
      if (message == "FIN") {
        return {"FAC," + wrong + ";", true};
      }
      return {"ERR,unexpected;", true};
    };
    const std::string mine = to_hex(checksum_of(std::vector<std::uint32_t>{1, 2, 3, 4, 5}));
    SUBCASE("text") {
      loopback_listener fake([&](int fd) { serve_script(fd, script); });
      temp_dir dir;
      const auto result = run_client(
          {"NEW", "5", fake.port_text(), "--client_id", std::string(golden_id)}, dir.path());
      INFO("client stderr:\n" << result.err);
      CHECK(result.exit_code() == 1);
      CHECK(last_lines(result.out_lines(), 2) ==
            std::vector<std::string>{
                "The SUM of numbers is: 15",
                "Checksum calculated(" + mine + ") does not match received (" + wrong + ")"});
    }
    SUBCASE("json") {
      loopback_listener fake([&](int fd) { serve_script(fd, script); });
      temp_dir dir;
      const auto result = run_client(
          {"NEW", "5", fake.port_text(), "--client_id", std::string(golden_id), "--json"},
          dir.path());
      INFO("client stdout:\n" << result.out);
      INFO("client stderr:\n" << result.err);
      CHECK(result.exit_code() == 1);
      CHECK(json_field(result.out, "valid") == std::optional<std::string>("false"));
      CHECK(json_field(result.out, "checksum") == std::optional<std::string>(mine));
      CHECK(json_field(result.out, "server_checksum") == std::optional<std::string>(wrong));
      CHECK(json_field(result.out, "sum") == std::optional<std::string>("15"));
    }
  }

  TEST_CASE("a refusal from the server is reported in --json with exit 3") {
    running_server server;
    temp_dir first;
    temp_dir second;
    const std::vector<std::string> args = {
        "NEW", "5", server.port_text(), "--client_id", std::string(golden_id), "--json"};
    CHECK(run_client(args, first.path()).exit_code() == 0);
    const auto result = run_client(args, second.path());
    INFO("client stdout:\n" << result.out);
    CHECK(result.exit_code() == 3);
    CHECK(json_field(result.out, "error") ==
          std::optional<std::string>(std::string(golden_id) + " already exist"));
  }

  TEST_CASE("a client that cannot reach the server gives up with exit 4") {
    std::uint16_t port = 0;
    {
      // A port that was just free: nobody listens on it now.
      loopback_listener gone([](int) {}, 0);
      port = gone.port();
    }
    temp_dir dir;
    const auto result =
        run_client({"NEW", "5", std::to_string(port), "--retries", "2"}, dir.path(), seconds(60));
    INFO("client stdout:\n" << result.out);
    INFO("client stderr:\n" << result.err);
    REQUIRE(result.status.has_value());
    CHECK(result.exit_code() == 4);
  }

  TEST_CASE("200 concurrent client processes all finish valid") {
    constexpr unsigned clients = 200;
    constexpr std::uint32_t n = 5;
    running_server server({"--interval", "0.5", "--session-timeout", "0", "--idle-timeout", "60"});
    // Three descriptors per child: make sure the soft limit allows them.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 4096) {
      limit.rlim_cur = std::min<rlim_t>(4096, limit.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    // The server is stopped while the clients start, however long that takes: their
    // connections wait in its accept queue, and when it continues it has 200 sessions
    // to open at once (each then lasts at least the 0.5 s interval).
    REQUIRE(server.process().kill(SIGSTOP));
    struct resume_on_exit {
      child_process& server;
      ~resume_on_exit() { server.kill(SIGCONT); }
    } resume{server.process()};

    temp_dir dir;
    std::vector<std::unique_ptr<child_process>> running;
    running.reserve(clients);
    for (unsigned i = 0; i < clients; ++i) {
      const auto state = dir.path() / ("state-" + std::to_string(i));
      running.push_back(
          start_client({"NEW", std::to_string(n), server.port_text(), "--client_id",
                        numbered_id(i, 0xc0), "--state-file", state.string(), "--timeout", "60"},
                       dir.path()));
    }
    // Bounded: at most 1200 waits of 50 ms for all 200 connections to be established.
    std::size_t connected = 0;
    bool all_alive = true;
    for (int i = 0; i < 1200 && connected < clients && all_alive; ++i) {
      connected = established_connections(server.port());
      for (auto& client : running) {
        all_alive = all_alive && client->running();
      }
      if (connected < clients) {
        running.back()->wait(milliseconds(50));
      }
    }
    CHECK_MESSAGE(connected >= clients, "only " << connected << " clients connected at once");
    CHECK_MESSAGE(all_alive, "a client ended while the server was stopped");
    REQUIRE(server.process().kill(SIGCONT));

    const auto deadline = test_clock::now() + seconds(100);
    unsigned valid = 0;
    for (unsigned i = 0; i < clients; ++i) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - test_clock::now());
      const auto status = running[i]->wait(std::max(left, milliseconds(1)));
      const auto params = test_params(numbered_id(i, 0xc0), n);
      const auto lines = split_lines(running[i]->stdout_text());
      const bool ok = status && status->success() &&
                      last_lines(lines, 2) ==
                          valid_result_lines(expected_sum(params), expected_checksum(params));
      if (!ok) {
        CAPTURE(i);
        FAIL_CHECK("client " << i << ": " << (status ? status->describe() : "still running")
                             << "\nstdout:\n"
                             << running[i]->stdout_text() << "stderr:\n"
                             << running[i]->stderr_text());
      }
      valid += ok ? 1 : 0;
      CHECK(std::filesystem::exists(dir.path() / ("state-" + std::to_string(i))));
    }
    CHECK(valid == clients);
    CHECK(server.process().running());
  }
}

}  // namespace numsequence::integration
