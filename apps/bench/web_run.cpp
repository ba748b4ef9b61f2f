#include "bench/web_run.hpp"

#include <malloc.h>
#include <openssl/evp.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/process.hpp"
#include "bench/web_frames.hpp"
#include "bench/web_http.hpp"
#include "bench/web_socket.hpp"

namespace numsequence::bench::web {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// Large reads: a 65 MB answer in 256 KiB pieces costs a few hundred reads, not thousands.
constexpr std::size_t read_size = 256 * 1024;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::string md5_hex(std::string_view bytes) {
  md5_digest d{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &size, EVP_md5(), nullptr) != 1)
    throw std::runtime_error("MD5 failed");
  return to_hex(d);
}

std::string default_target(const web_options& o) {
  return o.target.empty() ? "/v1/fibonacci?n=" + std::to_string(o.n) : o.target;
}

std::string host_header(const web_options& o) {
  return o.host + ":" + std::to_string(o.port);
}

/// One client connection: its socket and read buffer.
struct connection {
  explicit connection(tcp::socket s) : socket(std::move(s)), buffer(read_size) {}
  tcp::socket socket;
  std::vector<char> buffer;

  /// Bytes read, empty at the peer's end of stream.
  awaitable<std::string_view> read() {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer),
                                                   asio::experimental::as_tuple(use_awaitable));
    if (ec == asio::error::eof)
      co_return std::string_view();
    if (ec)
      throw std::runtime_error("read failed: " + ec.message());
    co_return std::string_view(buffer.data(), n);
  }

  awaitable<void> write(std::string_view bytes) {
    co_await asio::async_write(socket, asio::buffer(bytes), use_awaitable);
  }
};

awaitable<std::unique_ptr<connection>> open(const web_options& o) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket s(executor);
  const tcp::endpoint to(asio::ip::make_address(o.host), o.port);
  try {
    co_await s.async_connect(to, use_awaitable);
  } catch (const std::system_error& e) {
    throw std::runtime_error("cannot connect to " + host_header(o) + ": " + e.code().message());
  }
  s.set_option(tcp::no_delay(true));
  co_return std::make_unique<connection>(std::move(s));
}

/// Reads one whole response into `reader`; the bytes after it are returned.
awaitable<std::string> read_response(connection& c, http_response_reader& reader) {
  for (;;) {
    const std::string_view bytes = co_await c.read();
    if (bytes.empty()) {
      reader.peer_closed();
      co_return std::string();
    }
    const std::size_t used = reader.feed(bytes);
    if (reader.complete())
      co_return std::string(bytes.substr(used));
  }
}

/// A WebSocket client connection, upgraded.
struct ws_connection {
  std::unique_ptr<connection> conn;
  ws_client ws;
};

awaitable<std::unique_ptr<ws_connection>> open_ws(const web_options& o) {
  auto c = std::make_unique<ws_connection>();
  c->conn = co_await open(o);
  const std::string key = new_websocket_key();
  co_await c->conn->write(upgrade_request(host_header(o), "/v1/stream", key));
  http_response_reader head(false);
  const std::string rest = co_await read_response(*c->conn, head);
  check_upgrade(head, key);
  c->ws.feed(rest);
  co_return c;
}

/// Sends one stream request and keeps its answer's frames, until the done frame.
awaitable<std::vector<std::string>> stream_answer(ws_connection& c, std::uint64_t id,
                                                  std::uint64_t n) {
  c.ws.send_text("{\"id\":" + std::to_string(id) +
                 ",\"sequence\":\"fibonacci\",\"n\":" + std::to_string(n) + "}");
  std::vector<std::string> frames;
  for (;;) {
    if (!c.ws.output().empty()) {
      co_await c.conn->write(c.ws.output());
      c.ws.consume_output(c.ws.output().size());
    }
    while (c.ws.has_message()) {
      frames.push_back(c.ws.take());
      const frame_kind kind = classify_frame(frames.back());
      if (kind == frame_kind::done)
        co_return frames;
      if (kind != frame_kind::numbers)
        throw std::runtime_error("unexpected frame: " + frames.back().substr(0, 200));
    }
    if (c.ws.closed())
      throw std::runtime_error("the server closed the WebSocket (code " +
                               std::to_string(c.ws.close_code()) + ") before the answer's end");
    const std::string_view bytes = co_await c.conn->read();
    if (bytes.empty())
      throw std::runtime_error("the server closed the connection before the answer's end");
    c.ws.feed(bytes);
  }
}

/// Checks an answer's frames; returns the list MD5.
std::string check_answer(const std::vector<std::string>& frames, std::uint64_t n,
                         const std::optional<md5_digest>& expected) {
  answer_check check(0, n, expected);
  for (std::size_t i = 0; i + 1 < frames.size(); ++i)
    check.numbers_frame(frames[i]);
  check.done_frame(frames.back());
  return check.server_md5();
}

/// Makes `bytes` of heap ready before the clocks start: touched once, and kept by malloc after
/// it is freed (no trimming, no separate mappings for large blocks), so that the answers the
/// client keeps land in memory already mapped. Otherwise the time of an answer includes
/// the client's page faults for it (tens of milliseconds for 65 MB), which a client that
/// discards what it reads (wrk, curl -o /dev/null) never pays.
void prepare_memory(std::size_t bytes) {
  if (bytes == 0)
    return;
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  std::vector<char> touch(bytes, 1);
  asm volatile("" : : "r"(touch.data()) : "memory");  // the writes must happen
}

/// Runs `body` on `io` for at most o.timeout seconds; rethrows its failure. State the body
/// shares must be declared after `io`, so that it outlives every coroutine io destroys.
void run_bounded(const web_options& o, asio::io_context& io,
                 const std::function<awaitable<void>()>& body) {
  std::exception_ptr failure;
  bool finished = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
    io.stop();
  });
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(o.timeout)));
  if (failure)
    std::rethrow_exception(failure);
  if (!finished)
    throw std::runtime_error("not finished within --timeout " + std::to_string(o.timeout) + " s");
}

void read_server_before(const web_options& o, web_result& r) {
  if (o.server_pid == 0)
    return;
  r.server_rss_before_kb = proc_status_kb(o.server_pid, "VmRSS");
  r.server_cpu_seconds = proc_cpu_seconds(o.server_pid);
}

void read_server_after(const web_options& o, web_result& r) {
  if (o.server_pid == 0)
    return;
  r.server_peak_rss_kb = proc_status_kb(o.server_pid, "VmHWM");
  const auto cpu = proc_cpu_seconds(o.server_pid);
  if (cpu && r.server_cpu_seconds)
    r.server_cpu_seconds = *cpu - *r.server_cpu_seconds;
  else
    r.server_cpu_seconds.reset();
}

}  // namespace

web_result run_http(const web_options& o) {
  web_result r;
  prepare_memory(o.memory);
  read_server_before(o, r);
  asio::io_context io(1);
  run_bounded(o, io, [&]() -> awaitable<void> {
    auto c = co_await open(o);
    http_response_reader reader(true);
    reader.reserve(o.memory);
    const std::string request = get_request(host_header(o), default_target(o));
    for (unsigned round = 0; round < o.rounds; ++round) {
      reader.reset();
      const auto start = clock_type::now();
      co_await c->write(request);
      co_await read_response(*c, reader);
      r.round_seconds.push_back(seconds_since(start));
      if (reader.status() != 200)
        throw std::runtime_error("GET " + default_target(o) + ": status " +
                                 std::to_string(reader.status()));
      r.bytes = reader.body_size();
      r.md5 = md5_hex(reader.body());  // after the clock
      if (o.expect_md5 && r.md5 != to_hex(*o.expect_md5))
        throw std::runtime_error("body MD5 " + r.md5 + ", expected " + to_hex(*o.expect_md5));
      if (!reader.keep_alive())
        c = co_await open(o);
    }
  });
  read_server_after(o, r);
  r.bench_cpu_seconds = proc_cpu_seconds(0);
  return r;
}

web_result run_ws(const web_options& o) {
  web_result r;
  prepare_memory(o.memory);
  read_server_before(o, r);
  asio::io_context io(1);
  run_bounded(o, io, [&]() -> awaitable<void> {
    auto c = co_await open_ws(o);
    for (unsigned round = 0; round < o.rounds; ++round) {
      const auto start = clock_type::now();
      const std::vector<std::string> frames = co_await stream_answer(*c, round + 1, o.n);
      r.round_seconds.push_back(seconds_since(start));
      r.frames = frames.size();
      r.bytes = 0;
      for (const auto& f : frames)
        r.bytes += f.size();
      r.md5 = check_answer(frames, o.n, o.expect_md5);  // after the clock
    }
    c->ws.close();
    co_await c->conn->write(c->ws.output());
  });
  read_server_after(o, r);
  r.bench_cpu_seconds = proc_cpu_seconds(0);
  return r;
}

web_result run_ws_many(const web_options& o) {
  const std::uint64_t files = raise_open_file_limit();
  if (files < std::uint64_t{o.connections} + 64)
    throw std::runtime_error("the open-file limit (" + std::to_string(files) + ") is too low for " +
                             std::to_string(o.connections) + " connections: raise ulimit -n");
  web_result r;
  prepare_memory(o.memory);
  read_server_before(o, r);
  asio::io_context io(1);
  // Shared by the connections' coroutines; declared after io, so it outlives them.
  asio::steady_timer gate(io, clock_type::time_point::max());      // opens once all are upgraded
  asio::steady_timer all_done(io, clock_type::time_point::max());  // the last answer is in
  std::vector<std::unique_ptr<ws_connection>> sockets(o.connections);
  std::vector<std::vector<std::string>> answers(o.connections);
  r.answer_seconds.resize(o.connections);
  std::exception_ptr failure;
  unsigned ready = 0;
  unsigned finished = 0;
  const auto start = clock_type::now();
  auto stream_start = start;
  const auto one = [&](unsigned i) -> awaitable<void> {
    sockets[i] = co_await open_ws(o);
    if (++ready == o.connections) {
      r.connect_seconds = seconds_since(start);
      stream_start = clock_type::now();
      gate.cancel();
    } else {
      co_await gate.async_wait(asio::experimental::as_tuple(use_awaitable));
    }
    answers[i] = co_await stream_answer(*sockets[i], i + 1, o.n);
    r.answer_seconds[i] = seconds_since(stream_start);
  };
  run_bounded(o, io, [&]() -> awaitable<void> {
    for (unsigned i = 0; i < o.connections; ++i) {
      asio::co_spawn(io, one(i), [&](std::exception_ptr e) {
        if (e && !failure)
          failure = e;
        if (++finished == o.connections || e)
          all_done.cancel();
      });
    }
    co_await all_done.async_wait(asio::experimental::as_tuple(use_awaitable));
    if (failure)
      std::rethrow_exception(failure);
    r.stream_seconds = seconds_since(stream_start);
    // Every answer is in and every socket still open: the server's memory with all of them.
    if (o.server_pid != 0)
      r.server_rss_during_kb = proc_status_kb(o.server_pid, "VmRSS");
  });
  read_server_after(o, r);
  r.bench_cpu_seconds = proc_cpu_seconds(0);
  for (std::size_t i = 0; i < answers.size(); ++i) {  // after the clock
    try {
      r.md5 = check_answer(answers[i], o.n, o.expect_md5);
    } catch (const std::exception& e) {
      throw std::runtime_error("connection " + std::to_string(i + 1) + ": " + e.what());
    }
    ++r.answers_checked;
    r.frames += answers[i].size();
    for (const auto& f : answers[i])
      r.bytes += f.size();
  }
  return r;
}

}  // namespace numsequence::bench::web
