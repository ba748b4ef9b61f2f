// Command lines of both binaries: help, version, usage errors, damaged state files, signals.

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "json_fields.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

#ifndef NUMSEQUENCE_EXPECTED_VERSION
#define NUMSEQUENCE_EXPECTED_VERSION ""
#endif

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

run_result run_server_once(std::vector<std::string> args) {
  process_options options;
  options.argv = {server_binary};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  return run_process(options, seconds(20));
}

/// @brief CONTINUE with a damaged state file: exit 2, "state file" on stderr, no crash.
void check_damaged_state_rejected(const run_result& result) {
  INFO("client stdout:\n" << result.out);
  INFO("client stderr:\n" << result.err);
  REQUIRE(result.status.has_value());
  CHECK_MESSAGE(result.status->exited, result.status->describe());
  CHECK(result.exit_code() == 2);
  CHECK(lower(result.err).find("state file") != std::string::npos);
  CHECK(result.out.find("The SUM of numbers is") == std::string::npos);
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("--help exits 0 and shows an example") {
    for (const auto& binary : {client_binary, server_binary}) {
      CAPTURE(binary);
      const auto result = run_process({{binary, "--help"}, {}, {}, {}}, seconds(20));
      INFO("stdout:\n" << result.out);
      CHECK(result.exit_code() == 0);
      CHECK(lower(result.out).find("example") != std::string::npos);
    }
  }

  TEST_CASE("--version exits 0 and prints the project version") {
    for (const auto& binary : {client_binary, server_binary}) {
      CAPTURE(binary);
      const auto result = run_process({{binary, "--version"}, {}, {}, {}}, seconds(20));
      INFO("stdout:\n" << result.out);
      CHECK(result.exit_code() == 0);
      CHECK(result.out.find(NUMSEQUENCE_EXPECTED_VERSION) != std::string::npos);
      CHECK_FALSE(result.out.empty());
    }
  }

  TEST_CASE("client usage errors exit 2 with a message") {
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"NEW", "abc", "5000"},
        {"NEW", "-5", "5000"},
        {"NEW", "65536", "5000"},
        {"NEW", "5", "70000"},
        {"NEW", "5", "5000", "--client_id", "not-a-uuid"},
        {"NEW", "5", "5000", "--batch-size", "0"},
        {"NEW", "5", "5000", "--no-such-option"},
        {"FOO", "5000"},
        {"CONTINUE"},
    };
    temp_dir dir;
    for (const auto& args : cases) {
      std::string joined;
      for (const auto& a : args) {
        joined += a + " ";
      }
      CAPTURE(joined);
      const auto result = run_client(args, dir.path(), seconds(30));
      INFO("stdout:\n" << result.out);
      INFO("stderr:\n" << result.err);
      CHECK(result.exit_code() == 2);
      CHECK_FALSE(result.err.empty());
    }
  }

  TEST_CASE("server usage errors fail with a message and no crash") {
    for (const auto& args :
         std::vector<std::vector<std::string>>{{},
                                               {"abc"},
                                               {"0", "--session-timeout", "soon"},
                                               {"0", "--no-such-option"},
                                               {"0", "--max-sessions", "-1"},
                                               {"0", "--max-sessions", "many"}}) {
      const auto result = run_server_once(args);
      INFO("stderr:\n" << result.err);
      REQUIRE(result.status.has_value());
      CHECK(result.status->exited);
      CHECK(result.exit_code() != 0);
      CHECK_FALSE(result.err.empty());
    }
  }

  TEST_CASE("CONTINUE without a state file exits 2") {
    running_server server;
    temp_dir dir;
    check_damaged_state_rejected(run_client({"CONTINUE", server.port_text()}, dir.path()));
  }

  TEST_CASE("CONTINUE with a garbage state file exits 2 and names the state file") {
    running_server server;
    temp_dir dir;
    std::string garbage;
    for (int i = 0; i < 512; ++i) {
      garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
    }
    write_file(dir.state_file(), garbage);
    check_damaged_state_rejected(run_client({"CONTINUE", server.port_text()}, dir.path()));

    write_file(dir.state_file(), "");
    check_damaged_state_rejected(run_client({"CONTINUE", server.port_text()}, dir.path()));
  }

  TEST_CASE("CONTINUE with a state file truncated in half exits 2 and names the state file") {
    running_server server;
    temp_dir dir;
    const auto first = run_client(
        {"NEW", "10", server.port_text(), "--client_id", std::string(golden_id)}, dir.path());
    REQUIRE(first.exit_code() == 0);
    const auto whole = read_file(dir.state_file());
    REQUIRE(whole.size() >= 2);
    write_file(dir.state_file(), std::string_view(whole).substr(0, whole.size() / 2));
    check_damaged_state_rejected(run_client({"CONTINUE", server.port_text()}, dir.path()));
    // One byte short is damaged too.
    write_file(dir.state_file(), std::string_view(whole).substr(0, whole.size() - 1));
    check_damaged_state_rejected(run_client({"CONTINUE", server.port_text()}, dir.path()));
  }

  TEST_CASE("a state file with a flipped byte never yields a wrong sum or a crash") {
    running_server server;
    temp_dir dir;
    const auto first = run_client(
        {"NEW", "10", server.port_text(), "--client_id", std::string(golden_id)}, dir.path());
    REQUIRE(first.exit_code() == 0);
    const auto whole = read_file(dir.state_file());
    REQUIRE_FALSE(whole.empty());
    const auto good = valid_result_lines(531, "9b14501c5359fb4eac96df9e874348b2");
    const std::size_t steps = std::min<std::size_t>(whole.size(), 16);
    for (std::size_t s = 0; s < steps; ++s) {
      const std::size_t at = s * whole.size() / steps;
      CAPTURE(at);
      std::string damaged = whole;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x04);
      write_file(dir.state_file(), damaged);
      const auto result = run_client({"CONTINUE", server.port_text()}, dir.path());
      INFO("stdout:\n" << result.out);
      INFO("stderr:\n" << result.err);
      REQUIRE(result.status.has_value());
      CHECK_MESSAGE(result.status->exited, result.status->describe());
      if (result.exit_code() == 0) {
        CHECK(last_lines(result.out_lines(), 2) == good);
      } else {
        CHECK(result.out.find("is valid!") == std::string::npos);
        CHECK(result.exit_code() != 1);  // not a "mismatch" from the client's own damage
      }
    }
  }

  TEST_CASE("--state-file puts the state where asked") {
    running_server server;
    temp_dir dir;
    const auto path = dir.path() / "custom-state";
    const auto result = run_client({"NEW", "10", server.port_text(), "--client_id",
                                    std::string(golden_id), "--state-file", path.string()},
                                   dir.path());
    CHECK(result.exit_code() == 0);
    CHECK(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(dir.state_file()));
    const auto again =
        run_client({"CONTINUE", server.port_text(), "--state-file", path.string()}, dir.path());
    CHECK(again.exit_code() == 0);
    CHECK(last_lines(again.out_lines(), 2) ==
          valid_result_lines(531, "9b14501c5359fb4eac96df9e874348b2"));
  }

  TEST_CASE("--host 127.0.0.1 on both sides works") {
    running_server server({"--host", "127.0.0.1"});
    temp_dir dir;
    const auto result = run_client({"NEW", "5", server.port_text(), "--host", "127.0.0.1",
                                    "--client_id", std::string(golden_id)},
                                   dir.path());
    CHECK(result.exit_code() == 0);
    CHECK(last_lines(result.out_lines(), 2) ==
          valid_result_lines(264, "f90b20dae8c9b7d7be2a5fb7cc856e8b"));
  }

  TEST_CASE("NEW without N picks n in 1..65535 and says which") {
    running_server server;
    temp_dir dir;
    const auto result = run_client({"NEW", server.port_text(), "--json"}, dir.path());
    INFO("stdout:\n" << result.out);
    INFO("stderr:\n" << result.err);
    CHECK(result.exit_code() == 0);
    const auto n_text = json_field(result.out, "n");
    REQUIRE(n_text.has_value());
    const auto n = std::stoul(*n_text);
    CHECK(n >= 1);
    CHECK(n <= 65535);
  }

  TEST_CASE("the server exits 0 on SIGTERM and on SIGINT with a connection open") {
    for (const int sig : {SIGTERM, SIGINT}) {
      CAPTURE(sig);
      running_server server;
      auto conn = server.connect();
      REQUIRE(conn.send("INIT," + std::string(golden_id) + ",5,5;", reply_timeout));
      CHECK(conn.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
      const auto status = server.stop(sig);
      INFO("server stderr:\n" << server.process().stderr_text());
      REQUIRE(status.has_value());
      CHECK_MESSAGE(status->success(), status->describe());
      CHECK(conn.wait_closed_silently(reply_timeout));
    }
  }
}

}  // namespace numsequence::integration
