// The reference's documented manual scenarios 1-5, run with the real client and server
// and compared line by line with the reference's expected output.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "json_fields.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

const std::string id(golden_id);

const std::vector<std::string> scenario_4_new_lines = {
    "Sending message: 'INIT," + id + ",10,5;'",
    "Received: ACK;",
    "Requesting numbers",
    "Sending message: 'RECV,0;'",
    "Received: NUM,6:41:81:68:68;",
    "Sending message: 'RECV,1;'",
    "Received: NUM,41:10:40:78:98;",
    "Sending message: 'FIN;'",
    "Received: FAC,9b14501c5359fb4eac96df9e874348b2;",
    "Closing the connection",
    "The SUM of numbers is: 531",
    "Checksum (9b14501c5359fb4eac96df9e874348b2) is valid!",
};

const std::vector<std::string> scenario_4_continue_lines = {
    "Sending message: 'CONT," + id + ";'",
    "Received: ACK;",
    "Requesting numbers",
    "Skipping chunk-nr: 0",
    "Skipping chunk-nr: 1",
    "Sending message: 'FIN;'",
    "Received: FAC,9b14501c5359fb4eac96df9e874348b2;",
    "Closing the connection",
    "The SUM of numbers is: 531",
    "Checksum (9b14501c5359fb4eac96df9e874348b2) is valid!",
};

void check_run(const run_result& result, int code, const std::vector<std::string>& lines) {
  INFO("client stdout:\n" << result.out);
  INFO("client stderr:\n" << result.err);
  REQUIRE_MESSAGE(result.status.has_value(), "the client did not finish in time");
  CHECK_MESSAGE(result.status->exited, result.status->describe());
  CHECK(result.exit_code() == code);
  CHECK(result.out_lines() == lines);
}

}  // namespace

TEST_SUITE("scenarios") {
  TEST_CASE("reference scenario 1: a new sequence of 5") {
    running_server server;
    temp_dir dir;
    const auto result =
        run_client({"NEW", "5", server.port_text(), "--client_id", id, "--verbose"}, dir.path());
    check_run(result, 0, scenario_1_lines());
  }

  TEST_CASE("reference scenario 2: the same id again within the purge window is refused") {
    running_server server;
    temp_dir dir;
    const std::vector<std::string> args = {"NEW",         "5", server.port_text(),
                                           "--client_id", id,  "--verbose"};
    check_run(run_client(args, dir.path()), 0, scenario_1_lines());
    check_run(
        run_client(args, dir.path()), 3,
        {"Sending message: 'INIT," + id + ",5,5;'", "Received: ERR," + id + " already exist;"});
  }

  TEST_CASE("reference scenario 3: 10000 numbers through forced drops in one command") {
    running_server server({"--session-timeout", "0.05"});
    temp_dir dir;
    const auto result = run_client({"NEW", "10000", server.port_text(), "--client_id", id},
                                   dir.path(), seconds(100));
    INFO("client stdout:\n" << result.out);
    INFO("client stderr:\n" << result.err);
    CHECK(result.exit_code() == 0);
    CHECK(last_lines(result.out_lines(), 2) ==
          valid_result_lines(504721, "589f9ca74cb5ea9a32eddd14840d5b64"));
  }

  TEST_CASE("reference scenario 3 with --json reports reconnects") {
    // --interval makes the transfer outlast many 50 ms session timers whatever the machine.
    running_server server({"--session-timeout", "0.05", "--interval", "0.001"});
    temp_dir dir;
    const auto result =
        run_client({"NEW", "10000", server.port_text(), "--client_id", id, "--json"}, dir.path(),
                   seconds(100));
    INFO("client stdout:\n" << result.out);
    INFO("client stderr:\n" << result.err);
    CHECK(result.exit_code() == 0);
    const auto lines = result.out_lines();
    REQUIRE_MESSAGE(lines.size() == 1, "--json prints one object");
    const auto& json = lines.front();
    CHECK(json.starts_with("{"));
    CHECK(json.ends_with("}"));
    CHECK(json_field(json, "client_id") == std::optional<std::string>(id));
    CHECK(json_field(json, "n") == std::optional<std::string>("10000"));
    CHECK(json_field(json, "batch") == std::optional<std::string>("5"));
    CHECK(json_field(json, "sum") == std::optional<std::string>("504721"));
    CHECK(json_field(json, "checksum") ==
          std::optional<std::string>("589f9ca74cb5ea9a32eddd14840d5b64"));
    CHECK(json_field(json, "server_checksum") ==
          std::optional<std::string>("589f9ca74cb5ea9a32eddd14840d5b64"));
    CHECK(json_field(json, "valid") == std::optional<std::string>("true"));
    const auto reconnects = json_field(json, "reconnects");
    REQUIRE(reconnects.has_value());
    CHECK_MESSAGE(std::stoul(*reconnects) > 0, "expected drops to force reconnects: " << json);
  }

  TEST_CASE("reference scenario 4: CONTINUE after completion skips every batch and re-checks") {
    running_server server;
    temp_dir dir;
    check_run(
        run_client({"NEW", "10", server.port_text(), "--client_id", id, "--verbose"}, dir.path()),
        0, scenario_4_new_lines);
    check_run(run_client({"CONTINUE", server.port_text(), "--verbose"}, dir.path()), 0,
              scenario_4_continue_lines);
  }

  TEST_CASE("reference scenario 5: CONTINUE after the purge gets does not exist") {
    running_server server({"--purge-after", "0.5"});
    temp_dir dir;
    check_run(
        run_client({"NEW", "10", server.port_text(), "--client_id", id, "--verbose"}, dir.path()),
        0, scenario_4_new_lines);
    CHECK_MESSAGE(server.process().wait_for_stderr_containing(
                      "Purging client info for client=123e4567", seconds(10)),
                  "server stderr:\n"
                      << server.process().stderr_text());
    check_run(run_client({"CONTINUE", server.port_text(), "--verbose"}, dir.path()), 3,
              {"Sending message: 'CONT," + id + ";'",
               "Received: ERR,Client-id: " + id + " does not exist;"});
    // Only the first 8 characters of an id are logged at info level.
    CHECK_MESSAGE(server.process().stderr_text().find(id) == std::string::npos,
                  "server stderr:\n"
                      << server.process().stderr_text());
  }

  TEST_CASE("the longest sequence (65535) completes valid in one command") {
    running_server server;
    temp_dir dir;
    const std::string long_id = numbered_id(65535);
    const auto params = test_params(long_id, 65535);
    const auto result = run_client({"NEW", "65535", server.port_text(), "--client_id", long_id},
                                   dir.path(), seconds(100));
    INFO("client stdout:\n" << result.out);
    INFO("client stderr:\n" << result.err);
    CHECK(result.exit_code() == 0);
    CHECK(last_lines(result.out_lines(), 2) ==
          valid_result_lines(expected_sum(params), expected_checksum(params)));
  }
}

}  // namespace numsequence::integration
