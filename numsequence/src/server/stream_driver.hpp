#pragma once
// Internal: the I/O loop every server connection shares, whatever its protocol.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <exception>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>

#include "connection_base.hpp"
#include "connection_io.hpp"
#include "numsequence/net/tls.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"
#include "numsequence/ops/metrics.hpp"
#include "numsequence/server/io_step.hpp"
#include "server_impl.hpp"

namespace numsequence::detail {

/// How long a lingering close (see stream_driver) waits at most for the peer to acknowledge
/// what it was sent, and the longest pause between two looks (the first is after 1 ms: on a
/// local network the acknowledgement is there by then, and the connection's place is free
/// again at once).
inline constexpr std::chrono::seconds lingering_limit{2};
inline constexpr std::chrono::milliseconds lingering_poll{50};

/// Carries out the steps a connection's state machine asks for (io_step): reads, writes and
/// close here; the protocol's own steps (a store operation, a pause, an upgrade) in the
/// derived class's other_step(). The timers are one watchdog (connection_io.hpp's watch()).
///
/// How a connection runs. Steps that complete at once (a read of bytes already there, a write
/// the socket takes whole) are carried out in a plain loop, run_ready_steps(); a step that has
/// to wait is handed to a coroutine, serve(), which performs it and any that follow, and
/// returns once only the peer's next bytes are awaited. Waiting for those is a readiness wait
/// with a callback. So a request answered at once costs no coroutine at all, and an idle
/// connection holds no coroutine frame (10,000 idle connections are a benchmark of their own).
///
/// `Machine` has next(now), feed(bytes), prepare(n)/commit(n), idle(), output(), written()
/// and lifetime(), and may have count_into(metrics_shard*) (it counts messages itself).
/// `Derived` names its `transport` (metrics and logs) and may define other_step(io_step) (a
/// coroutine answering whether the connection goes on), on_end() (a coroutine run once the
/// connection is over), on_close_now() (cancel its own timers) and last_words() (before
/// close_soon() closes a connection at once, the bytes that say why, written if the socket
/// takes them at once).
///
/// Counting: the connection's open and close, in numsequence_connections{transport}; a
/// machine that counts is given the shard of the thread it runs on.
///
/// How a connection closes. A close its protocol decides (an error answered, the last
/// response, a WebSocket close frame, the peer's end) while the peer has not acknowledged
/// everything written is a lingering close: a FIN after the last byte, the peer's bytes read
/// and dropped, and the socket closed once the peer has it all, or closes, or lingering_limit
/// has passed. Closed at once, the socket would be reset by the kernel as soon as a byte from
/// the peer is found unread, now or later, dropping what was not delivered yet: the end of a
/// streamed answer to a client that sent more meanwhile, a 413 to a client still sending its
/// body. Meanwhile the connection keeps its place in --max-connections (lingering sockets
/// stay bounded too); on a local network that is about a millisecond. The timers' closes and
/// abort() are immediate.
template <class Derived, class Machine>
class stream_driver : public connection_base {
 public:
  using clock = std::chrono::steady_clock;

  /// Serves the connection until it ends, then runs on_end() and leaves the server.
  static void start(std::shared_ptr<Derived> self) {
    watch(self);
    if (self->stream_.is_tls())
      continue_in_coroutine(std::move(self), io_step::read);  // the handshake comes first
    else
      self->carry_on(self->run_ready_steps());
  }

  void close_soon(std::string_view why) override {
    if (machine_.lifetime().closed())
      return;
    log_connection(log_level::debug, "closing connection: ", why);
    if (machine_.lifetime().request_close(clock::now()) ==
        connection_lifetime::verdict::close_now) {
      derived().last_words();
      close_now();
    }
  }
  void abort() override { close_now(); }
  asio::any_io_executor executor() override { return stream_.get_executor(); }

  // For the watchdog.
  connection_lifetime& lifetime() noexcept { return machine_.lifetime(); }
  asio::steady_timer& watchdog() noexcept { return watchdog_; }
  void deadline_passed(connection_lifetime::timer which) {
    if (which == connection_lifetime::timer::session)
      log_connection(log_level::debug, "closing connection: session timer");
    else
      log_connection(log_level::debug, "closing idle connection");
  }
  void close_now() {
    machine_.lifetime().close();
    stream_.close();
    watchdog_.cancel();
    derived().on_close_now();
  }

 protected:
  template <class... MachineArgs>
  stream_driver(std::shared_ptr<server::impl> srv, connection_stream stream,
                const asio::ip::tcp::endpoint& remote, MachineArgs&&... machine_args)
      : server_(std::move(srv)),
        stream_(std::move(stream)),
        watchdog_(stream_.get_executor()),
        machine_(std::forward<MachineArgs>(machine_args)...),
        remote_(remote) {
    server_->shard().connection_opened(Derived::transport);
    if constexpr (machine_counts)
      machine_.count_into(&server_->shard());
    // Reads and writes are tried at once; they must never block the thread.
    std::error_code ignored;
    stream_.socket().non_blocking(true, ignored);
    // Plain TCP has no handshake: the connection may carry requests at once (before watch()
    // first looks at the deadline, so that no handshake timer is armed for it).
    if (!stream_.is_tls())
      machine_.lifetime().ready(clock::now());
  }

  // Hooks' defaults.
  asio::awaitable<bool> other_step(io_step) { co_return false; }
  asio::awaitable<void> on_end() { co_return; }
  void on_close_now() {}
  void last_words() {}

  /// The socket went to another connection (an upgrade), which takes this one's place in the
  /// connection limit too: ending this one frees no place.
  void hand_over() noexcept { handed_over_ = true; }

  /// Logs a line with this connection's context fields after the caller's own (message parts
  /// and log_field arguments, as log() takes them).
  template <class... Args>
  void log_connection(log_level level, const Args&... args) const {
    if (!log_enabled(level))
      return;
    const std::string_view transport = name_of(Derived::transport);
    log(level, args..., log_field(log_key::remote, remote_),
        log_field(log_key::transport, transport));
  }

  static constexpr bool machine_counts = requires(Machine & m) { m.count_into(nullptr); };

  /// With one io_context run by several threads, the connection may run on another thread
  /// than before (after any wait): its machine must count on that thread's shard (a shard has
  /// one writer). Called before the machine is used after a wait.
  void follow_thread() {
    if constexpr (machine_counts) {
      if (server_->own_shard == nullptr)
        machine_.count_into(&server_->shard());
    }
  }

  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> self() { return std::static_pointer_cast<Derived>(shared_from_this()); }

  std::shared_ptr<server::impl> server_;
  connection_stream stream_;
  asio::steady_timer watchdog_;
  Machine machine_;
  const asio::ip::tcp::endpoint remote_;  // the peer, for log lines

 private:
  enum class read_outcome : std::uint8_t { bytes, nothing_yet, ended };

  io_step run_ready_steps() {
    follow_thread();
    // One reading of the clock for the whole run: it lasts microseconds, and the timers it
    // feeds count in milliseconds at least.
    const auto now = clock::now();
    // A peer that keeps bytes coming, or keeps taking large replies, would keep this loop
    // going for ever, and the thread's other connections and timers (this one's idle timer
    // among them) would never run: after this many reads and writes the connection waits
    // like any other, through the event loop (a readiness wait, or the asynchronous write,
    // which complete at once when the socket is ready).
    constexpr int io_per_turn = 16;
    int io_done = 0;
    for (;;) {
      const io_step next = machine_.next(now);
      const bool own_turn_over = ++io_done > io_per_turn;
      if (next == io_step::read && !stream_.is_tls()) {
        if (own_turn_over)
          return io_step::read;
        const read_outcome got = read_now();
        if (got == read_outcome::bytes)
          continue;
        return got == read_outcome::nothing_yet ? io_step::read : io_step::close;
      }
      if (next == io_step::write) {
        sent_ = 0;
        if (!own_turn_over && write_at_once())
          continue;
      }
      return next;
    }
  }

  void carry_on(io_step next) {
    if (next == io_step::read && !stream_.is_tls())
      wait_for_bytes();
    else if (next == io_step::close)
      end();
    else
      continue_in_coroutine(self(), next);
  }

  void wait_for_bytes() {
    machine_.idle();
    stream_.socket().async_wait(asio::ip::tcp::socket::wait_read,
                                [self = self()](std::error_code ec) {
                                  if (ec || self->lifetime().closed())
                                    self->end();
                                  else
                                    self->carry_on(self->run_ready_steps());
                                });
  }

  static void continue_in_coroutine(std::shared_ptr<Derived> self, io_step next) {
    const auto executor = self->stream_.get_executor();
    auto& driver = static_cast<stream_driver&>(*self);
    asio::co_spawn(executor, driver.serve(next), [self](std::exception_ptr failure, io_step last) {
      if (failure) {
        last = io_step::close;
        self->log_failure(failure);
      }
      self->carry_on(last);
    });
  }

  void log_failure(std::exception_ptr failure) const {
    std::string what = "an exception of unknown type";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log_connection(log_level::warning, "connection ended by an unexpected error",
                   log_field(log_key::error, what));
  }

  asio::awaitable<io_step> serve(io_step next) {
    // Performs the steps that wait, until only the peer's next bytes are awaited (plain TCP)
    // or the connection ends. An if-chain, not a switch: g++ 12.2 miscompiled a switch on the
    // step with co_await in its cases (the frame was corrupted on resumption; clang was fine).
    if (stream_.is_tls() && !handshaken_ && !co_await handshake())
      co_return io_step::close;
    for (;;) {
      bool go_on = true;
      if (next == io_step::read) {
        if (!stream_.is_tls())
          co_return io_step::read;
        go_on = co_await read_tls();
      } else if (next == io_step::write) {
        go_on = co_await write_rest_of_output();
      } else if (next == io_step::close) {
        go_on = false;
      } else {
        go_on = co_await derived().other_step(next);
      }
      if (!go_on)
        co_return io_step::close;
      next = run_ready_steps();
    }
  }

  void end() {
    if (!stream_.is_tls() && unacknowledged_bytes(stream_.socket()) > 0) {
      machine_.lifetime().close();
      watchdog_.cancel();
      asio::co_spawn(stream_.get_executor(), finish_lingering(self()), asio::detached);
      return;
    }
    close_now();
    asio::co_spawn(stream_.get_executor(), finish(self()), asio::detached);
  }

  static asio::awaitable<void> finish(std::shared_ptr<Derived> self) {
    co_await self->on_end();
    self->server_->connection_ended(self.get(), !self->handed_over_);
    // After its place in the connection limit is free: a scrape that sees it closed may count
    // on that place.
    self->server_->shard().connection_closed(Derived::transport);
  }

  static asio::awaitable<void> finish_lingering(std::shared_ptr<Derived> self) {
    // The protocol is over (a session is released at once); only the socket lingers.
    co_await self->on_end();
    co_await self->linger();
    self->close_now();
    self->server_->connection_ended(self.get(), !self->handed_over_);
    self->server_->shard().connection_closed(Derived::transport);
  }

  /// The lingering close (see the class comment). abort() ends it within lingering_poll.
  asio::awaitable<void> linger() {
    auto& socket = stream_.socket();
    std::error_code ec;
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    asio::steady_timer tick(socket.get_executor());
    const auto until = clock::now() + lingering_limit;
    std::chrono::milliseconds pause{1};
    while (!ec && socket.is_open() && unacknowledged_bytes(socket) > 0 && clock::now() < until) {
      // A client that sends everything before it reads must get to reading.
      if (!drain_input())
        co_return;  // the peer closed or reset: nothing more to wait for
      tick.expires_after(pause);
      pause = std::min(2 * pause, lingering_poll);
      std::tie(ec) = co_await tick.async_wait(use_nothrow);
    }
  }

  /// Reads and drops what the peer has sent (at most 4 MiB per call); false once it has
  /// closed or reset.
  bool drain_input() {
    for (int i = 0; i < 64; ++i) {
      std::string_view dropped;
      const std::error_code ec = read_into_scratch(stream_.socket(), dropped);
      if (would_block(ec))
        return true;
      if (ec)
        return false;
    }
    return true;
  }

  asio::awaitable<bool> handshake() {
    auto [ec] =
        co_await stream_.tls()->async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (ec) {
      // Plain-text clients, scanners and wrong certificates end here; not the server's fault.
      log_connection(log_level::debug, "TLS handshake failed",
                     log_field(log_key::error, ec.message()));
      co_return false;
    }
    handshaken_ = true;
    machine_.lifetime().ready(clock::now());
    co_return true;
  }

  read_outcome read_now() {
    std::string_view bytes;
    const std::error_code ec = read_into_scratch(stream_.socket(), bytes);
    if (would_block(ec))
      return read_outcome::nothing_yet;
    if (ec) {
      // EOF, resets and our own closes are how connections end; nothing to report.
      log_connection(log_level::debug, "connection read ended",
                     log_field(log_key::error, ec.message()));
      return read_outcome::ended;
    }
    machine_.feed(bytes);
    return read_outcome::bytes;
  }

  asio::awaitable<bool> read_tls() {
    auto room = machine_.prepare(1024);
    auto [ec, n] = co_await stream_.tls()->async_read_some(asio::buffer(room.data(), room.size()),
                                                           use_nothrow);
    machine_.commit(n);
    if (ec) {
      log_connection(log_level::debug, "connection read ended",
                     log_field(log_key::error, ec.message()));
      co_return false;
    }
    co_return true;
  }

  bool write_at_once() {
    const std::string_view bytes = machine_.output();
    std::error_code ec;
    sent_ = write_now(stream_, bytes, ec);
    if (ec) {
      close_now();  // next() now answers close
      return true;
    }
    if (sent_ < bytes.size())
      return false;
    machine_.written();
    return true;
  }

  asio::awaitable<bool> write_rest_of_output() {
    const std::error_code ec = co_await write_rest(stream_, machine_.output().substr(sent_));
    if (ec) {
      close_now();
      co_return false;
    }
    follow_thread();  // written() may count (a reply's time)
    machine_.written();
    co_return true;
  }

  std::size_t sent_ = 0;  // bytes of the output written at once, before the rest must wait
  bool handshaken_ = false;
  bool handed_over_ = false;
};

}  // namespace numsequence::detail
