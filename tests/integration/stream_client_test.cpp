// numsequence-client STREAM against the real server's WebSocket stream: lines through a pipe
// answered exactly, bad lines, a stream dropped mid-answer, a restarted server, a server that
// is gone, and a person at a terminal (a pseudo-terminal). Expected numbers come from the
// library's GMP values; the md5 values are Python's (hashlib.md5(str(list).encode())).

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

constexpr milliseconds stream_timeout = seconds(60);

/// The port of the server's HTTP listener: its second stdout line.
std::string http_port(running_server& server) {
  const auto line = server.process().read_stdout_line(server_ready_timeout);
  REQUIRE_MESSAGE(line.has_value(), "no second line from the server");
  constexpr std::string_view prefix = "http listening on 127.0.0.1:";
  REQUIRE_MESSAGE(line->starts_with(prefix), "unexpected second line: " << *line);
  return line->substr(prefix.size());
}

/// A server with its HTTP listener on a free port.
struct http_server {
  explicit http_server(std::vector<std::string> args = {})
      : server(with_http(std::move(args))), port(http_port(server)) {}
  static std::vector<std::string> with_http(std::vector<std::string> args) {
    args.insert(args.begin(), {"--http", "0"});
    return args;
  }
  running_server server;
  std::string port;
};

/// The client's stdout for F(first) ... F(first + count - 1): the numbers, then the summary.
std::string answer(std::uint64_t first, std::uint64_t count, std::string_view python_md5) {
  std::string out;
  list_checksum sum;
  for (std::uint64_t k = first; k < first + count; ++k) {
    const std::string value = fibonacci_value(k);
    sum.add_decimal(value);
    out += value + "\n";
  }
  CHECK_MESSAGE(to_hex(sum.finish()) == python_md5, "the library's md5 is not Python's");
  return out + "done count=" + std::to_string(count) + " md5=" + std::string(python_md5) + "\n";
}

/// Runs `numsequence-client STREAM port args...` with `input` piped into its stdin.
run_result run_stream(const temp_dir& dir, const std::string& port, std::string_view input,
                      std::vector<std::string> args = {}) {
  const auto input_file = dir.path() / "input";
  std::ofstream(input_file, std::ios::binary) << input;
  process_options o;
  o.argv = {"/bin/sh",
            "-c",
            "in=$1 bin=$2 port=$3; shift 3; cat \"$in\" | \"$bin\" STREAM \"$port\" \"$@\"",
            "sh",
            input_file.string(),
            client_binary,
            port};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.working_dir = dir.path();
  return run_process(o, stream_timeout);
}

void show(const run_result& r) {
  INFO("client stdout:\n" << r.out.substr(0, 4000));
  INFO("client stderr:\n" << r.err);
  REQUIRE(r.status.has_value());
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// A FIFO the client reads its lines from, held open for writing by the test, so lines can
/// be typed one at a time and the end of the input comes when the test says.
class line_feed {
 public:
  explicit line_feed(const temp_dir& dir) : path_((dir.path() / "lines").string()) {
    REQUIRE(::mkfifo(path_.c_str(), 0600) == 0);
    // Read-write: the open does not wait for a reader, and the FIFO ends only at close().
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd_ >= 0);
  }
  ~line_feed() { close(); }
  line_feed(const line_feed&) = delete;
  line_feed& operator=(const line_feed&) = delete;

  const std::string& path() const noexcept { return path_; }
  void type(std::string_view line) {
    const std::string text = std::string(line) + "\n";
    REQUIRE(::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::unique_ptr<child_process> start_stream_from(const line_feed& feed, const std::string& port,
                                                 const temp_dir& dir) {
  process_options o;
  o.argv = {"/bin/sh", "-c",       "exec \"$1\" STREAM \"$2\" < \"$3\"", "sh", client_binary,
            port,      feed.path()};
  o.working_dir = dir.path();
  return std::make_unique<child_process>(o);
}

/// The client on a pseudo-terminal: what it writes there (stdout and stderr both, with the
/// terminal's CR LF), and its exit status. The test types into the terminal.
class terminal_client {
 public:
  explicit terminal_client(const std::string& port) {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master_ >= 0);
    REQUIRE(::grantpt(master_) == 0);
    REQUIRE(::unlockpt(master_) == 0);
    const std::string slave = ::ptsname(master_);
    std::vector<std::string> args = {client_binary, "STREAM", port};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec: the test has other threads.
      ::setsid();
      const int fd = ::open(slave.c_str(), O_RDWR);
      if (fd < 0 || ::ioctl(fd, TIOCSCTTY, 0) != 0)
        ::_exit(127);
      ::dup2(fd, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~terminal_client() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(master_);
  }
  terminal_client(const terminal_client&) = delete;
  terminal_client& operator=(const terminal_client&) = delete;

  void type(std::string_view keys) {
    REQUIRE(::write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }

  /// Reads what the terminal shows until it contains `text`; false at the deadline or when
  /// the client's side is closed first.
  bool wait_for(std::string_view text, milliseconds timeout) {
    const auto deadline = test_clock::now() + timeout;
    while (!contains(screen_, text)) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - test_clock::now());
      if (left.count() <= 0 || !read_once(static_cast<int>(left.count())))
        return false;
    }
    return true;
  }

  /// Reads until the client closes its terminal, then its exit code (-1 if it did not exit).
  int wait_exit(milliseconds timeout) {
    const auto deadline = test_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - test_clock::now());
      if (left.count() <= 0 || !read_once(static_cast<int>(left.count())))
        break;
    }
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_)
      return -1;
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& screen() const noexcept { return screen_; }

 private:
  bool read_once(int timeout_ms) {
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return false;
    char buf[4096];
    const ssize_t n = ::read(master_, buf, sizeof buf);
    if (n <= 0)
      return false;  // EIO: every descriptor of the terminal's other side is closed
    screen_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int master_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string screen_;
};

constexpr std::string_view md5_n10 = "352a3175a68fe92cfe03bc0c2f02c9d6";
constexpr std::string_view md5_5_7 = "83d830f77868194f60ed83049f650fae";
constexpr std::string_view md5_n5 = "cfed83aeea304f32a65cb64b4a1bf0a1";
constexpr std::string_view md5_empty = "d751713988987e9331980363e24189ce";
constexpr std::string_view md5_1500_1502 = "eeb22e3ea8da6b96170454d21e3d6ddd";
constexpr std::string_view md5_n2000 = "33c9094ad5fdb1f55d9f2ff23f109a3a";
// F(160000) ... F(160010): 33,438 digits each, so each answer frame holds one number.
constexpr std::string_view md5_160000_160010 = "b5678f6381ec1b7f7421f782438ce999";

}  // namespace

TEST_SUITE("stream client") {
  TEST_CASE("stream client: lines through a pipe are answered exactly and EOF exits 0") {
    http_server s;
    temp_dir dir;
    const auto r = run_stream(dir, s.port, "10\n5 7\n0\n1500 1502\n");
    show(r);
    CHECK(r.exit_code() == 0);
    CHECK(r.out == answer(0, 10, md5_n10) + answer(5, 3, md5_5_7) + answer(0, 0, md5_empty) +
                       answer(1500, 3, md5_1500_1502));
    CHECK(r.err.empty());  // no prompt, no note: stdin is not a terminal
  }

  TEST_CASE("stream client: empty input connects, then exits 0 with no output") {
    http_server s;
    temp_dir dir;
    const auto r = run_stream(dir, s.port, "");
    show(r);
    CHECK(r.exit_code() == 0);
    CHECK(r.out.empty());
  }

  TEST_CASE("stream client: bad lines get a message and the next line is still answered") {
    http_server s;
    temp_dir dir;
    const auto r = run_stream(dir, s.port, "abc\n-3\n1 2 3\n9 5\n30000\n\n5\n");
    show(r);
    CHECK(r.exit_code() == 3);
    CHECK(r.out == answer(0, 5, md5_n5));
    CHECK(contains(r.err, "line 1: \"abc\" is not a whole number"));
    CHECK(contains(r.err, "line 2: negative number \"-3\""));
    CHECK(contains(r.err, "line 3: expected one or two numbers, got 3 words"));
    CHECK(contains(r.err, "line 4: A must not be greater than B, got 9 and 5"));
    // The server's own limit, in its error frame.
    CHECK(contains(r.err, "line 5: the server refused the request: n must be at most 25000"));
    CHECK_FALSE(contains(r.err, "line 6"));  // a blank line is no mistake
    CHECK_FALSE(contains(r.err, "line 7"));
  }

  TEST_CASE("stream client: a stream dropped mid-answer is resumed to the exact sequence") {
    // Each socket is dropped once it has written 3 answer frames: the 2,000 numbers (422 KB
    // of JSON, 16 KiB frames) take about nine sockets, and the other lines cut in too.
    http_server s({"--test-drop-websocket-after", "3"});
    temp_dir dir;
    const auto r = run_stream(dir, s.port, "2000\n10\n5 7\n");
    show(r);
    CHECK(r.exit_code() == 0);
    CHECK(r.out == answer(0, 2000, md5_n2000) + answer(0, 10, md5_n10) + answer(5, 3, md5_5_7));
    CHECK(contains(r.err,
                   "line 1: connection lost (connection closed by the server); "
                   "resuming at F("));
    CHECK_FALSE(contains(r.err, "retrying"));  // every drop followed progress: no back-off
    // The third line's numbers are its socket's third frame: its done frame never comes, and
    // the answer is complete without it.
    CHECK(contains(r.err,
                   "line 3: the connection dropped after the last number, before the "
                   "server's checksum of the numbers from F(5): those are not checked"));
  }

  TEST_CASE("stream client: frames of one large number each are resumed one socket at a time") {
    // F(160000) has 33,438 digits: one number per frame, three frames per socket.
    http_server s({"--test-drop-websocket-after", "3", "--max-fibonacci", "200000"});
    temp_dir dir;
    const auto r = run_stream(dir, s.port, "160000 160010\n");
    show(r);
    CHECK(r.exit_code() == 0);
    CHECK(r.out == answer(160000, 11, md5_160000_160010));
    for (const std::string next : {"160003", "160006", "160009"})
      CHECK(contains(r.err,
                     "line 1: connection lost (connection closed by the server); "
                     "resuming at F(" +
                         next + ")"));
  }

  TEST_CASE("stream client: a restarted server is reconnected and the next line answered") {
    temp_dir dir;
    line_feed feed(dir);
    auto first = std::make_unique<http_server>();
    const std::string port = first->port;
    auto client = start_stream_from(feed, port, dir);
    feed.type("10");
    REQUIRE_MESSAGE(client->wait_for_stdout_containing("done count=10", stream_timeout),
                    client->stderr_text());
    // Answered while the input is still open: the output is flushed per answer.
    first.reset();  // SIGTERM: the server says goodbye (1001) and exits 0
    running_server second({"--http", port});
    feed.type("5 7");
    REQUIRE_MESSAGE(client->wait_for_stdout_containing("done count=3", stream_timeout),
                    client->stderr_text());
    feed.close();
    const auto status = client->wait(stream_timeout);
    INFO("client stderr:\n" << client->stderr_text());
    REQUIRE(status.has_value());
    CHECK(status->code == 0);
    CHECK(client->stdout_text() == answer(0, 10, md5_n10) + answer(5, 3, md5_5_7));
    CHECK(contains(client->stderr_text(), "line 2: connection lost"));
  }

  TEST_CASE("stream client: a server that is gone is retried, then the client exits 4") {
    std::string port;
    {
      http_server s;
      port = s.port;
    }
    temp_dir dir;
    const auto r = run_stream(dir, port, "10\n", {"--retries", "2"});
    show(r);
    CHECK(r.exit_code() == 4);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "cannot connect to ws://127.0.0.1:" + port + "/v1/stream"));
    CHECK(contains(r.err, "retrying in 100 ms"));
    CHECK(contains(r.err, "retrying in 200 ms"));
    CHECK(contains(r.err, "gave up after 3 consecutive failed attempts"));
  }

  TEST_CASE("stream client: the TCP protocol's port is no stream, and the message says so") {
    running_server tcp_only;
    temp_dir dir;
    const auto r = run_stream(dir, tcp_only.port_text(), "10\n", {"--retries", "0"});
    show(r);
    CHECK(r.exit_code() == 4);
    CHECK(contains(r.err, "the server's --http port?"));
  }

  TEST_CASE("stream client: a terminal gets a prompt on stderr and the numbers as they come") {
    http_server s;
    terminal_client term(s.port);
    REQUIRE_MESSAGE(term.wait_for("> ", stream_timeout), term.screen());
    CHECK(contains(term.screen(), "Type N for F(0) ... F(N-1), or A B for F(A) ... F(B)"));
    term.type("5\n");
    REQUIRE_MESSAGE(term.wait_for("done count=5", stream_timeout), term.screen());
    term.type("x\n");
    REQUIRE_MESSAGE(term.wait_for("\"x\" is not a whole number", stream_timeout), term.screen());
    term.type("\x04");  // Ctrl-D at the start of a line: the end of the input
    const int code = term.wait_exit(stream_timeout);
    INFO("terminal:\n" << term.screen());
    CHECK(code == 3);  // the bad line
    // The terminal shows output with CR LF (its ONLCR), the numbers one per line.
    CHECK(contains(term.screen(),
                   "0\r\n1\r\n1\r\n2\r\n3\r\ndone count=5 md5=" + std::string(md5_n5)));
  }

  TEST_CASE("stream client: a missing port or STREAM after an option is a usage error") {
    temp_dir dir;
    const auto r = run_client({"STREAM"}, dir.path());
    show(r);
    CHECK(r.exit_code() == 2);
    CHECK(contains(r.err, "STREAM takes HTTP_PORT"));
    const auto late = run_client({"--retries", "3", "STREAM", "8080"}, dir.path());
    CHECK(late.exit_code() == 2);
    CHECK(contains(late.err, "STREAM must come first"));
    const auto help = run_client({"STREAM", "--help"}, dir.path());
    CHECK(help.exit_code() == 0);
    CHECK(contains(help.out, "Examples:"));
  }
}

}  // namespace numsequence::integration
