// Self-tests of the harness against ordinary programs (/bin/sh, /bin/cat) and an
// in-process listener, so a failure in the real tests points at the binaries, not here.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "fake_server.hpp"
#include "json_fields.hpp"
#include "process.hpp"
#include "tcp.hpp"

namespace numsequence::integration {
namespace {

process_options sh(std::string script) {
  return {{"/bin/sh", "-c", std::move(script)}, {}, {}, {}};
}

}  // namespace

TEST_SUITE("harness") {
  TEST_CASE("child_process captures stdout and stderr apart and reports the exit code") {
    child_process child(sh("echo out1; echo err1 >&2; echo out2; exit 3"));
    const auto status = child.wait(seconds(10));
    REQUIRE(status.has_value());
    CHECK(status->exited);
    CHECK(status->code == 3);
    CHECK(child.stdout_text() == "out1\nout2\n");
    CHECK(child.stderr_text() == "err1\n");
    CHECK(child.read_stdout_line(milliseconds(100)) == std::optional<std::string>("out1"));
    CHECK(child.read_stdout_line(milliseconds(100)) == std::optional<std::string>("out2"));
    CHECK_FALSE(child.read_stdout_line(milliseconds(100)).has_value());
    CHECK_FALSE(child.running());
  }

  TEST_CASE("read_stdout_line times out on a silent child and kill ends it") {
    child_process child(sh("echo first; exec sleep 30"));
    CHECK(child.read_stdout_line(seconds(10)) == std::optional<std::string>("first"));
    const auto before = test_clock::now();
    CHECK_FALSE(child.read_stdout_line(milliseconds(200)).has_value());
    CHECK(test_clock::now() - before >= milliseconds(150));
    CHECK(child.running());
    CHECK_FALSE(child.wait(milliseconds(50)).has_value());
    CHECK(child.kill(SIGTERM));
    const auto status = child.wait(seconds(10));
    REQUIRE(status.has_value());
    CHECK_FALSE(status->exited);
    CHECK(status->signal == SIGTERM);
    CHECK_FALSE(child.kill(SIGTERM));
  }

  TEST_CASE("a last stdout line without newline is returned at end of file") {
    child_process child(sh("printf 'a\\nb'"));
    CHECK(child.read_stdout_line(seconds(10)) == std::optional<std::string>("a"));
    CHECK(child.read_stdout_line(seconds(10)) == std::optional<std::string>("b"));
    CHECK_FALSE(child.read_stdout_line(milliseconds(100)).has_value());
  }

  TEST_CASE("wait_for_stderr_containing sees text and times out on text that never comes") {
    child_process child(
        sh("echo starting >&2; echo 'Purging client info for: 1234' >&2; "
           "exec sleep 30"));
    CHECK(child.wait_for_stderr_containing("Purging client info for: 1234", seconds(10)));
    const auto before = test_clock::now();
    CHECK_FALSE(child.wait_for_stderr_containing("never printed", milliseconds(200)));
    CHECK(test_clock::now() - before >= milliseconds(150));
  }

  TEST_CASE("a child writing a lot to stderr is never blocked on the pipe") {
    child_process child(sh("head -c 1000000 /dev/zero >&2; echo done"));
    CHECK(child.wait_for_stdout_containing("done", seconds(20)));
    const auto status = child.wait(seconds(10));
    REQUIRE(status.has_value());
    CHECK(status->success());
    CHECK(child.stderr_text().size() == 1000000);
  }

  TEST_CASE("environment variables are set and removed for the child") {
    REQUIRE(::setenv("NUMSEQUENCE_IT_PROBE", "inherited", 1) == 0);
    process_options options = sh("echo \"set=$NUMSEQUENCE_IT_EXTRA gone=$NUMSEQUENCE_IT_PROBE\"");
    options.set_env.emplace_back("NUMSEQUENCE_IT_EXTRA", "yes");
    options.unset_env.emplace_back("NUMSEQUENCE_IT_PROBE");
    const auto removed = run_process(options, seconds(10));
    CHECK(removed.out == "set=yes gone=\n");
    const auto inherited = run_process(sh("echo \"$NUMSEQUENCE_IT_PROBE\""), seconds(10));
    CHECK(inherited.out == "inherited\n");
    ::unsetenv("NUMSEQUENCE_IT_PROBE");
  }

  TEST_CASE("the working directory is the one given (cat reads a relative path)") {
    auto dir = std::filesystem::temp_directory_path() /
               ("numsequence-it-self-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    { std::ofstream(dir / "hello.txt") << "hello from the working dir\n"; }
    const auto result = run_process({{"/bin/cat", "hello.txt"}, {}, {}, dir}, seconds(10));
    std::filesystem::remove_all(dir);
    CHECK(result.exit_code() == 0);
    CHECK(result.out == "hello from the working dir\n");
  }

  TEST_CASE("the destructor kills and reaps a running child") {
    pid_t pid = -1;
    {
      child_process child(sh("exec sleep 30"));
      pid = child.pid();
      CHECK(child.running());
    }
    // Reaped: the pid no longer names a process of ours (not even a zombie).
    CHECK(::kill(pid, 0) != 0);
  }

  TEST_CASE("starting a missing program throws") {
    CHECK_THROWS_AS(child_process({{"/nonexistent/numsequence-nothing"}, {}, {}, {}}),
                    std::system_error);
  }

  TEST_CASE("a missing working directory throws") {
    CHECK_THROWS_AS(child_process({{"/bin/sh", "-c", "true"}, {}, {}, "/nonexistent/numsequence"}),
                    std::system_error);
  }

  TEST_CASE("a child dies with the thread that started it (no orphans if a test is killed)") {
    std::unique_ptr<child_process> orphan;
    std::thread([&] { orphan = std::make_unique<child_process>(sh("exec sleep 30")); }).join();
    const auto status = orphan->wait(seconds(10));
    REQUIRE(status.has_value());
    CHECK_FALSE(status->exited);
    CHECK(status->signal == SIGKILL);
  }

  TEST_CASE("run_process kills a child that outlives its timeout") {
    const auto before = test_clock::now();
    const auto result = run_process(sh("echo partial; exec sleep 30"), milliseconds(300));
    CHECK_FALSE(result.status.has_value());
    CHECK(result.out == "partial\n");
    CHECK(test_clock::now() - before < seconds(10));
  }

  TEST_CASE("split_lines and split_replies") {
    CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b"});
    CHECK(split_lines("a\n\nb") == std::vector<std::string>{"a", "", "b"});
    CHECK(split_lines("").empty());
    CHECK(split_replies("ACK;NUM,1:2;FA") == std::vector<std::string>{"ACK;", "NUM,1:2;"});
  }

  TEST_CASE("json_field reads keys, not values that look like keys") {
    const std::string json =
        R"({"outcome":"valid", "valid" : true,"n":10,"error":"a \"b\"","x":null})";
    CHECK(json_field(json, "valid") == std::optional<std::string>("true"));
    CHECK(json_field(json, "outcome") == std::optional<std::string>("valid"));
    CHECK(json_field(json, "n") == std::optional<std::string>("10"));
    CHECK(json_field(json, "error") == std::optional<std::string>(R"(a \"b\")"));
    CHECK(json_field(json, "x") == std::optional<std::string>("null"));
    CHECK_FALSE(json_field(json, "missing").has_value());
  }

  TEST_CASE("tcp_client reads replies in order then sees the orderly close") {
    loopback_listener listener([](int conn) {
      char request[64];
      const auto got = ::recv(conn, request, sizeof request, 0);
      if (got > 0 && std::string_view(request, static_cast<std::size_t>(got)) == "INIT;") {
        write_all(conn, "ACK;NUM,1:");
        write_all(conn, "2;");
      }
    });
    auto client = tcp_client::connect(listener.port(), seconds(5));
    REQUIRE(client.has_value());
    REQUIRE(client->send("INIT;", seconds(5)));
    CHECK(client->read_replies(2, seconds(5)) == std::vector<std::string>{"ACK;", "NUM,1:2;"});
    CHECK(client->wait_closed_silently(seconds(5)));
    CHECK_FALSE(client->reset());
  }

  TEST_CASE("tcp_client returns fewer replies when the peer closes early") {
    loopback_listener listener([](int conn) { write_all(conn, "ERR,bad;trailing"); });
    auto client = tcp_client::connect(listener.port(), seconds(5));
    REQUIRE(client.has_value());
    CHECK(client->read_replies(3, seconds(5)) == std::vector<std::string>{"ERR,bad;"});
    CHECK(client->closed());
    CHECK(client->read_until_closed(seconds(1)) == "trailing");
  }

  TEST_CASE("tcp_client read times out when the peer says nothing") {
    loopback_listener listener([](int conn) {
      char byte = 0;
      // Wait for the client to hang up, then return.
      [[maybe_unused]] auto got = ::recv(conn, &byte, 1, 0);
    });
    auto client = tcp_client::connect(listener.port(), seconds(5));
    REQUIRE(client.has_value());
    const auto before = test_clock::now();
    CHECK_FALSE(client->read_reply(milliseconds(200)).has_value());
    CHECK(test_clock::now() - before >= milliseconds(150));
    CHECK_FALSE(client->closed());
    client->close();
  }

  TEST_CASE("tcp_client connect to a port nobody listens on fails quickly") {
    std::uint16_t port = 0;
    {
      loopback_listener listener([](int) {});
      port = listener.port();
      auto client = tcp_client::connect(port, seconds(5));  // let the listener finish
    }
    CHECK_FALSE(tcp_client::connect(port, seconds(5)).has_value());
  }
}

}  // namespace numsequence::integration
