#include "numsequence/server/server.hpp"

#include <openssl/rand.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <cerrno>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/frame_decoder.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/session/session_rules.hpp"
#include "numsequence/net/tls.hpp"

namespace numsequence {
namespace {

using asio::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Told to a connection beyond --max-connections, before it is closed.
constexpr std::string_view busy_reply = "ERR,server busy;";
// Connections being turned away at once; past this, more are closed without a word, so
// that a connection flood cannot make the refusals themselves a cost.
constexpr std::size_t max_refusals_in_progress = 256;
// A TLS handshake must finish within the idle timer, or this when the idle timer is off:
// a handshake is never the session's business, and must not hold a connection for ever.
constexpr auto handshake_limit = std::chrono::seconds(10);

// Numbers per piece of a large NUM reply: about half the output buffer (a number takes at
// most 11 bytes with its ':'), so the buffer never grows past 1.5 times its flush threshold
// and is never released and re-grown between pieces.
std::uint32_t numbers_per_piece(std::size_t output_buffer) {
  constexpr std::size_t max_number_bytes = 11;
  return static_cast<std::uint32_t>(
      std::clamp<std::size_t>(output_buffer / (2 * max_number_bytes), 1, 1u << 20));
}

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t random_uint64() {
  std::uint64_t value = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof value) != 1) {
    throw std::runtime_error("the OS random source failed (RAND_bytes)");
  }
  return value;
}

clock::time_point deadline_after(clock::duration d) {
  return d > clock::duration::zero() ? clock::now() + d : clock::time_point::max();
}

}  // namespace

std::uint64_t make_session_seed(const std::optional<std::uint64_t>& fixed_seed,
                                const client_id& id) {
  if (!fixed_seed)
    return random_uint64();
  // FNV-1a over the id text, then mixed with the fixed seed: stable across
  // processes and machines, unlike std::hash.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : id.view()) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return splitmix64(*fixed_seed ^ splitmix64(h));
}

namespace detail {
class server_connection;
}
using detail::server_connection;

/// Live connections by lease, shared by every server (thread) of the process: a CONT served
/// on one thread finds and closes the connection it takes the session from on another.
class connection_registry {
 public:
  void add(lease_id lease, const std::shared_ptr<server_connection>& c) {
    std::lock_guard lock(mutex_);
    by_lease_[lease] = c;
  }
  void remove(lease_id lease) {
    std::lock_guard lock(mutex_);
    by_lease_.erase(lease);
  }
  std::shared_ptr<server_connection> find(lease_id lease) {
    std::lock_guard lock(mutex_);
    auto it = by_lease_.find(lease);
    return it == by_lease_.end() ? nullptr : it->second.lock();
  }

  /// Counts a new connection in, unless `limit` (0: none) are open in the process already.
  bool try_admit(std::size_t limit) noexcept {
    if (open_.fetch_add(1, std::memory_order_relaxed) < limit || limit == 0)
      return true;
    open_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void leave() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> open_{0};
  std::mutex mutex_;
  std::unordered_map<lease_id, std::weak_ptr<server_connection>> by_lease_;
};

std::shared_ptr<connection_registry> make_connection_registry() {
  return std::make_shared<connection_registry>();
}

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(asio::io_context& io_context, server_config cfg, session_store& s,
       std::shared_ptr<connection_registry> r)
      : io(io_context),
        config(std::move(cfg)),
        store(s),
        acceptor(io_context),
        registry(r ? std::move(r) : make_connection_registry()) {}

  asio::io_context& io;
  server_config config;
  session_store& store;
  // The accept loop, stop() and its timers run here, so that they never race with each
  // other when several threads run the io_context.
  asio::strand<asio::io_context::executor_type> strand{asio::make_strand(io)};
  tcp::acceptor acceptor;
  asio::steady_timer accept_backoff{strand};
  asio::steady_timer stop_grace{strand};
  std::atomic<bool> stopping = false;
  std::mutex mutex;  // connections and on_stopped: connections end on any thread
  std::function<void()> on_stopped;
  std::unordered_set<server_connection*> connections;
  std::atomic<std::size_t> refusals_in_progress{0};  // refuse_busy() may run on any thread
  std::shared_ptr<connection_registry> registry;
  // Leases are unique per server instance and per attachment.
  std::uint64_t lease_prefix = random_uint64() << 32;
  std::uint32_t next_lease = 0;

  lease_id new_lease() { return lease_prefix | ++next_lease; }

  asio::awaitable<void> accept_loop();
  static asio::awaitable<void> refuse_busy(std::shared_ptr<impl> self, tcp::socket socket);
  void connection_ended(server_connection* c);
  void stop(std::function<void()> done);
  // Closes every connection on its own executor; `abort` skips the replies being written.
  void close_all(bool abort);
};

namespace detail {

/// One client connection: reads requests, runs them through connection_rules, writes
/// the replies in order. A watchdog coroutine beside it enforces the session and
/// idle timers by closing the socket, which ends any read in progress.
class server_connection : public std::enable_shared_from_this<server_connection> {
 public:
  server_connection(std::shared_ptr<server::impl> srv, tcp::socket socket)
      : server_(std::move(srv)),
        stream_(server_->config.tls ? connection_stream(std::move(socket), *server_->config.tls)
                                    : connection_stream(std::move(socket))),
        watchdog_(stream_.get_executor()),
        pause_(stream_.get_executor()),
        keep_alive_timer_(stream_.get_executor()),
        decoder_(server_->config.max_message),
        rules_(session_policy{server_->config.test_mode,
                              [fixed = server_->config.fixed_seed](const client_id& id) {
                                return make_session_seed(fixed, id);
                              },
                              numbers_per_piece(server_->config.output_buffer)},
               server_->new_lease()),
        // Room for a message of the maximum length plus the next one's start; 1 KiB
        // holds ~140 pipelined RECVs per read and keeps 10,000 idle connections small.
        input_(std::max<std::size_t>(1024, 2 * server_->config.max_message + 2)) {
    session_deadline_ = deadline_after(server_->config.session_timeout);
    idle_deadline_ = deadline_after(server_->config.idle_timeout);
    if (stream_.is_tls() && idle_deadline_ == clock::time_point::max())
      idle_deadline_ = deadline_after(handshake_limit);
    // flush() tries each write at once; it must never block the thread.
    std::error_code ignored;
    stream_.socket().non_blocking(true, ignored);
    if (server_->config.send_buffer > 0) {
      stream_.socket().set_option(
          asio::socket_base::send_buffer_size(static_cast<int>(server_->config.send_buffer)),
          ignored);
    }
  }

  static asio::awaitable<void> run(std::shared_ptr<server_connection> self) {
    asio::co_spawn(self->stream_.get_executor(), watch(self), asio::detached);
    try {
      if (co_await self->handshake())
        co_await self->serve(self);
    } catch (const std::exception& e) {
      log(log_level::warning, "connection ended by an unexpected error: ", e.what());
    }
    self->close_now();
    co_await self->release_session();
    self->server_->connection_ended(self.get());
  }

  /// Closes now, abandoning a write in progress (shutdown after its grace period).
  void abort() { close_now(); }

  /// Closes once any reply being written is out (session timer, takeover, shutdown).
  void close_soon(std::string_view why) {
    if (closed_)
      return;
    log(log_level::debug, "closing connection: ", why);
    if (busy_) {
      // The reply in progress may finish, within one idle period from now at most.
      close_after_write_ = true;
      idle_deadline_ = std::max(idle_deadline_, deadline_after(server_->config.idle_timeout));
    } else {
      close_now();
    }
  }

  lease_id lease() const noexcept { return rules_.lease(); }
  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  using action = connection_rules::action;

  /// TLS: the handshake, bounded by the watchdog (idle timer). True when the connection
  /// can carry messages.
  asio::awaitable<bool> handshake() {
    auto* tls = stream_.tls();
    if (tls == nullptr)
      co_return true;
    auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (ec) {
      // Plain-text clients, scanners and wrong certificates end here; not the server's fault.
      log(log_level::debug, "TLS handshake failed: ", ec.message());
      co_return false;
    }
    idle_deadline_ = deadline_after(server_->config.idle_timeout);
    co_return true;
  }

  asio::awaitable<void> serve(const std::shared_ptr<server_connection>& self) {
    // One message object for the connection's life, holding a RECV: the parser refills it
    // in place for RECV, the common case, rather than building a fresh variant per frame.
    client_message message{std::in_place_type<recv_message>};
    for (;;) {
      // Handle every complete message already buffered before reading again.
      while (!closed_) {
        const std::string_view pending(input_.data() + begin_, end_ - begin_);
        const frame_result frame = decoder_.consume(pending);
        if (frame.what == frame_result::kind::need_more) {
          begin_ += frame.consumed;
          break;
        }
        if (frame.what == frame_result::kind::error) {
          rules_.on_decode_error(frame.error, output_);
          co_await flush();
          co_return;
        }
        begin_ += frame.consumed;
        idle_deadline_ = deadline_after(server_->config.idle_timeout);

        if (auto ec = parse_client_message(frame.frame, message)) {
          rules_.on_decode_error(ec, output_);
          co_await flush();
          co_return;
        }
        // From here until its reply is written, a request is in progress: the session
        // timer, a takeover or a shutdown let it finish (close_soon defers to flush()).
        busy_ = true;
        const auto* recv = std::get_if<recv_message>(&message);
        if (recv != nullptr && server_->config.interval > clock::duration::zero() &&
            rules_.answers_with_numbers(*recv)) {
          if (!co_await flush())
            co_return;
          busy_ = true;
          // The pause is part of the reply, so it must not count as idleness either.
          idle_deadline_ = deadline_after(server_->config.interval + server_->config.idle_timeout);
          pause_.expires_after(server_->config.interval);
          co_await pause_.async_wait(use_nothrow);
          if (closed_)
            co_return;
        }
        action next = rules_.on_message(message, output_);
        if (next != action::proceed && next != action::close)
          next = co_await apply(self, next);  // only INIT, CONT and FIN reach the store
        // A batch larger than a piece comes a piece at a time, each written once the buffer
        // is full, so a 65535-number reply never sits whole in memory. The reply stays in
        // progress (busy_) across its pieces: the timers and a takeover let it finish.
        while (rules_.reply_unfinished()) {
          if (output_.size() >= server_->config.output_buffer &&
              !co_await flush(/*more_to_come=*/true))
            co_return;
          rules_.continue_reply(output_);
        }
        if (next == action::close || close_after_write_) {
          co_await flush();
          co_return;
        }
        if (output_.size() >= server_->config.output_buffer && !co_await flush())
          co_return;
      }
      if (!co_await flush())
        co_return;

      // Make room: drop consumed bytes; a partial message moves to the front.
      if (begin_ == end_) {
        begin_ = end_ = 0;
      } else if (begin_ > 0) {
        std::copy(input_.begin() + static_cast<std::ptrdiff_t>(begin_),
                  input_.begin() + static_cast<std::ptrdiff_t>(end_), input_.begin());
        end_ -= begin_;
        begin_ = 0;
      }
      auto [ec, n] = co_await stream_.async_read_some(
          asio::buffer(input_.data() + end_, input_.size() - end_), use_nothrow);
      if (ec) {
        // EOF, resets and our own closes are how connections end; nothing to report.
        log(log_level::debug, "connection read ended: ", ec.message());
        co_return;
      }
      end_ += n;
    }
  }

  /// Runs the store operations the rules ask for until they ask for I/O again.
  asio::awaitable<action> apply(const std::shared_ptr<server_connection>& self, action next) {
    for (;;) {
      switch (next) {
        case action::create_session: {
          // Registered before the store call: the moment the store shows this lease, a
          // CONT on another thread that takes the session over must find this connection.
          server_->registry->add(rules_.lease(), self);
          const auto status =
              co_await server_->store.async_create(rules_.pending_record(), rules_.lease());
          next = rules_.on_created(status, output_);
          if (!rules_.owns_session())
            release_ownership();
          if (rules_.owns_session()) {
            claim_session(self);
            const auto& seq = rules_.pending_record().sequence;
            log(log_level::info, "session ", seq.id.redacted(), " created (n=", seq.n,
                ", batch=", seq.batch, ")");
          }
          break;
        }
        case action::attach_session: {
          server_->registry->add(rules_.lease(), self);  // before the store call, as above
          const auto result =
              co_await server_->store.async_attach(rules_.pending_id(), rules_.lease());
          next = rules_.on_attached(result, output_);
          if (!rules_.owns_session())
            release_ownership();
          if (result.status == store_status::ok) {
            log(log_level::info, "session ", rules_.pending_id().redacted(), " continued",
                result.previous_lease != 0 ? " (taken over from another connection)" : "");
            if (result.previous_lease != 0)
              take_over(result.previous_lease);
            if (rules_.owns_session())
              claim_session(self);
          }
          break;
        }
        case action::complete_session: {
          const auto id = rules_.pending_id();
          const auto status =
              co_await server_->store.async_complete(id, rules_.lease(), rules_.pending_checksum());
          if (status != store_status::ok) {
            log(log_level::warning, "session ", id.redacted(),
                " completed but the store could not record it");
          }
          next = rules_.on_completed(status, output_);
          release_ownership();
          log(log_level::info, "session ", id.redacted(), " completed");
          break;
        }
        case action::proceed:
        case action::close:
          co_return next;
      }
    }
  }

  void claim_session(const std::shared_ptr<server_connection>& self) {
    if (auto interval = server_->store.keep_alive_interval(); interval && !keeping_alive_) {
      keeping_alive_ = true;
      asio::co_spawn(stream_.get_executor(), keep_alive(self, *interval), asio::detached);
    }
  }

  /// Refreshes a shared store's TTL on the live session; closes the connection once
  /// the session is held elsewhere (taken over on another server).
  static asio::awaitable<void> keep_alive(std::shared_ptr<server_connection> self,
                                          clock::duration interval) {
    while (!self->closed_ && self->rules_.owns_session()) {
      self->keep_alive_timer_.expires_after(interval);
      co_await self->keep_alive_timer_.async_wait(use_nothrow);
      if (self->closed_ || !self->rules_.owns_session())
        break;
      const auto status = co_await self->server_->store.async_keep_alive(
          self->rules_.pending_record(), self->rules_.lease());
      if (status == store_status::not_found && self->rules_.owns_session()) {
        self->close_soon("session taken over on another server");
      }
      // unavailable: keep serving; the next refresh tries again.
    }
  }

  void release_ownership() { server_->registry->remove(rules_.lease()); }

  /// Closes the connection (in this process, on any thread) that held the session.
  void take_over(lease_id previous) {
    auto loser = server_->registry->find(previous);
    if (!loser || loser.get() == this)
      return;
    asio::post(loser->stream_.get_executor(),
               [loser] { loser->close_soon("session taken over by a new connection"); });
  }

  /// Parks the session if this connection still holds it.
  asio::awaitable<void> release_session() {
    if (!rules_.owns_session())
      co_return;
    const auto id = *rules_.session_id();
    release_ownership();
    try {
      co_await server_->store.async_park(rules_.pending_record(), rules_.lease());
      log(log_level::debug, "session ", id.redacted(), " parked");
    } catch (const std::exception& e) {
      log(log_level::warning, "could not park session ", id.redacted(), ": ", e.what());
    }
  }

  /// Writes the gathered replies. False when the connection is (now) closed. With
  /// `more_to_come`, the last reply in the buffer is unfinished: the connection stays busy,
  /// and a close asked for meanwhile waits for the rest of the reply.
  asio::awaitable<bool> flush(bool more_to_come = false) {
    if (closed_)
      co_return false;
    if (output_.empty()) {
      busy_ = more_to_come;
      if (close_after_write_ && !more_to_come) {
        close_now();
        co_return false;
      }
      co_return true;
    }
    busy_ = true;
    // A client that stops reading must not hold the write forever: the write counts
    // against the idle timer like a read. Once a close is pending, writes no longer
    // restart it (close_soon() gave the rest of the reply one idle period), or a reader
    // taking a piece per idle period could hold a closing connection for a long time.
    if (!close_after_write_)
      idle_deadline_ = deadline_after(server_->config.idle_timeout);
    // Plain TCP sends at once: a reply that fits in the socket buffer (nearly always) then
    // costs one send, without an asynchronous completion to post and an extra epoll_wait
    // per reply. Only what the socket does not take now is written asynchronously. TLS
    // always writes asynchronously: a record must never be cut by a would-block.
    std::error_code ec;
    std::size_t sent = 0;
    if (!stream_.is_tls()) {
      sent = stream_.socket().write_some(asio::buffer(output_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        sent = 0;
      }
    }
    if (!ec && sent < output_.size()) {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(stream_, asio::buffer(output_) + sent, use_nothrow);
    }
    busy_ = more_to_come;
    output_.clear();
    // A burst of pipelined replies must not leave a big buffer behind for the rest of the
    // connection.
    if (output_.capacity() > 2 * server_->config.output_buffer)
      std::string().swap(output_);
    if (ec || (close_after_write_ && !more_to_come)) {
      close_now();
      co_return false;
    }
    co_return !closed_;  // the watchdog may have closed it while the write completed
  }

  void close_now() {
    if (closed_)
      return;
    closed_ = true;
    stream_.close();
    watchdog_.cancel();
    pause_.cancel();
    keep_alive_timer_.cancel();
  }

  static asio::awaitable<void> watch(std::shared_ptr<server_connection> self) {
    while (!self->closed_) {
      const auto deadline = std::min(self->session_deadline_, self->idle_deadline_);
      if (deadline == clock::time_point::max()) {
        // No timers: sleep until closed (cancel() wakes us).
        self->watchdog_.expires_at(clock::time_point::max());
      } else {
        self->watchdog_.expires_at(deadline);
      }
      co_await self->watchdog_.async_wait(use_nothrow);
      if (self->closed_)
        co_return;
      const auto now = clock::now();
      if (now >= self->session_deadline_) {
        self->close_soon("session timer");
        // Only a reply can still be running; the idle deadline bounds it (close_soon).
        self->session_deadline_ = clock::time_point::max();
      } else if (now >= self->idle_deadline_) {
        log(log_level::debug, "closing idle connection");
        self->close_now();
      }
    }
  }

  std::shared_ptr<server::impl> server_;
  connection_stream stream_;
  asio::steady_timer watchdog_;
  asio::steady_timer pause_;
  asio::steady_timer keep_alive_timer_;
  frame_decoder decoder_;
  connection_rules rules_;
  std::vector<char> input_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string output_;
  clock::time_point session_deadline_;
  clock::time_point idle_deadline_;
  bool busy_ = false;  // a request is being answered: its reply is due before a close
  bool close_after_write_ = false;
  bool closed_ = false;
  bool keeping_alive_ = false;
};

}  // namespace detail

asio::awaitable<void> server::impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopping) {
    // With several threads on one io_context, a connection's handlers (its reads, writes,
    // timers, takeover) must not run concurrently: each gets a strand.
    const asio::any_io_executor executor = config.shared_io_context
                                               ? asio::any_io_executor(asio::make_strand(io))
                                               : asio::any_io_executor(io.get_executor());
    auto [ec, socket] = co_await acceptor.async_accept(executor, use_nothrow);
    if (stopping)
      co_return;
    if (ec) {
      // Running out of file descriptors must not end the server: wait, try again.
      log(log_level::warning, "accept failed: ", ec.message(), "; retrying in 100 ms");
      accept_backoff.expires_after(std::chrono::milliseconds(100));
      co_await accept_backoff.async_wait(use_nothrow);
      continue;
    }
    if (!registry->try_admit(config.max_connections)) {
      log(log_level::debug, "connection refused: --max-connections (", config.max_connections,
          ") reached");
      if (config.tls == nullptr && refusals_in_progress < max_refusals_in_progress) {
        // On the socket's executor (a strand in the shared model): the drain and its
        // time limit must not run at once.
        asio::co_spawn(executor, refuse_busy(self, std::move(socket)), asio::detached);
      } else {
        // TLS: saying "busy" would cost a handshake, the very work an overloaded server
        // must not take on; the client sees a closed connection and retries later.
        std::error_code ignored;
        socket.close(ignored);
      }
      continue;
    }
    std::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<server_connection>(self, std::move(socket));
    {
      std::lock_guard lock(mutex);
      connections.insert(c.get());
    }
    asio::co_spawn(executor, server_connection::run(std::move(c)), asio::detached);
  }
}

/// Tells a connection beyond the limit why it is closed. Its request may already be in
/// our receive buffer: closing with unread data would reset the connection and could
/// destroy the reply before the peer reads it, so the reply goes out with a FIN and the
/// peer's bytes are drained (for at most a second) before the socket is closed.
asio::awaitable<void> server::impl::refuse_busy(std::shared_ptr<impl> self, tcp::socket socket) {
  ++self->refusals_in_progress;
  asio::steady_timer limit(socket.get_executor());
  limit.expires_after(std::chrono::seconds(1));
  limit.async_wait([&socket](std::error_code ec) {
    if (!ec) {
      std::error_code ignored;
      socket.close(ignored);
    }
  });
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(busy_reply), use_nothrow);
  if (!ec) {
    std::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 512> sink;
    for (;;) {
      auto [rec, got] = co_await socket.async_read_some(asio::buffer(sink), use_nothrow);
      if (rec)
        break;
    }
  }
  limit.cancel();
  std::error_code ignored;
  socket.close(ignored);
  --self->refusals_in_progress;
}

void server::impl::connection_ended(server_connection* c) {
  registry->leave();
  std::function<void()> done;
  {
    std::lock_guard lock(mutex);
    connections.erase(c);
    if (stopping && connections.empty() && on_stopped) {
      done = std::move(on_stopped);
      on_stopped = nullptr;
    }
  }
  if (done) {
    asio::dispatch(strand, [self = shared_from_this(), done = std::move(done)] {
      self->stop_grace.cancel();
      done();
    });
  }
}

void server::impl::close_all(bool abort) {
  // A connection in the set has not ended, so its run() still holds it: safe to share.
  std::vector<std::shared_ptr<server_connection>> open;
  {
    std::lock_guard lock(mutex);
    open.reserve(connections.size());
    for (server_connection* c : connections)
      open.push_back(c->shared_from_this());
  }
  if (abort && !open.empty())
    log(log_level::warning, "closing ", open.size(), " connection(s) still writing at shutdown");
  for (auto& c : open) {
    auto executor = c->executor();
    asio::dispatch(executor, [c = std::move(c), abort] {
      if (abort) {
        c->abort();
      } else {
        c->close_soon("server stopping");
      }
    });
  }
}

void server::impl::stop(std::function<void()> done) {
  {
    std::lock_guard lock(mutex);
    stopping = true;
    on_stopped = std::move(done);
  }
  std::error_code ignored;
  acceptor.close(ignored);
  accept_backoff.cancel();
  close_all(false);
  // Replies being written get a grace period; a client that stopped reading (and, with
  // the idle timer off, nothing else) must not hold the shutdown for ever.
  stop_grace.expires_after(std::chrono::seconds(3));
  stop_grace.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec)
      self->close_all(true);
  });
  {
    std::lock_guard lock(mutex);
    if (!connections.empty() || !on_stopped)
      return;
    done = std::move(on_stopped);
    on_stopped = nullptr;
  }
  stop_grace.cancel();
  asio::post(strand, std::move(done));
}

server::server(asio::io_context& io, server_config config, session_store& store,
               std::shared_ptr<connection_registry> registry)
    : impl_(std::make_shared<impl>(io, std::move(config), store, std::move(registry))) {
  const auto address = asio::ip::make_address(impl_->config.host);
  const tcp::endpoint endpoint(address, impl_->config.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  if (impl_->config.reuse_port) {
    // Several servers (one per thread) listen on one port; the kernel spreads connections.
    const int one = 1;
    if (::setsockopt(impl_->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
        0) {
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
    }
  }
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

server::~server() {
  std::error_code ignored;
  impl_->acceptor.close(ignored);
}

tcp::endpoint server::local_endpoint() const {
  return impl_->acceptor.local_endpoint();
}

void server::start() {
  asio::co_spawn(impl_->strand, impl_->accept_loop(), asio::detached);
}

void server::stop(std::function<void()> on_stopped) {
  asio::dispatch(impl_->strand, [impl = impl_, done = std::move(on_stopped)]() mutable {
    impl->stop(std::move(done));
  });
}

std::size_t server::connection_count() const noexcept {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections.size();
}

}  // namespace numsequence
