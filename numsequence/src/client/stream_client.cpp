#include "numsequence/client/stream_client.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include "numsequence/client/stream_session.hpp"

namespace numsequence {
namespace {

using asio::ip::tcp;
using clock = std::chrono::steady_clock;
using frame_result = stream_session::frame_result;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Room offered to each read: several answer frames (16 KiB each) at once.
constexpr std::size_t read_size = 64 * 1024;

/// The deadline of the I/O in progress: when it passes, the watchdog closes the socket, which
/// fails the pending operation (connect, write or read alike).
struct watch_state {
  watch_state(asio::io_context& io, tcp::socket& s) : timer(io), socket(s) {}
  asio::steady_timer timer;
  tcp::socket& socket;
  clock::time_point deadline{};
  bool done = false;
  bool timed_out = false;
};

asio::awaitable<void> watch(std::shared_ptr<watch_state> w) {
  while (!w->done) {
    w->timer.expires_at(w->deadline);
    co_await w->timer.async_wait(use_nothrow);
    if (!w->done && clock::now() >= w->deadline) {
      w->timed_out = true;
      std::error_code ignored;
      w->socket.close(ignored);
    }
  }
}

/// Ends a watchdog when the coroutine that started it ends, however it ends. The socket goes
/// only after this (or with no wait in between), so the watchdog never touches a dead one.
struct stop_watch {
  std::shared_ptr<watch_state> w;
  ~stop_watch() {
    w->done = true;
    w->timer.cancel();
  }
};

/// One connection: its socket and its WebSocket endpoint.
struct link {
  link(asio::io_context& io, const stream_client_options& o)
      : socket(io), ws(o.target, make_websocket_key(), o.limits) {}
  tcp::socket socket;
  websocket_client_endpoint ws;
  bool progressed = false;  // it brought a number or completed an answer
  std::string io_error;     // why a read or write failed, once one has
};

enum class attempt_outcome {
  connected,  ///< open, and no answer is due
  answered,   ///< the answer is complete and checked
  refused,    ///< the line was refused by the server's error frame
  failed,     ///< the answer failed its check
  lost,       ///< the connection failed or dropped
};

struct attempt_end {
  attempt_outcome outcome = attempt_outcome::lost;
  bool progressed = false;  // with lost: the connection had brought numbers
  bool permanent = false;   // with lost: retrying cannot help (a refused handshake)
  std::string error;        // with lost: why
};

attempt_end ended(attempt_outcome outcome) {
  attempt_end e;
  e.outcome = outcome;
  return e;
}

// A refused handshake worth another try: the server was busy or the connection just ended.
bool transient_refusal(int http_status, bool connection_ended) {
  return connection_ended || http_status >= 500 || http_status == 408 || http_status == 429;
}

std::string ms_text(clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

/// Runs the lines over as many connections as it takes: the I/O around a stream_session.
class stream_driver {
 public:
  explicit stream_driver(const stream_client_options& options)
      : options_(options), buffer_(read_size) {}

  stream_outcome run() {
    // Connect before the first line: a server that is not there is said at once.
    run_on(attempts());
    while (!gave_up_) {
      std::optional<std::string> text = options_.next_line();
      if (!text)
        break;
      ++line_;
      if (session_.on_line(*text)) {
        run_on(attempts());
      } else if (!session_.message().empty()) {
        refused_any_ = true;
        say(line_prefix() + session_.message());
      }
    }
    if (gave_up_) {
      say(*gave_up_);
      return stream_outcome::gave_up;
    }
    run_on(close_link());
    if (failed_any_)
      return stream_outcome::failed;
    return refused_any_ ? stream_outcome::refused : stream_outcome::all_good;
  }

 private:
  void run_on(asio::awaitable<void> work) {
    std::exception_ptr failure;
    io_.restart();
    asio::co_spawn(io_, std::move(work), [&](std::exception_ptr e) { failure = e; });
    io_.run();
    if (failure)
      std::rethrow_exception(failure);
  }

  /// Attempts until connected (between lines) or until the answer in progress ends, or the
  /// client gives up.
  asio::awaitable<void> attempts() {
    unsigned failures = 0;
    asio::steady_timer backoff(io_);
    for (;;) {
      const attempt_end end = co_await attempt();
      if (end.outcome != attempt_outcome::lost) {
        settle(end.outcome);
        co_return;
      }
      if (!answer_goes_on())
        co_return;
      if (end.permanent) {
        gave_up_ = "cannot open the stream at " + where() + ": " + end.error;
        co_return;
      }
      if (end.progressed) {
        failures = 0;  // the server dropped a working connection: resume at once
        say(line_prefix() + "connection lost (" + end.error + "); " + resume_text());
        continue;
      }
      if (++failures > options_.retries) {
        gave_up_ = "gave up after " + std::to_string(failures) +
                   " consecutive failed attempts (last: " + end.error + ")";
        co_return;
      }
      const auto delay = backoff_delay(failures);
      say(line_prefix() + end.error + "; retrying in " + ms_text(delay));
      backoff.expires_after(delay);
      co_await backoff.async_wait(use_nothrow);
    }
  }

  /// One attempt under a watchdog: connect if there is no connection, then the answer.
  asio::awaitable<attempt_end> attempt() {
    const bool fresh = !link_;
    if (fresh)
      link_ = std::make_unique<link>(io_, options_);
    const stop_watch stop{start_watch()};
    attempt_end end = ended(attempt_outcome::connected);
    if (fresh)
      end = co_await open();
    if (end.outcome == attempt_outcome::connected && session_.answering())
      end = co_await exchange();
    end.progressed = link_->progressed;
    if (end.outcome == attempt_outcome::lost || end.outcome == attempt_outcome::failed)
      link_.reset();  // its state is unknown: the next attempt starts a new one
    co_return end;
  }

  /// Resolves, connects and shakes hands.
  asio::awaitable<attempt_end> open() {
    const auto& t = options_.target;
    tcp::resolver resolver(io_);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(t.host, std::to_string(t.port), use_nothrow);
    if (rec)
      co_return lost("cannot resolve " + t.host + ": " + describe(rec));
    auto [cec, endpoint] = co_await asio::async_connect(link_->socket, endpoints, use_nothrow);
    if (cec)
      co_return lost("cannot connect to " + where() + ": " + describe(cec));
    std::error_code ignored;
    link_->socket.set_option(tcp::no_delay(true), ignored);
    if (!co_await write_output())
      co_return lost(link_->io_error);
    // A read that finds the end of the connection ends the handshake too (refused).
    while (link_->ws.state() == client_endpoint_state::handshake)
      co_await read_some();
    const auto event = link_->ws.next_event();
    if (event && event->what == client_event::kind::open)
      co_return ended(attempt_outcome::connected);
    attempt_end end = lost(event ? event->reason : link_->io_error);
    if (!event || event->http_status == 0)  // no HTTP at all: perhaps the wrong port
      end.error += " (is " + std::to_string(t.port) + " the server's --http port?)";
    end.permanent = event && !transient_refusal(event->http_status, !link_->io_error.empty());
    co_return end;
  }

  /// Sends the request for the answer in progress and takes its frames.
  asio::awaitable<attempt_end> exchange() {
    if (!link_->ws.send_text(session_.request()))
      co_return lost("the connection cannot take the request");
    for (;;) {
      if (!co_await write_output())
        co_return lost(link_->io_error);
      while (auto event = link_->ws.next_event()) {
        if (auto end = on_event(*event))
          co_return std::move(*end);
      }
      if (link_->ws.state() == client_endpoint_state::closed)
        co_return lost(link_->io_error.empty() ? "the connection ended" : link_->io_error);
      co_await read_some();
    }
  }

  /// What an event means for the answer; nullopt while it goes on.
  std::optional<attempt_end> on_event(const client_event& event) {
    if (event.what == client_event::kind::closed)
      return lost(describe_close(event));
    if (event.what != client_event::kind::text)
      return std::nullopt;
    const std::uint64_t before = session_.printed();
    std::string out;
    const frame_result r = session_.on_frame(event.text, out);
    if (!out.empty())
      options_.on_output(out);
    if (session_.printed() != before || r == frame_result::answered)
      link_->progressed = true;
    switch (r) {
      case frame_result::more:
        return std::nullopt;
      case frame_result::answered:
        return ended(attempt_outcome::answered);
      case frame_result::refused:
        return ended(attempt_outcome::refused);
      case frame_result::failed:
        break;
    }
    return ended(attempt_outcome::failed);
  }

  /// At the end of the input: a close (1000), and the server's answer awaited briefly.
  asio::awaitable<void> close_link() {
    if (!link_ || link_->ws.state() != client_endpoint_state::open)
      co_return;
    {
      const stop_watch stop{start_watch()};
      link_->ws.close(close_code::normal, "client done");
      while (link_->ws.state() != client_endpoint_state::closed) {
        if (!co_await write_output() || link_->ws.state() == client_endpoint_state::closed ||
            !co_await read_some())
          break;
      }
    }
    link_.reset();
  }

  asio::awaitable<bool> write_output() {
    while (!link_->ws.output().empty()) {
      arm();
      const std::string_view out = link_->ws.output();
      auto [ec, n] = co_await asio::async_write(link_->socket, asio::buffer(out.data(), out.size()),
                                                use_nothrow);
      link_->ws.consume_output(n);
      if (ec) {
        link_->io_error = describe(ec);
        link_->ws.end_of_stream();
        co_return false;
      }
    }
    co_return true;
  }

  /// Reads once into the endpoint; false when the connection ended (the endpoint knows).
  asio::awaitable<bool> read_some() {
    arm();
    auto [ec, n] = co_await link_->socket.async_read_some(
        asio::buffer(buffer_.data(), buffer_.size()), use_nothrow);
    if (n > 0)
      link_->ws.feed(std::string_view(buffer_.data(), n));
    if (!ec)
      co_return true;
    link_->io_error = describe(ec);
    link_->ws.end_of_stream();
    co_return false;
  }

  std::shared_ptr<watch_state> start_watch() {
    watch_ = std::make_shared<watch_state>(io_, link_->socket);
    arm();
    asio::co_spawn(io_, watch(watch_), asio::detached);
    return watch_;
  }

  void arm() { watch_->deadline = clock::now() + options_.io_timeout; }

  /// After a lost connection: false when the answer in progress ended with it (complete
  /// but for its done frame); else true (resume, or just reconnect between lines).
  bool answer_goes_on() {
    if (!session_.answering())
      return true;
    std::string out;
    const bool goes_on = session_.on_connection_lost(out);
    if (!out.empty())
      options_.on_output(out);
    if (!session_.message().empty())
      say(line_prefix() + session_.message());
    return goes_on;
  }

  void settle(attempt_outcome outcome) {
    if (outcome == attempt_outcome::refused)
      refused_any_ = true;
    else if (outcome == attempt_outcome::failed)
      failed_any_ = true;
    else
      return;
    say(line_prefix() + session_.message());
  }

  attempt_end lost(std::string why) const {
    attempt_end e;
    e.error = std::move(why);
    return e;
  }

  std::string describe(std::error_code ec) const {
    if (watch_ && watch_->timed_out)
      return "nothing from the server for " + ms_text(options_.io_timeout);
    if (ec == asio::error::eof)
      return "connection closed by the server";
    return ec.message();
  }

  std::string describe_close(const client_event& e) const {
    if (!link_->io_error.empty())
      return link_->io_error;
    if (e.by_peer)
      return "the server closed the stream (" + std::to_string(e.code) +
             (e.reason.empty() ? "" : ": " + e.reason) + ")";
    return e.reason + " (closed with " + std::to_string(e.code) + ")";
  }

  std::string resume_text() const {
    if (!session_.answering())
      return "reconnecting";
    return "resuming at F(" + std::to_string(session_.next_index()) + ")";
  }

  std::string line_prefix() const {
    return line_ == 0 ? std::string() : "line " + std::to_string(line_) + ": ";
  }

  std::string where() const {
    const auto& t = options_.target;
    return "ws://" + t.host + ":" + std::to_string(t.port) + t.path;
  }

  clock::duration backoff_delay(unsigned failures) const {
    const auto delay = options_.first_backoff * (1u << std::min(failures - 1, 10u));
    return std::min<clock::duration>(delay, options_.max_backoff);
  }

  void say(const std::string& line) const {
    if (options_.on_message)
      options_.on_message(line);
  }

  const stream_client_options& options_;
  asio::io_context io_{1};
  stream_session session_;
  std::unique_ptr<link> link_;
  std::shared_ptr<watch_state> watch_;
  std::vector<char> buffer_;
  std::uint64_t line_ = 0;  // lines read so far
  bool refused_any_ = false;
  bool failed_any_ = false;
  std::optional<std::string> gave_up_;  // why the client gave up, once it has
};

}  // namespace

stream_outcome run_stream_client(const stream_client_options& options) {
  stream_driver driver(options);
  return driver.run();
}

}  // namespace numsequence
