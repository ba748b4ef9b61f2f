// numsequence-bench must refuse to report a figure for a server that sends wrong numbers:
// a FAC that is not the MD5 of what was sent, a batch of the wrong size, a batch that
// changes when it is sent again, or (with --test-mode) numbers that are not the test-mode
// sequence. Each case runs the real bench process against a scripted server or the real
// server on a loopback port. Nothing about speed is asserted.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake_server.hpp"
#include "json_fields.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {

namespace {

/// Runs numsequence-bench against 127.0.0.1:`port` with `args`, bounded in time.
run_result run_bench(std::uint16_t port, std::vector<std::string> args) {
  process_options options;
  options.argv = {NUMSEQUENCE_BENCH_BIN, "--port", std::to_string(port), "--json",
                  "--duration",          "5"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  return run_process(std::move(options), std::chrono::seconds(60));
}

/// One 5-number session in session mode: INIT, RECV,0, FIN.
const std::vector<std::string> one_session = {"--mode",
                                              "session",
                                              "--n",
                                              "5",
                                              "--batch",
                                              "5",
                                              "--connections",
                                              "1",
                                              "--sessions-per-connection",
                                              "1"};

/// A scripted server for a 5-number, batch-5 session: ACK, then `num` for RECV,0, then
/// `fac` for FIN.
auto five_number_script(std::string num, std::string fac) {
  return [num = std::move(num), fac = std::move(fac)](std::string_view message) -> scripted_reply {
    if (message.starts_with("INIT,"))
      return {"ACK;"};
    if (message == "RECV,0")
      return {num};
    if (message == "FIN")
      return {fac, true};
    return {"ERR,unexpected;", true};
  };
}

/// The bench's verdict on a run that must fail: exit 1 and `what` in the first error.
void check_rejected(const run_result& result, std::string_view what) {
  INFO("bench stdout:\n" << result.out);
  INFO("bench stderr:\n" << result.err);
  CHECK(result.exit_code() == 1);
  CHECK(json_field(result.out, "errors") != std::optional<std::string>("0"));
  CHECK(json_field(result.out, "checksums_verified") == std::optional<std::string>("0"));
  const auto first_error = json_field(result.out, "first_error");
  REQUIRE(first_error.has_value());
  CHECK(first_error->find(what) != std::string::npos);
}

}  // namespace

TEST_SUITE("bench checks what it is sent") {
  TEST_CASE("a server whose FAC is not the MD5 of the numbers it sent fails the run") {
    const std::string right = to_hex(checksum_of(std::vector<std::uint32_t>{1, 2, 3, 4, 5}));
    SUBCASE("control: the right checksum passes") {
      loopback_listener fake([&](int fd) {
        serve_script(fd, five_number_script("NUM,1:2:3:4:5;", "FAC," + right + ";"));
      });
      const auto result = run_bench(fake.port(), one_session);
      INFO("bench stdout:\n" << result.out);
      CHECK(result.exit_code() == 0);
      CHECK(json_field(result.out, "checksums_verified") == std::optional<std::string>("1"));
      CHECK(json_field(result.out, "errors") == std::optional<std::string>("0"));
    }
    SUBCASE("a wrong checksum") {
      const std::string wrong(32, '0');
      loopback_listener fake([&](int fd) {
        serve_script(fd, five_number_script("NUM,1:2:3:4:5;", "FAC," + wrong + ";"));
      });
      check_rejected(run_bench(fake.port(), one_session),
                     "FAC " + wrong + " is not the MD5 of the numbers received (" + right + ")");
    }
  }

  TEST_CASE("a batch with the wrong number of numbers fails the run") {
    const std::string four = to_hex(checksum_of(std::vector<std::uint32_t>{1, 2, 3, 4}));
    loopback_listener fake(
        [&](int fd) { serve_script(fd, five_number_script("NUM,1:2:3:4;", "FAC," + four + ";")); });
    check_rejected(run_bench(fake.port(), one_session),
                   "NUM for batch 0 has 4 numbers, expected 5");
  }

  TEST_CASE("a batch that changes when it is sent again fails the run") {
    // recv mode wraps over the session's one batch: the second copy must equal the first.
    int sent = 0;
    loopback_listener fake([&](int fd) {
      serve_script(fd, [&](std::string_view message) -> scripted_reply {
        if (message.starts_with("INIT,"))
          return {"ACK;"};
        if (message == "RECV,0")
          return {++sent == 1 ? "NUM,1:2:3:4:5;" : "NUM,1:2:3:4:6;"};
        return {"ERR,unexpected;", true};
      });
    });
    check_rejected(run_bench(fake.port(), {"--mode", "recv", "--n", "5", "--batch", "5",
                                           "--connections", "1", "--max-requests", "2"}),
                   "NUM for batch 0 differs from the first time it was sent");
  }

  TEST_CASE("with --test-mode, numbers that are not the test-mode sequence fail the run") {
    const std::vector<std::string> sessions = {"--mode",
                                               "session",
                                               "--n",
                                               "50",
                                               "--batch",
                                               "5",
                                               "--connections",
                                               "1",
                                               "--sessions-per-connection",
                                               "2",
                                               "--test-mode"};
    SUBCASE("control: a server in test mode passes") {
      running_server server({}, /*test_mode=*/true);
      const auto result = run_bench(server.port(), sessions);
      INFO("bench stdout:\n" << result.out);
      CHECK(result.exit_code() == 0);
      CHECK(json_field(result.out, "numbers_checked_against_generator") ==
            std::optional<std::string>("100"));
    }
    SUBCASE("a server in normal mode fails") {
      running_server server({}, /*test_mode=*/false);
      check_rejected(run_bench(server.port(), sessions),
                     "NUM for batch 0 differs from the test-mode generator");
    }
  }
}

}  // namespace numsequence::integration
