#pragma once
/// @file
/// @brief Fixtures for the integration tests: the real server on port 0, the real client in a
/// fresh directory, and expected values computed with the library.

#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "numsequence/protocol/client_id.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/sequence.hpp"
#include "process.hpp"
#include "tcp.hpp"

namespace numsequence::integration {

#ifndef NUMSEQUENCE_SERVER_BIN
#error "NUMSEQUENCE_SERVER_BIN must name the numsequence-server binary"
#endif
#ifndef NUMSEQUENCE_CLIENT_BIN
#error "NUMSEQUENCE_CLIENT_BIN must name the numsequence-client binary"
#endif

inline const std::string server_binary = NUMSEQUENCE_SERVER_BIN;
inline const std::string client_binary = NUMSEQUENCE_CLIENT_BIN;

/// The client id of the reference's documented scenarios.
inline constexpr std::string_view golden_id = "123e4567-e89b-12d3-a456-426614174000";

/// How long a test waits for the server's ready line.
inline constexpr milliseconds server_ready_timeout = seconds(10);
/// Upper bound for one ordinary client run.
inline constexpr milliseconds client_timeout = seconds(60);
/// Upper bound for a single reply on a raw connection.
inline constexpr milliseconds reply_timeout = seconds(5);

/// @brief A fresh directory (mkdtemp) removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "numsequence-it-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /// The client's default state file in this directory.
  std::filesystem::path state_file() const { return path_ / ".numsequence-client-state"; }

 private:
  std::filesystem::path path_;
};

/// @brief numsequence-server started on port 0, stopped with SIGTERM at the end of the test.
///
/// The constructor fails the test unless `listening on 127.0.0.1:PORT` is the first stdout
/// line within 10 s. The destructor sends SIGTERM and checks the server exits with code 0.
class running_server {
 public:
  /// @param args   arguments after PORT (e.g. {"--session-timeout", "0.05"})
  /// @param test_mode  true: TEST_MODE=1 in the environment; false: TEST_MODE removed
  /// With `--http` among them, the second line `http listening on 127.0.0.1:PORT` is read too.
  explicit running_server(std::vector<std::string> args = {}, bool test_mode = true)
      : http_(std::find(args.begin(), args.end(), "--http") != args.end()),
        process_(make_options(std::move(args), test_mode)) {
    port_ = read_ready_port("listening on 127.0.0.1:");
    if (http_)
      http_port_ = read_ready_port("http listening on 127.0.0.1:");
  }

  ~running_server() {
    if (stopped_) {
      return;
    }
    const auto status = stop();
    INFO("server stderr: " << process_.stderr_text());
    CHECK_MESSAGE(status.has_value(), "the server did not exit within 10 s of SIGTERM");
    if (status) {
      CHECK_MESSAGE(status->success(), "the server ended with " << status->describe());
    }
  }
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// @brief The HTTP port (started with `--http`).
  std::uint16_t http_port() const noexcept { return http_port_; }
  std::string port_text() const { return std::to_string(port_); }
  child_process& process() noexcept { return process_; }

  /// @brief Sends `sig` (SIGTERM by default) and waits up to 10 s for the exit status.
  std::optional<exit_status> stop(int sig = SIGTERM) {
    stopped_ = true;
    process_.kill(sig);
    return process_.wait(seconds(10));
  }

  /// @brief A raw connection to this server; fails the test if it cannot connect.
  tcp_client connect() const {
    auto client = tcp_client::connect(port_, seconds(5));
    REQUIRE_MESSAGE(client.has_value(), "cannot connect to 127.0.0.1:" << port_);
    return std::move(*client);
  }

  /// @brief A raw connection to the HTTP port.
  tcp_client connect_http() const {
    REQUIRE_MESSAGE(http_, "the server was started without --http");
    auto client = tcp_client::connect(http_port_, seconds(5));
    REQUIRE_MESSAGE(client.has_value(), "cannot connect to 127.0.0.1:" << http_port_);
    return std::move(*client);
  }

 private:
  /// The next stdout line, which must be `prefix` and a port.
  std::uint16_t read_ready_port(std::string_view prefix) {
    const auto line = process_.read_stdout_line(server_ready_timeout);
    INFO("server stderr: " << process_.stderr_text());
    REQUIRE_MESSAGE(line.has_value(), "the server printed no ready line within 10 s");
    REQUIRE_MESSAGE(line->starts_with(prefix), "unexpected line: " << *line);
    const std::string_view digits = std::string_view(*line).substr(prefix.size());
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    REQUIRE_MESSAGE(
        (ec == std::errc{} && end == digits.data() + digits.size() && value > 0 && value <= 65535),
        "no port in: " << *line);
    return static_cast<std::uint16_t>(value);
  }

  static process_options make_options(std::vector<std::string> args, bool test_mode) {
    process_options options;
    options.argv = {server_binary, "0"};
    options.argv.insert(options.argv.end(), std::make_move_iterator(args.begin()),
                        std::make_move_iterator(args.end()));
    if (test_mode) {
      options.set_env.emplace_back("TEST_MODE", "1");
    } else {
      options.unset_env.emplace_back("TEST_MODE");
    }
    return options;
  }

  bool http_ = false;  // before process_: read before the arguments are moved
  child_process process_;
  std::uint16_t port_ = 0;
  std::uint16_t http_port_ = 0;
  bool stopped_ = false;
};

/// @brief Options to run numsequence-client with `args` in `dir`.
inline process_options client_options(std::vector<std::string> args,
                                      const std::filesystem::path& dir) {
  process_options options;
  options.argv = {client_binary};
  options.argv.insert(options.argv.end(), std::make_move_iterator(args.begin()),
                      std::make_move_iterator(args.end()));
  options.working_dir = dir;
  return options;
}

/// @brief Runs numsequence-client to completion in `dir` (killed after `timeout`).
inline run_result run_client(std::vector<std::string> args, const std::filesystem::path& dir,
                             milliseconds timeout = client_timeout) {
  return run_process(client_options(std::move(args), dir), timeout);
}

/// @brief Starts numsequence-client in `dir` without waiting for it.
inline std::unique_ptr<child_process> start_client(std::vector<std::string> args,
                                                   const std::filesystem::path& dir) {
  return std::make_unique<child_process>(client_options(std::move(args), dir));
}

/// @brief A test-mode session's parameters, for expected values.
inline sequence_params test_params(std::string_view id, std::uint32_t n, std::uint32_t batch = 5) {
  sequence_params p;
  p.mode = sequence_mode::test;
  const auto parsed = client_id::parse(id);
  REQUIRE_MESSAGE(parsed.has_value(), "not a uuid: " << id);
  p.id = *parsed;
  p.n = n;
  p.batch = batch;
  return p;
}

/// @brief Sum of a session's numbers.
inline std::uint64_t expected_sum(const sequence_params& p) {
  const auto numbers = whole_sequence(p);
  return std::accumulate(numbers.begin(), numbers.end(), std::uint64_t{0});
}

/// @brief A session's checksum as 32 lowercase hex digits.
inline std::string expected_checksum(const sequence_params& p) {
  return to_hex(sequence_checksum(p));
}

/// @brief A well-formed, distinct client id for session number `k` of a test.
inline std::string numbered_id(unsigned k, unsigned prefix = 0) {
  std::array<char, 40> text{};
  std::snprintf(text.data(), text.size(), "%08x-0000-4000-8000-%012x", prefix, k);
  return std::string(text.data());
}

/// @brief The reference's scenario 1 (`NEW 5` with the golden id, `--verbose`): the whole
/// stdout, transcript and result, byte for byte; over plain TCP and over TLS alike.
inline std::vector<std::string> scenario_1_lines() {
  const std::string id(golden_id);
  return {"Sending message: 'INIT," + id + ",5,5;'",
          "Received: ACK;",
          "Requesting numbers",
          "Sending message: 'RECV,0;'",
          "Received: NUM,6:41:81:68:68;",
          "Sending message: 'FIN;'",
          "Received: FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;",
          "Closing the connection",
          "The SUM of numbers is: 264",
          "Checksum (f90b20dae8c9b7d7be2a5fb7cc856e8b) is valid!"};
}

/// @brief A CONT on a second connection takes over a live session: the first connection is
/// closed without a word, and the second one finishes the session.
inline void check_cont_takes_over(running_server& server) {
  const std::string id(golden_id);
  auto old_conn = server.connect();
  REQUIRE(old_conn.send("INIT," + id + ",10,5;", reply_timeout));
  CHECK(old_conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));

  auto new_conn = server.connect();
  REQUIRE(new_conn.send("CONT," + id + ";", reply_timeout));
  CHECK(new_conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
  CHECK_MESSAGE(old_conn.wait_closed_silently(reply_timeout),
                "the old connection must be closed; pending: " << old_conn.pending());
  REQUIRE(new_conn.send("RECV,0;FIN;", reply_timeout));
  CHECK(new_conn.read_until_closed(reply_timeout) ==
        "NUM,6:41:81:68:68;FAC,9b14501c5359fb4eac96df9e874348b2;");
}

/// @brief The client's last two stdout lines for a valid run: sum and checksum.
inline std::vector<std::string> valid_result_lines(std::uint64_t sum, std::string_view checksum) {
  return {"The SUM of numbers is: " + std::to_string(sum),
          "Checksum (" + std::string(checksum) + ") is valid!"};
}

/// @brief The last `count` lines of `lines` (all of them if there are fewer).
inline std::vector<std::string> last_lines(const std::vector<std::string>& lines,
                                           std::size_t count) {
  const auto skip = lines.size() > count ? lines.size() - count : 0;
  return {lines.begin() + static_cast<std::ptrdiff_t>(skip), lines.end()};
}

}  // namespace numsequence::integration
