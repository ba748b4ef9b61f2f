// numsequence-bench: a load generator for numsequence-server, with a TCP ping-pong floor.
//
// Every connection checks what it is sent: each NUM has the batch's size (and, in test
// mode, the numbers the reference's generator gives), a batch asked for again is the same
// as the first time, and each FAC equals the MD5 of the numbers received. A server that is
// fast but wrong makes the run fail (exit 1); it is not a result.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cxxopts.hpp>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "bench_histogram.hpp"
#include "bench_process.hpp"
#include "cli.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/protocol/client_id.hpp"
#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/frame_decoder.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/sequence/sequence.hpp"

namespace {

using namespace numsequence;
using asio::ip::tcp;
using bench::latency_histogram;
using steady = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

constexpr double default_duration = 10;  // seconds; every run is bounded
constexpr double max_duration = 120;
// After the measured window, connections finish what they started (drain in-flight
// requests, check the FAC); a run still going this long after the window is cut.
constexpr auto drain_grace = std::chrono::seconds(30);
// Connections being opened at once per thread, so that thousands of connects do not
// overflow the server's accept backlog.
constexpr unsigned setup_concurrency = 128;

constexpr const char* examples = R"(
Modes:
  session    complete sessions (INIT, RECV every batch, FIN) one after another per connection
  recv       one session of n numbers per connection, then RECV over its batches (wrapping)
             for the duration: the workload comparable with Redis GET
  pingpong   1-byte TCP ping-pong against an echo server inside the bench: the floor
  hold       open the connections mid-session (INIT + one RECV) and report the server's RSS

Examples:
  numsequence-bench --spawn-server build/release/apps/numsequence-server --mode recv \
      --connections 50 --pipeline 16 --duration 3
  numsequence-bench --port 5000 --mode session --connections 8 --n 1000 --json
  numsequence-bench --mode pingpong --duration 3
  numsequence-bench --spawn-server PATH --mode hold --connections 10000 \
      --server-arg=--threads=1

With --spawn-server the bench starts PATH on port 0 with --session-timeout=0 and
--log-level=warning (and --idle-timeout=0 in hold mode) unless a --server-arg sets them,
reports the server's peak RSS (VmHWM) and CPU time, and stops it with SIGTERM.
Exit status: 0 ok, 1 errors or a failed check, 2 usage error.
)";

enum class bench_mode { session, recv, pingpong, hold };

std::string_view mode_name(bench_mode m) {
  switch (m) {
    case bench_mode::session:
      return "session";
    case bench_mode::recv:
      return "recv";
    case bench_mode::pingpong:
      return "pingpong";
    case bench_mode::hold:
      break;
  }
  return "hold";
}

struct bench_options {
  bench_mode mode = bench_mode::session;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string spawn_server;
  std::vector<std::string> server_args;
  std::string server_log;
  unsigned connections = 1;
  unsigned threads = 1;
  double duration = default_duration;
  std::optional<std::uint64_t> sessions_per_connection;
  std::optional<std::uint64_t> max_requests;
  std::uint32_t n = 0;
  std::uint32_t batch = 5;
  unsigned pipeline = 1;
  bool test_mode = false;
  double hold_seconds = 1;
  double setup_timeout = 60;
  bool json = false;
};

// ---------------------------------------------------------------------------------------
// Command line

double parse_positive_seconds(std::string_view option, const std::string& text, double max) {
  const auto d = cli::parse_seconds(option, text);
  const double s = std::chrono::duration<double>(d).count();
  if (s <= 0 || s > max) {
    throw cli::usage_error("invalid --" + std::string(option) + " '" + text +
                           "' (expected seconds, more than 0 and at most " +
                           std::to_string(static_cast<int>(max)) + ")");
  }
  return s;
}

template <class T>
T parse_count_option(const cxxopts::ParseResult& args, const char* name, T min, T max) {
  const auto text = args[name].as<std::string>();
  const auto value = cli::parse_unsigned<T>(text);
  if (!value || *value < min || *value > max) {
    throw cli::usage_error("invalid --" + std::string(name) + " '" + text + "' (expected " +
                           std::to_string(min) + "-" + std::to_string(max) + ")");
  }
  return *value;
}

bench_options parse_command_line(int argc, char** argv) {
  bench_options o;
  // --server-arg values start with dashes themselves, which cxxopts would take for options:
  // take them out first ("--server-arg X" or "--server-arg=X").
  std::vector<char*> rest;
  std::deque<std::string> spelled;  // stable addresses for rest
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--server-arg") {
      if (i + 1 >= argc)
        throw cli::usage_error("--server-arg needs a value");
      o.server_args.emplace_back(argv[++i]);
    } else if (a.starts_with("--server-arg=")) {
      o.server_args.emplace_back(a.substr(std::string_view("--server-arg=").size()));
    } else if (a == "--n" || a.starts_with("--n=")) {
      // cxxopts takes one-letter long options for malformed short ones.
      spelled.push_back("--numbers" + std::string(a.substr(3)));
      rest.push_back(spelled.back().data());
    } else {
      rest.push_back(argv[i]);
    }
  }

  cxxopts::Options options("numsequence-bench",
                           "Load generator for numsequence-server: sessions, RECV round trips, "
                           "a TCP ping-pong floor, and server memory with many connections.");
  options.custom_help("[options]");
  // clang-format off
  options.add_options()
    ("mode", "session, recv, pingpong or hold", cxxopts::value<std::string>()->default_value("session"))
    ("host", "server address", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("port", "server port (not with --spawn-server)", cxxopts::value<std::string>())
    ("spawn-server", "start this numsequence-server on a free port and measure it",
     cxxopts::value<std::string>())
    ("server-arg", "an argument for the spawned server, e.g. --server-arg=--threads=1 "
     "(repeatable)")
    ("server-log", "append the spawned server's stderr to this file (default: discarded)",
     cxxopts::value<std::string>())
    ("connections", "concurrent connections", cxxopts::value<std::string>()->default_value("1"))
    ("threads", "bench threads (one io_context each)",
     cxxopts::value<std::string>()->default_value("1"))
    ("duration", "measured seconds (at most 120); also caps runs bounded by a count",
     cxxopts::value<std::string>()->default_value("10"))
    ("sessions-per-connection", "session mode: stop after this many sessions per connection",
     cxxopts::value<std::string>())
    ("max-requests", "recv and pingpong modes: stop after this many round trips per connection",
     cxxopts::value<std::string>())
    ("n,numbers", "numbers per session, --n also works (default: 65535 in recv and hold modes, "
     "100 in session mode)",
     cxxopts::value<std::string>())
    ("batch", "numbers per batch", cxxopts::value<std::string>()->default_value("5"))
    ("pipeline", "requests in flight per connection", cxxopts::value<std::string>()->default_value("1"))
    ("test-mode", "the server runs in test mode (TEST_MODE=1 for a spawned one): check every "
     "number against the reference generator too")
    ("hold", "hold mode: seconds to keep the connections open once all are up",
     cxxopts::value<std::string>()->default_value("1"))
    ("setup-timeout", "seconds allowed for opening the connections",
     cxxopts::value<std::string>()->default_value("60"))
    ("json", "print one JSON object")
    ("h,help", "show this help");
  // clang-format on

  cxxopts::ParseResult args;
  try {
    args = options.parse(static_cast<int>(rest.size()), rest.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw cli::usage_error(e.what());
  }
  if (args.count("help")) {
    std::cout << options.help() << examples;
    std::exit(0);
  }
  if (!args.unmatched().empty())
    throw cli::usage_error("unexpected argument '" + args.unmatched().front() + "'");

  const auto mode = args["mode"].as<std::string>();
  if (mode == "session") {
    o.mode = bench_mode::session;
  } else if (mode == "recv") {
    o.mode = bench_mode::recv;
  } else if (mode == "pingpong") {
    o.mode = bench_mode::pingpong;
  } else if (mode == "hold") {
    o.mode = bench_mode::hold;
  } else {
    throw cli::usage_error("invalid --mode '" + mode + "' (session, recv, pingpong or hold)");
  }
  o.host = args["host"].as<std::string>();
  if (args.count("spawn-server"))
    o.spawn_server = args["spawn-server"].as<std::string>();
  if (args.count("server-log"))
    o.server_log = args["server-log"].as<std::string>();
  if (args.count("port")) {
    if (!o.spawn_server.empty())
      throw cli::usage_error("--port and --spawn-server exclude each other");
    o.port = cli::parse_port(args["port"].as<std::string>());
  }
  if (o.mode != bench_mode::pingpong && o.spawn_server.empty() && o.port == 0)
    throw cli::usage_error("give --port PORT or --spawn-server PATH");
  if (o.mode == bench_mode::hold && o.spawn_server.empty())
    throw cli::usage_error("hold mode measures the server's memory: it needs --spawn-server");
  if (!o.server_args.empty() && o.spawn_server.empty())
    throw cli::usage_error("--server-arg needs --spawn-server");
  o.connections = parse_count_option<unsigned>(args, "connections", 1, 100000);
  o.threads = parse_count_option<unsigned>(args, "threads", 1, 64);
  o.duration = parse_positive_seconds("duration", args["duration"].as<std::string>(), max_duration);
  if (args.count("sessions-per-connection")) {
    o.sessions_per_connection = parse_count_option<std::uint64_t>(args, "sessions-per-connection",
                                                                  1, std::uint64_t{1} << 40);
  }
  if (args.count("max-requests")) {
    o.max_requests =
        parse_count_option<std::uint64_t>(args, "max-requests", 1, std::uint64_t{1} << 40);
  }
  o.n = o.mode == bench_mode::session ? 100 : max_count;
  if (args.count("numbers"))
    o.n = parse_count_option<std::uint32_t>(args, "numbers", 1, max_count);
  o.batch = parse_count_option<std::uint32_t>(args, "batch", 1, max_batch);
  o.pipeline = parse_count_option<unsigned>(args, "pipeline", 1, 4096);
  o.test_mode = args.count("test-mode") > 0;
  o.hold_seconds = parse_positive_seconds("hold", args["hold"].as<std::string>(), max_duration);
  o.setup_timeout =
      parse_positive_seconds("setup-timeout", args["setup-timeout"].as<std::string>(), 600);
  o.json = args.count("json") > 0;
  return o;
}

// ---------------------------------------------------------------------------------------
// Measurements

/// What the connections of one thread measured; merged once the threads have ended.
struct stats {
  latency_histogram latency;          // round trips inside the window, ns
  latency_histogram session_latency;  // session mode: connect to FAC, ns
  std::uint64_t requests = 0;         // round trips completed inside the window
  std::uint64_t recvs = 0;            // of which RECV -> NUM
  std::uint64_t numbers = 0;          // numbers in those NUMs
  std::uint64_t sessions = 0;         // session mode: sessions completed inside the window
  std::uint64_t recv_total = 0;       // every RECV answered, setup and checks included
  std::uint64_t checksums_verified = 0;
  std::uint64_t numbers_checked = 0;  // test mode: numbers compared with the generator
  std::uint64_t errors = 0;
  std::string first_error;

  void error(std::string what) {
    if (errors++ == 0)
      first_error = std::move(what);
  }

  void merge(const stats& o) {
    latency.merge(o.latency);
    session_latency.merge(o.session_latency);
    requests += o.requests;
    recvs += o.recvs;
    numbers += o.numbers;
    sessions += o.sessions;
    recv_total += o.recv_total;
    checksums_verified += o.checksums_verified;
    numbers_checked += o.numbers_checked;
    if (errors == 0 && o.errors > 0)
      first_error = o.first_error;
    errors += o.errors;
  }
};

std::uint64_t nanoseconds(steady::duration d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// ---------------------------------------------------------------------------------------
// One client connection: a socket, a read buffer and the library's frame decoder.

class wire {
 public:
  /// @param in_flight replies that may arrive together (the pipeline): the buffer takes them
  /// in one read, up to 1 MiB.
  wire(asio::io_context& io, std::size_t max_frame, std::size_t in_flight)
      : socket_(io),
        decoder_(max_frame),
        input_(std::max({std::size_t{4096}, 2 * max_frame + 2,
                         std::min<std::size_t>(in_flight * max_frame, 1 << 20)})) {}

  tcp::socket& socket() noexcept { return socket_; }

  asio::awaitable<std::error_code> connect(const tcp::endpoint& endpoint) {
    auto [ec] = co_await socket_.async_connect(endpoint, use_nothrow);
    if (!ec)
      socket_.set_option(tcp::no_delay(true), ec);
    co_return ec;
  }

  asio::awaitable<std::error_code> write(std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_nothrow);
    co_return ec;
  }

  /// @brief One read: appends whatever the socket has (at least one byte) to the buffer.
  asio::awaitable<std::error_code> fill() {
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (begin_ > 0) {
      std::copy(input_.begin() + static_cast<std::ptrdiff_t>(begin_),
                input_.begin() + static_cast<std::ptrdiff_t>(end_), input_.begin());
      end_ -= begin_;
      begin_ = 0;
    }
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(input_.data() + end_, input_.size() - end_), use_nothrow);
    end_ += n;
    co_return ec;
  }

  /// @brief The next complete message already buffered (valid until the next fill()).
  std::optional<std::string_view> next(std::error_code& ec) {
    const frame_result r =
        decoder_.consume(std::string_view(input_.data() + begin_, end_ - begin_));
    begin_ += r.consumed;
    if (r.what == frame_result::kind::error)
      ec = r.error;
    if (r.what != frame_result::kind::frame)
      return std::nullopt;
    return r.frame;
  }

  /// @brief Raw bytes buffered (ping-pong); they are consumed.
  std::size_t take_raw() {
    const std::size_t n = end_ - begin_;
    begin_ = end_ = 0;
    return n;
  }

  /// @brief Reads until one message arrives and parses it.
  asio::awaitable<std::string> receive(server_message& reply) {
    for (;;) {
      std::error_code ec;
      const auto frame = next(ec);
      if (ec)
        co_return "unreadable reply: " + ec.message();
      if (frame) {
        if (auto pec = parse_server_message(*frame, reply))
          co_return "unreadable reply '" + std::string(frame->substr(0, 80)) +
              "': " + pec.message();
        co_return std::string();
      }
      if (auto rec = co_await fill())
        co_return "read: " + rec.message();
    }
  }

 private:
  tcp::socket socket_;
  frame_decoder decoder_;
  std::vector<char> input_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

std::string describe(const server_message& m) {
  std::string text = encode(m);
  if (text.size() > 80)
    text = text.substr(0, 77) + "...";
  return text;
}

/// The numbers of one session as received, checked as they come.
class sequence_check {
 public:
  sequence_check(std::uint32_t n, std::uint32_t batch, const std::vector<std::uint32_t>* expected)
      : n_(n),
        batch_(batch),
        total_(static_cast<std::uint32_t>((std::uint64_t{n} + batch - 1) / batch)),
        numbers_(n),
        have_(total_, false),
        missing_(total_),
        expected_(expected) {}

  std::uint32_t total() const noexcept { return total_; }
  std::uint32_t missing() const noexcept { return missing_; }
  bool has(std::uint32_t k) const { return have_[k]; }
  const std::vector<std::uint32_t>& numbers() const noexcept { return numbers_; }

  /// @brief Checks NUM for batch k; an error text, or empty.
  std::string accept(std::uint32_t k, std::span<const std::uint32_t> got, stats& st) {
    const std::size_t begin = std::size_t{k} * batch_;
    const std::size_t size = std::min<std::size_t>(n_, begin + batch_) - begin;
    if (got.size() != size) {
      return "NUM for batch " + std::to_string(k) + " has " + std::to_string(got.size()) +
             " numbers, expected " + std::to_string(size);
    }
    const auto at = numbers_.begin() + static_cast<std::ptrdiff_t>(begin);
    if (expected_ != nullptr) {
      if (!std::equal(got.begin(), got.end(),
                      expected_->begin() + static_cast<std::ptrdiff_t>(begin))) {
        return "NUM for batch " + std::to_string(k) + " differs from the test-mode generator";
      }
      st.numbers_checked += size;
    }
    if (have_[k]) {
      if (!std::equal(got.begin(), got.end(), at))
        return "NUM for batch " + std::to_string(k) + " differs from the first time it was sent";
      return {};
    }
    std::copy(got.begin(), got.end(), at);
    have_[k] = true;
    --missing_;
    return {};
  }

 private:
  std::uint32_t n_;
  std::uint32_t batch_;
  std::uint32_t total_;
  std::vector<std::uint32_t> numbers_;
  std::vector<bool> have_;
  std::uint32_t missing_;
  const std::vector<std::uint32_t>* expected_;
};

std::size_t reply_limit(std::uint32_t batch) {
  return std::max<std::size_t>(1024, std::size_t{batch} * 11 + 64);
}

// ---------------------------------------------------------------------------------------
// Threads, the start gate, and the end of the run

struct run_state;

/// One bench thread: an io_context and what its connections measured.
struct worker {
  explicit worker(run_state& r, unsigned i) : run(r), index(i), rng(std::random_device{}() + i) {}

  run_state& run;
  unsigned index;
  asio::io_context io{1};
  stats st;
  asio::steady_timer gate{io, steady::time_point::max()};
  bool gate_open = false;
  unsigned setting_up = 0;
  asio::steady_timer setup_slot{io, steady::time_point::max()};
  std::vector<std::unique_ptr<wire>> held;  // hold mode
  std::mt19937_64 rng;
  std::thread thread;

  client_id random_id() {
    static constexpr char digits[] = "0123456789abcdef";
    std::array<char, client_id::size> text{};
    std::uint64_t bits[2] = {rng(), rng()};
    std::size_t nibble = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        text[i] = '-';
        continue;
      }
      unsigned v = static_cast<unsigned>((bits[nibble / 16] >> (4 * (nibble % 16))) & 0xf);
      if (i == 14)
        v = 4;  // version 4
      if (i == 19)
        v = 8 | (v & 3);  // RFC 4122 variant
      text[i] = digits[v];
      ++nibble;
    }
    return *client_id::parse(std::string_view(text.data(), text.size()));
  }

  /// Waits for a free setup slot (bounded concurrent connects on this thread).
  asio::awaitable<void> acquire_setup_slot() {
    // The timer never expires: release_setup_slot() wakes one waiter with cancel_one().
    while (setting_up >= setup_concurrency)
      co_await setup_slot.async_wait(use_nothrow);
    ++setting_up;
  }
  void release_setup_slot() {
    --setting_up;
    setup_slot.cancel_one();
  }
};

/// Shared by every thread; the times are written before the gate opens (a post, which
/// orders them) and only read after.
struct run_state {
  explicit run_state(const bench_options& o) : opts(o) {}

  const bench_options& opts;
  tcp::endpoint endpoint;
  steady::time_point go{};
  steady::time_point stop_at{};

  std::atomic<unsigned> ready{0};
  std::atomic<unsigned> done{0};
  std::mutex mutex;
  std::condition_variable changed;

  // Both counters change under the mutex the main thread waits with: otherwise a change
  // between its check of the predicate and its going to sleep is a lost wake-up, and it
  // sleeps until the timeout (60 s of setup, seen under TSan).
  void mark_ready() {
    {
      std::lock_guard lock(mutex);
      ready.fetch_add(1);
    }
    changed.notify_all();
  }
  void mark_done() {
    {
      std::lock_guard lock(mutex);
      done.fetch_add(1);
    }
    changed.notify_all();
  }
};

/// After setup: wait until the main thread opens the gate (all connections are up).
asio::awaitable<void> wait_for_gate(worker& w) {
  w.run.mark_ready();
  if (!w.gate_open)
    co_await w.gate.async_wait(use_nothrow);
}

std::vector<std::uint32_t> test_sequence(const client_id& id, std::uint32_t n,
                                         std::uint32_t batch) {
  sequence_params p;
  p.mode = sequence_mode::test;
  p.id = id;
  p.n = n;
  p.batch = batch;
  return whole_sequence(p);
}

/// Sends RECVs for the batches `next_index` yields, keeping `window` in flight, until it
/// yields nothing or `stop_sending` passes; checks every reply. Round trips completed by
/// `count_until` are counted (never, with time_point::min()). False after an error (recorded).
asio::awaitable<bool> run_recvs(wire& c, stats& st, sequence_check& seq, unsigned window,
                                const std::function<std::optional<std::uint32_t>()>& next_index,
                                steady::time_point stop_sending, steady::time_point count_until) {
  struct in_flight {
    std::uint32_t index;
    steady::time_point sent;
  };
  std::deque<in_flight> flight;
  std::string out;
  server_message reply = num_message{};
  bool sending = true;
  for (;;) {
    out.clear();
    const auto now = steady::now();
    if (now >= stop_sending)
      sending = false;
    while (sending && flight.size() < window) {
      const auto k = next_index();
      if (!k) {
        sending = false;
        break;
      }
      append_recv(out, *k);
      flight.push_back({*k, now});
    }
    if (!out.empty()) {
      if (auto ec = co_await c.write(out)) {
        st.error("write: " + ec.message());
        co_return false;
      }
    }
    if (flight.empty())
      co_return true;
    if (auto ec = co_await c.fill()) {
      st.error("read: " + ec.message());
      co_return false;
    }
    const auto arrived = steady::now();
    for (;;) {
      std::error_code ec;
      const auto frame = c.next(ec);
      if (ec) {
        st.error("unreadable reply: " + ec.message());
        co_return false;
      }
      if (!frame)
        break;
      if (flight.empty()) {
        st.error("a reply to no request");
        co_return false;
      }
      if (auto pec = parse_server_message(*frame, reply)) {
        st.error("unreadable reply: " + pec.message());
        co_return false;
      }
      const auto* num = std::get_if<num_message>(&reply);
      if (num == nullptr) {
        st.error("RECV," + std::to_string(flight.front().index) + " answered " + describe(reply));
        co_return false;
      }
      const in_flight request = flight.front();
      flight.pop_front();
      if (auto problem = seq.accept(request.index, num->numbers, st); !problem.empty()) {
        st.error(problem);
        co_return false;
      }
      ++st.recv_total;
      if (arrived <= count_until) {
        ++st.requests;
        ++st.recvs;
        st.numbers += num->numbers.size();
        st.latency.record(nanoseconds(arrived - request.sent));
      }
    }
  }
}

/// Sends one request and reads its reply; an error text, or empty.
asio::awaitable<std::string> exchange(wire& c, std::string_view request, server_message& reply) {
  if (auto ec = co_await c.write(request))
    co_return "write: " + ec.message();
  co_return co_await c.receive(reply);
}

/// INIT on a fresh connection; an error text, or empty.
asio::awaitable<std::string> open_session(wire& c, const tcp::endpoint& endpoint,
                                          const client_id& id, std::uint32_t n,
                                          std::uint32_t batch) {
  if (auto ec = co_await c.connect(endpoint))
    co_return "connect: " + ec.message();
  std::string out;
  append_init(out, init_message{id, n, batch});
  server_message reply;
  if (auto problem = co_await exchange(c, out, reply); !problem.empty())
    co_return "INIT: " + problem;
  if (!std::holds_alternative<ack_message>(reply))
    co_return "INIT answered " + describe(reply);
  co_return std::string();
}

/// Fetches any batch not seen yet, sends FIN and checks FAC against the numbers.
asio::awaitable<std::string> finish_session(wire& c, stats& st, sequence_check& seq,
                                            unsigned window) {
  std::uint32_t k = 0;
  const std::function<std::optional<std::uint32_t>()> missing =
      [&]() -> std::optional<std::uint32_t> {
    while (k < seq.total() && seq.has(k))
      ++k;
    if (k >= seq.total())
      return std::nullopt;
    return k++;
  };
  if (seq.missing() > 0 &&
      !co_await run_recvs(c, st, seq, std::max(window, 256u), missing, steady::time_point::max(),
                          steady::time_point::min())) {
    co_return std::string();  // recorded by run_recvs
  }
  std::string out;
  append_fin(out);
  server_message reply;
  if (auto problem = co_await exchange(c, out, reply); !problem.empty())
    co_return "FIN: " + problem;
  const auto* fac = std::get_if<fac_message>(&reply);
  if (fac == nullptr)
    co_return "FIN answered " + describe(reply);
  const md5_digest mine = checksum_of(seq.numbers());
  if (fac->checksum != mine) {
    co_return "FAC " + to_hex(fac->checksum) + " is not the MD5 of the numbers received (" +
        to_hex(mine) + ")";
  }
  ++st.checksums_verified;
  co_return std::string();
}

// --- recv mode: one big session per connection, RECV round trips over its batches ---

asio::awaitable<void> recv_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  auto c = std::make_unique<wire>(w.io, reply_limit(o.batch), o.pipeline);
  const client_id id = w.random_id();
  co_await w.acquire_setup_slot();
  auto problem = co_await open_session(*c, w.run.endpoint, id, o.n, o.batch);
  w.release_setup_slot();
  if (!problem.empty()) {
    st.error(problem);
    w.run.mark_ready();
    co_return;
  }
  std::vector<std::uint32_t> expected;
  if (o.test_mode)
    expected = test_sequence(id, o.n, o.batch);
  sequence_check seq(o.n, o.batch, o.test_mode ? &expected : nullptr);
  co_await wait_for_gate(w);

  std::uint32_t next = 0;
  std::uint64_t sent = 0;
  const std::function<std::optional<std::uint32_t>()> wrap = [&]() -> std::optional<std::uint32_t> {
    if (o.max_requests && sent >= *o.max_requests)
      return std::nullopt;
    ++sent;
    const std::uint32_t k = next;
    next = next + 1 == seq.total() ? 0 : next + 1;
    return k;
  };
  if (!co_await run_recvs(*c, st, seq, o.pipeline, wrap, w.run.stop_at, w.run.stop_at))
    co_return;
  problem = co_await finish_session(*c, st, seq, o.pipeline);
  if (!problem.empty())
    st.error(problem);
}

// --- session mode: complete sessions one after another ---

asio::awaitable<void> session_worker(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  co_await wait_for_gate(w);
  std::uint64_t completed = 0;
  unsigned consecutive_errors = 0;
  while (steady::now() < w.run.stop_at &&
         (!o.sessions_per_connection || completed < *o.sessions_per_connection)) {
    const auto start = steady::now();
    wire c(w.io, reply_limit(o.batch), o.pipeline);
    const client_id id = w.random_id();
    std::vector<std::uint32_t> expected;
    if (o.test_mode)
      expected = test_sequence(id, o.n, o.batch);
    sequence_check seq(o.n, o.batch, o.test_mode ? &expected : nullptr);

    const auto errors_before = st.errors;
    std::string problem;
    const auto init_sent = steady::now();
    problem = co_await open_session(c, w.run.endpoint, id, o.n, o.batch);
    if (problem.empty()) {
      const auto acked = steady::now();
      if (acked <= w.run.stop_at) {
        ++st.requests;
        st.latency.record(nanoseconds(acked - init_sent));
      }
      std::uint32_t next = 0;
      const std::function<std::optional<std::uint32_t>()> in_order =
          [&]() -> std::optional<std::uint32_t> {
        if (next >= seq.total())
          return std::nullopt;
        return next++;
      };
      if (co_await run_recvs(c, st, seq, o.pipeline, in_order, steady::time_point::max(),
                             w.run.stop_at)) {
        const auto fin_sent = steady::now();
        problem = co_await finish_session(c, st, seq, o.pipeline);
        const auto end = steady::now();
        if (problem.empty() && end <= w.run.stop_at) {
          ++st.requests;
          st.latency.record(nanoseconds(end - fin_sent));
          ++st.sessions;
          st.session_latency.record(nanoseconds(end - start));
        }
      }
    }
    if (!problem.empty())
      st.error(problem);
    ++completed;
    consecutive_errors = st.errors > errors_before ? consecutive_errors + 1 : 0;
    if (consecutive_errors >= 10)
      break;  // the server is gone or refuses everything: the errors say so
  }
}

// --- hold mode: connections parked mid-session ---

asio::awaitable<void> hold_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  auto c = std::make_unique<wire>(w.io, reply_limit(o.batch), o.pipeline);
  const client_id id = w.random_id();
  co_await w.acquire_setup_slot();
  auto problem = co_await open_session(*c, w.run.endpoint, id, o.n, o.batch);
  if (problem.empty()) {
    std::vector<std::uint32_t> expected;
    if (o.test_mode)
      expected = test_sequence(id, o.n, o.batch);
    sequence_check seq(o.n, o.batch, o.test_mode ? &expected : nullptr);
    std::uint32_t k = 0;
    const std::function<std::optional<std::uint32_t>()> first =
        [&]() -> std::optional<std::uint32_t> {
      if (k > 0)
        return std::nullopt;
      return k++;
    };
    if (co_await run_recvs(*c, st, seq, 1, first, steady::time_point::max(),
                           steady::time_point::min()))
      w.held.push_back(std::move(c));
  } else {
    st.error(problem);
  }
  w.release_setup_slot();
  w.run.mark_ready();
}

// --- pingpong mode: 1 byte each way against the bench's own echo server ---

asio::awaitable<void> pingpong_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  wire c(w.io, 64, o.pipeline);
  co_await w.acquire_setup_slot();
  const auto ec = co_await c.connect(w.run.endpoint);
  w.release_setup_slot();
  if (ec) {
    st.error("connect: " + ec.message());
    w.run.mark_ready();
    co_return;
  }
  co_await wait_for_gate(w);
  std::deque<steady::time_point> flight;
  std::string out;
  std::uint64_t sent = 0;
  for (;;) {
    out.clear();
    const auto now = steady::now();
    while (now < w.run.stop_at && flight.size() < o.pipeline &&
           (!o.max_requests || sent < *o.max_requests)) {
      out += 'p';
      flight.push_back(now);
      ++sent;
    }
    if (!out.empty()) {
      if (auto wec = co_await c.write(out)) {
        st.error("write: " + wec.message());
        co_return;
      }
    }
    if (flight.empty())
      co_return;
    if (auto rec = co_await c.fill()) {
      st.error("read: " + rec.message());
      co_return;
    }
    const auto arrived = steady::now();
    for (std::size_t got = c.take_raw(); got > 0 && !flight.empty(); --got) {
      if (arrived <= w.run.stop_at) {
        ++st.requests;
        st.latency.record(nanoseconds(arrived - flight.front()));
      }
      flight.pop_front();
    }
  }
}

/// Runs one task on its worker and reports it done, however it ends.
asio::awaitable<void> task(worker& w, asio::awaitable<void> body) {
  try {
    co_await std::move(body);
  } catch (const std::exception& e) {
    w.st.error(std::string("unexpected: ") + e.what());
  }
  w.run.mark_done();
}

/// The echo server the pingpong mode measures against, on its own thread.
class echo_server {
 public:
  echo_server() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~echo_server() {
    asio::post(io_, [this] {
      std::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
      if (ec)
        co_return;
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(io_, echo(std::move(socket)), asio::detached);
    }
  }
  static asio::awaitable<void> echo(tcp::socket socket) {
    std::array<char, 4096> buf{};
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_nothrow);
      if (ec)
        co_return;
      auto [wec, written] =
          co_await asio::async_write(socket, asio::buffer(buf.data(), n), use_nothrow);
      if (wec)
        co_return;
    }
  }

  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------
// Output

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string json_latency(const latency_histogram& h) {
  auto us = [](std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1000.0, 1); };
  return "{\"count\":" + std::to_string(h.count()) + ",\"mean\":" + fixed(h.mean() / 1000.0, 1) +
         ",\"p50\":" + us(h.percentile(0.50)) + ",\"p90\":" + us(h.percentile(0.90)) +
         ",\"p99\":" + us(h.percentile(0.99)) + ",\"max\":" + us(h.max()) + "}";
}

struct server_report {
  std::vector<std::string> command;
  pid_t pid = 0;
  std::optional<std::uint64_t> rss_start_kb;
  std::optional<std::uint64_t> rss_end_kb;
  std::optional<std::uint64_t> peak_rss_kb;
  std::optional<std::uint64_t> rss_held_kb;  // hold mode: with every connection open
  std::optional<double> cpu_seconds;         // inside the measured window
  std::optional<int> exit_code;
  bool stopped = false;
};

struct result {
  double elapsed = 0;  // the measured window, seconds
  stats st;
  std::optional<double> bench_cpu_seconds;
  std::optional<server_report> server;
  unsigned connections_held = 0;
  bool cut_short = false;
};

std::string opt_number(const std::optional<std::uint64_t>& v) {
  return v ? std::to_string(*v) : "null";
}
std::string opt_number(const std::optional<double>& v, int digits) {
  return v ? fixed(*v, digits) : "null";
}

void print_json(const bench_options& o, const result& r) {
  const auto rate = [&](std::uint64_t count) {
    return fixed(r.elapsed > 0 ? static_cast<double>(count) / r.elapsed : 0.0, 1);
  };
  std::ostringstream j;
  j << "{\"mode\":" << json_string(mode_name(o.mode)) << ",\"connections\":" << o.connections
    << ",\"threads\":" << o.threads << ",\"n\":" << o.n << ",\"batch\":" << o.batch
    << ",\"pipeline\":" << o.pipeline << ",\"test_mode\":" << (o.test_mode ? "true" : "false")
    << ",\"duration_s\":" << fixed(r.elapsed, 3) << ",\"requests\":" << r.st.requests
    << ",\"requests_per_s\":" << rate(r.st.requests) << ",\"recv\":" << r.st.recvs
    << ",\"recv_per_s\":" << rate(r.st.recvs) << ",\"numbers\":" << r.st.numbers
    << ",\"numbers_per_s\":" << rate(r.st.numbers) << ",\"sessions\":" << r.st.sessions
    << ",\"sessions_per_s\":" << rate(r.st.sessions) << ",\"recv_total\":" << r.st.recv_total
    << ",\"latency_us\":" << json_latency(r.st.latency);
  if (o.mode == bench_mode::session)
    j << ",\"session_latency_us\":" << json_latency(r.st.session_latency);
  j << ",\"checksums_verified\":" << r.st.checksums_verified
    << ",\"numbers_checked_against_generator\":" << r.st.numbers_checked
    << ",\"errors\":" << r.st.errors << ",\"first_error\":" << json_string(r.st.first_error)
    << ",\"cut_short\":" << (r.cut_short ? "true" : "false")
    << ",\"bench_cpu_s\":" << opt_number(r.bench_cpu_seconds, 3);
  if (o.mode == bench_mode::hold)
    j << ",\"connections_held\":" << r.connections_held;
  if (r.server) {
    const auto& s = *r.server;
    j << ",\"server\":{\"command\":[";
    for (std::size_t i = 0; i < s.command.size(); ++i)
      j << (i ? "," : "") << json_string(s.command[i]);
    j << "],\"cpu_s\":" << opt_number(s.cpu_seconds, 3)
      << ",\"rss_start_kb\":" << opt_number(s.rss_start_kb)
      << ",\"rss_end_kb\":" << opt_number(s.rss_end_kb)
      << ",\"peak_rss_kb\":" << opt_number(s.peak_rss_kb);
    if (o.mode == bench_mode::hold) {
      j << ",\"rss_held_kb\":" << opt_number(s.rss_held_kb);
      if (s.rss_held_kb && s.rss_start_kb && r.connections_held > 0) {
        const double per =
            (static_cast<double>(*s.rss_held_kb) - static_cast<double>(*s.rss_start_kb)) * 1024.0 /
            r.connections_held;
        j << ",\"rss_growth_per_connection_bytes\":" << fixed(per, 0);
      }
    }
    j << ",\"exit_code\":" << (s.exit_code ? std::to_string(*s.exit_code) : "null") << "}";
  }
  j << "}";
  std::cout << j.str() << std::endl;
}

void print_text(const bench_options& o, const result& r) {
  const auto per_s = [&](std::uint64_t count) {
    return fixed(r.elapsed > 0 ? static_cast<double>(count) / r.elapsed : 0.0, 0);
  };
  const auto us = [](std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1000.0, 1); };
  std::cout << "mode " << mode_name(o.mode) << ", " << o.connections << " connection(s), "
            << o.threads << " thread(s), n " << o.n << ", batch " << o.batch << ", pipeline "
            << o.pipeline << (o.test_mode ? ", test mode" : "") << '\n';
  std::cout << "  window " << fixed(r.elapsed, 3) << " s" << (r.cut_short ? " (cut short)" : "")
            << '\n';
  if (o.mode == bench_mode::pingpong) {
    std::cout << "  round trips/s " << per_s(r.st.requests) << '\n';
  } else if (o.mode != bench_mode::hold) {
    std::cout << "  RECV/s " << per_s(r.st.recvs) << ", numbers/s " << per_s(r.st.numbers)
              << ", requests/s " << per_s(r.st.requests) << '\n';
    if (o.mode == bench_mode::session)
      std::cout << "  sessions/s " << per_s(r.st.sessions) << " (" << r.st.sessions << ")\n";
  }
  const auto& h = r.st.latency;
  if (h.count() > 0) {
    std::cout << "  latency us: p50 " << us(h.percentile(0.5)) << ", p90 " << us(h.percentile(0.9))
              << ", p99 " << us(h.percentile(0.99)) << ", max " << us(h.max()) << '\n';
  }
  std::cout << "  checksums verified " << r.st.checksums_verified;
  if (o.test_mode)
    std::cout << ", numbers checked against the generator " << r.st.numbers_checked;
  std::cout << ", errors " << r.st.errors;
  if (r.st.errors > 0)
    std::cout << " (first: " << r.st.first_error << ")";
  std::cout << '\n';
  if (o.mode == bench_mode::hold)
    std::cout << "  connections held " << r.connections_held << '\n';
  if (r.server) {
    const auto& s = *r.server;
    std::cout << "  server: peak RSS " << opt_number(s.peak_rss_kb) << " KiB";
    if (s.rss_held_kb)
      std::cout << ", RSS with connections held " << *s.rss_held_kb << " KiB (at start "
                << opt_number(s.rss_start_kb) << " KiB)";
    std::cout << ", CPU in window " << opt_number(s.cpu_seconds, 2) << " s\n";
  }
}

// ---------------------------------------------------------------------------------------

bool has_server_option(const std::vector<std::string>& args, std::string_view name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == name || (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=');
  });
}

int run(const bench_options& o) {
  bench::raise_open_file_limit();
  result r;

  std::unique_ptr<bench::spawned_server> server;
  if (!o.spawn_server.empty()) {
    server_report rep;
    rep.command = {o.spawn_server, "0"};
    if (!has_server_option(o.server_args, "--session-timeout"))
      rep.command.emplace_back("--session-timeout=0");
    if (o.mode == bench_mode::hold && !has_server_option(o.server_args, "--idle-timeout"))
      rep.command.emplace_back("--idle-timeout=0");
    if (!has_server_option(o.server_args, "--log-level"))
      rep.command.emplace_back("--log-level=warning");
    // The load is the point: the server's connection limit must not turn it away.
    if (!has_server_option(o.server_args, "--max-connections"))
      rep.command.emplace_back("--max-connections=0");
    rep.command.insert(rep.command.end(), o.server_args.begin(), o.server_args.end());
    // "TEST_MODE" alone removes it: a normal-mode run must not inherit the caller's.
    const std::vector<std::string> env = {o.test_mode ? "TEST_MODE=1" : "TEST_MODE"};
    server = std::make_unique<bench::spawned_server>(rep.command, env, o.server_log,
                                                     std::chrono::seconds(10));
    rep.pid = server->pid();
    rep.rss_start_kb = bench::proc_status_kb(server->pid(), "VmRSS");
    r.server = rep;
  }

  std::unique_ptr<echo_server> echo;
  run_state state(o);
  if (o.mode == bench_mode::pingpong) {
    echo = std::make_unique<echo_server>();
    state.endpoint = echo->endpoint();
  } else {
    const std::string host = server ? server->host() : o.host;
    const std::uint16_t port = server ? server->port() : o.port;
    asio::io_context resolver_io;
    tcp::resolver resolver(resolver_io);
    state.endpoint = *resolver.resolve(host, std::to_string(port)).begin();
  }

  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i)
    workers.push_back(std::make_unique<worker>(state, i));
  for (unsigned i = 0; i < o.connections; ++i) {
    worker& w = *workers[i % o.threads];
    asio::awaitable<void> body = [&]() -> asio::awaitable<void> {
      switch (o.mode) {
        case bench_mode::session:
          return session_worker(w);
        case bench_mode::recv:
          return recv_connection(w);
        case bench_mode::pingpong:
          return pingpong_connection(w);
        case bench_mode::hold:
          break;
      }
      return hold_connection(w);
    }();
    asio::co_spawn(w.io, task(w, std::move(body)), asio::detached);
  }
  for (auto& w : workers)
    w->thread = std::thread([&io = w->io] { io.run(); });

  // Setup: every connection is up (or failed), within the setup timeout.
  {
    std::unique_lock lock(state.mutex);
    state.changed.wait_for(lock,
                           std::chrono::duration_cast<steady::duration>(
                               std::chrono::duration<double>(o.setup_timeout)),
                           [&] { return state.ready.load() >= o.connections; });
  }
  const bool setup_complete = state.ready.load() >= o.connections;

  const auto cpu_before = bench::proc_cpu_seconds(0);
  const auto server_cpu_before =
      server ? bench::proc_cpu_seconds(server->pid()) : std::optional<double>();
  state.go = steady::now();
  state.stop_at = state.go + std::chrono::duration_cast<steady::duration>(
                                 std::chrono::duration<double>(o.duration));
  if (o.mode == bench_mode::hold)
    state.stop_at = state.go;
  for (auto& w : workers) {
    asio::post(w->io, [&w = *w] {
      w.gate_open = true;
      w.gate.cancel();
    });
  }

  // The window: CPU times are read when it ends (or when every task is done, if sooner),
  // before connections check their sessions.
  {
    std::unique_lock lock(state.mutex);
    state.changed.wait_until(lock, state.stop_at,
                             [&] { return state.done.load() >= o.connections; });
  }
  const auto window_end = std::min(steady::now(), state.stop_at);
  r.elapsed = std::chrono::duration<double>(window_end - state.go).count();
  if (o.mode == bench_mode::hold)
    r.elapsed = 0;
  const auto cpu_after = bench::proc_cpu_seconds(0);
  if (cpu_before && cpu_after)
    r.bench_cpu_seconds = *cpu_after - *cpu_before;
  if (server) {
    const auto after = bench::proc_cpu_seconds(server->pid());
    if (server_cpu_before && after)
      r.server->cpu_seconds = *after - *server_cpu_before;
  }
  // Then until every task is done, within the grace period.
  {
    std::unique_lock lock(state.mutex);
    const bool finished = state.changed.wait_until(
        lock, state.stop_at + drain_grace, [&] { return state.done.load() >= o.connections; });
    r.cut_short = !finished || !setup_complete;
  }
  if (r.cut_short) {
    for (auto& w : workers)
      w->io.stop();
  }
  for (auto& w : workers)
    w->thread.join();
  for (auto& w : workers) {
    r.st.merge(w->st);
    r.connections_held += static_cast<unsigned>(w->held.size());
  }
  if (r.cut_short) {
    r.st.error(setup_complete ? "the run did not end within 30 s after its window"
                              : "not every connection was up within --setup-timeout");
  }

  if (o.mode == bench_mode::hold && server) {
    // Every connection is open mid-session and idle now: this is what they cost the server.
    std::this_thread::sleep_for(std::chrono::duration<double>(o.hold_seconds));
    r.server->rss_held_kb = bench::proc_status_kb(server->pid(), "VmRSS");
    for (auto& w : workers)
      w->held.clear();
  }

  if (server) {
    if (!server->running())
      r.st.error("the server exited during the run");
    r.server->rss_end_kb = bench::proc_status_kb(server->pid(), "VmRSS");
    r.server->peak_rss_kb = bench::proc_status_kb(server->pid(), "VmHWM");
    r.server->exit_code = server->stop(std::chrono::seconds(10));
    if (!r.server->exit_code || *r.server->exit_code != 0) {
      r.st.error("the server did not stop cleanly on SIGTERM (exit " +
                 (r.server->exit_code ? std::to_string(*r.server->exit_code)
                                      : std::string("by a signal")) +
                 ")");
    }
  }
  echo.reset();

  if (o.json) {
    print_json(o, r);
  } else {
    print_text(o, r);
  }
  const bool checked_enough =
      (o.mode != bench_mode::session && o.mode != bench_mode::recv) || r.st.checksums_verified > 0;
  if (!checked_enough && r.st.errors == 0 && !o.json)
    std::cerr << "numsequence-bench: no checksum was verified\n";
  return r.st.errors == 0 && checked_enough ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  try {
    o = parse_command_line(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-bench: " << e.what() << "\nTry 'numsequence-bench --help'.\n";
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "numsequence-bench: " << e.what() << '\n';
    return 1;
  }
}
