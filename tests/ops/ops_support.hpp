#pragma once
/// @file
/// @brief The server with its HTTP listener (--http 0) for the operations tests, and scrapes of
/// its /metrics.

#include <doctest/doctest.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../cluster/cluster_fixture.hpp"
#include "../integration/server_fixture.hpp"
#include "http_client.hpp"

namespace numsequence::ops_test {

using namespace numsequence::integration;
using cluster::bound_port;
using cluster::find_program;
using cluster::have_program;

/// @brief Options to run `argv` (argv[0] the program) in the test's directory.
inline process_options command(std::vector<std::string> argv) {
  process_options o;
  o.argv = std::move(argv);
  return o;
}

/// @brief numsequence-server on port 0 with `--http 0`: the second stdout line gives the HTTP
/// port. Stopped (SIGTERM, exit 0 checked) at the end of the test, as running_server is.
class ops_server {
 public:
  explicit ops_server(std::vector<std::string> args = {}, bool test_mode = true)
      // running_server reads the second stdout line (`http listening on 127.0.0.1:PORT`).
      : server_(with_http(std::move(args)), test_mode), http_port_(server_.http_port()) {
    REQUIRE_MESSAGE(http_port_ > 0, "no HTTP port from the second stdout line");
  }

  running_server& server() noexcept { return server_; }
  child_process& process() noexcept { return server_.process(); }
  std::uint16_t port() const noexcept { return server_.port(); }
  std::string port_text() const { return server_.port_text(); }
  std::uint16_t http_port() const noexcept { return http_port_; }

  /// @brief GET `target` on a fresh connection; fails the test if no response comes.
  http_response get(std::string_view target) const {
    http_client c(http_port_);
    REQUIRE_MESSAGE(c.connected(), "cannot connect to the HTTP port " << http_port_);
    auto r = c.get(target);
    REQUIRE_MESSAGE(r.has_value(), "no response to GET " << target);
    return std::move(*r);
  }

  /// @brief The /metrics text now (its status checked).
  std::string scrape() const {
    const auto r = get("/metrics");
    REQUIRE(r.status == 200);
    return r.body;
  }

  /// @brief One sample of a scrape now; fails the test if the series is missing.
  double sample(std::string_view series) const {
    const auto text = scrape();
    const auto value = sample_value(text, series);
    REQUIRE_MESSAGE(value.has_value(), series << " is not in:\n" << text);
    return *value;
  }

 private:
  static std::vector<std::string> with_http(std::vector<std::string> args) {
    args.insert(args.begin(), {"--http", "0"});
    return args;
  }

  running_server server_;
  std::uint16_t http_port_ = 0;
};

}  // namespace numsequence::ops_test
