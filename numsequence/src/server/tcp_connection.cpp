#include "tcp_connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/ssl/stream.hpp>
#include <exception>

#include "connection_io.hpp"
#include "numsequence/ops/log.hpp"
#include "server_impl.hpp"

namespace numsequence::detail {
namespace {

using clock = std::chrono::steady_clock;
using step = session_connection::step;

}  // namespace

tcp_connection::tcp_connection(std::shared_ptr<server::impl> srv, asio::ip::tcp::socket socket)
    : server_(std::move(srv)),
      stream_(server_->config.tls ? connection_stream(std::move(socket), *server_->config.tls)
                                  : connection_stream(std::move(socket))),
      watchdog_(stream_.get_executor()),
      machine_(server_->connection_config, server_->policy, server_->new_lease(), clock::now()) {
  // Reads and writes are tried at once; they must never block the thread.
  std::error_code ignored;
  stream_.socket().non_blocking(true, ignored);
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  if (server_->config.send_buffer > 0) {
    stream_.socket().set_option(
        asio::socket_base::send_buffer_size(static_cast<int>(server_->config.send_buffer)),
        ignored);
  }
  // Plain TCP has no handshake: the connection may carry requests at once. (Before watch()
  // first looks at the deadline, so that no handshake timer is armed for it.)
  if (!stream_.is_tls())
    machine_.lifetime().ready(clock::now());
}

// How a connection runs. Steps that complete at once (a read of bytes already there, a write
// the socket takes whole) are carried out in a plain loop, run_ready_steps(); a step that has to
// wait is handed to a coroutine, serve(), which performs it and any that follow, and returns
// once only the peer's next bytes are awaited. Waiting for those is a readiness wait with a
// callback. So a request answered at once costs no coroutine at all, and an idle connection
// holds no coroutine frame (10,000 idle connections are a benchmark of their own).
void tcp_connection::start(std::shared_ptr<tcp_connection> self) {
  watch(self);
  if (self->stream_.is_tls()) {
    continue_in_coroutine(std::move(self), step::read);  // the handshake comes first
  } else {
    self->carry_on(self->run_ready_steps());
  }
}

session_connection::step tcp_connection::run_ready_steps() {
  // One reading of the clock for the whole run: it lasts microseconds, and the timers it
  // feeds count in milliseconds at least.
  const auto now = clock::now();
  for (;;) {
    const step next = machine_.next(now);
    if (next == step::read && !stream_.is_tls()) {
      const read_outcome got = read_now();
      if (got == read_outcome::bytes)
        continue;
      return got == read_outcome::nothing_yet ? step::read : step::close;
    }
    if (next == step::write && write_at_once())
      continue;
    return next;
  }
}

void tcp_connection::carry_on(step next) {
  if (next == step::read && !stream_.is_tls()) {
    wait_for_bytes();
  } else if (next == step::close) {
    end();
  } else {
    continue_in_coroutine(self(), next);
  }
}

void tcp_connection::wait_for_bytes() {
  machine_.idle();
  stream_.socket().async_wait(asio::ip::tcp::socket::wait_read,
                              [self = self()](std::error_code ec) {
                                if (ec || self->lifetime().closed())
                                  self->end();
                                else
                                  self->carry_on(self->run_ready_steps());
                              });
}

void tcp_connection::continue_in_coroutine(std::shared_ptr<tcp_connection> self, step next) {
  const auto executor = self->stream_.get_executor();
  asio::co_spawn(executor, self->serve(next), [self](std::exception_ptr failure, step last) {
    if (failure) {
      last = step::close;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        log(log_level::warning, "connection ended by an unexpected error: ", e.what());
      } catch (...) {
        log(log_level::warning, "connection ended by an unexpected error");
      }
    }
    self->carry_on(last);
  });
}

asio::awaitable<session_connection::step> tcp_connection::serve(step next) {
  // Performs the steps that wait, until only the peer's next bytes are awaited (plain TCP) or
  // the connection ends. An if-chain, not a switch: g++ 12.2 miscompiled a switch on the step
  // with co_await in its cases (the frame was corrupted on resumption; clang was fine).
  if (stream_.is_tls() && !handshaken_ && !co_await handshake())
    co_return step::close;
  for (;;) {
    bool go_on = true;
    if (next == step::read) {
      if (!stream_.is_tls())
        co_return step::read;
      go_on = co_await read_tls();
    } else if (next == step::write) {
      go_on = co_await write_rest_of_output();
    } else if (next == step::store) {
      co_await store_step();
    } else if (next == step::pause) {
      co_await pause();
    } else {
      go_on = false;  // step::close
    }
    if (!go_on)
      co_return step::close;
    next = run_ready_steps();
  }
}

void tcp_connection::end() {
  close_now();
  asio::co_spawn(stream_.get_executor(), finish(self()), asio::detached);
}

asio::awaitable<void> tcp_connection::finish(std::shared_ptr<tcp_connection> self) {
  co_await self->release_session();
  self->server_->connection_ended(self.get());
}

asio::awaitable<bool> tcp_connection::handshake() {
  auto [ec] = co_await stream_.tls()->async_handshake(asio::ssl::stream_base::server, use_nothrow);
  if (ec) {
    // Plain-text clients, scanners and wrong certificates end here; not the server's fault.
    log(log_level::debug, "TLS handshake failed: ", ec.message());
    co_return false;
  }
  handshaken_ = true;
  machine_.lifetime().ready(clock::now());
  co_return true;
}

tcp_connection::read_outcome tcp_connection::read_now() {
  std::string_view bytes;
  const std::error_code ec = read_into_scratch(stream_.socket(), bytes);
  if (would_block(ec))
    return read_outcome::nothing_yet;
  if (ec) {
    // EOF, resets and our own closes are how connections end; nothing to report.
    log(log_level::debug, "connection read ended: ", ec.message());
    return read_outcome::ended;
  }
  machine_.feed(bytes);
  return read_outcome::bytes;
}

asio::awaitable<bool> tcp_connection::read_tls() {
  auto room = machine_.reader().prepare(1024);
  auto [ec, n] =
      co_await stream_.tls()->async_read_some(asio::buffer(room.data(), room.size()), use_nothrow);
  machine_.reader().commit(n);
  if (ec) {
    log(log_level::debug, "connection read ended: ", ec.message());
    co_return false;
  }
  co_return true;
}

bool tcp_connection::write_at_once() {
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

asio::awaitable<bool> tcp_connection::write_rest_of_output() {
  const std::string_view rest = machine_.output().substr(sent_);
  const std::error_code ec = co_await write_rest(stream_, rest);
  if (ec) {
    close_now();
    co_return false;
  }
  machine_.written();
  co_return true;
}

asio::awaitable<void> tcp_connection::pause() {
  if (!pause_timer_)
    pause_timer_ = std::make_unique<asio::steady_timer>(stream_.get_executor());
  pause_timer_->expires_after(server_->config.interval);
  co_await pause_timer_->async_wait(use_nothrow);
  machine_.paused();
}

void tcp_connection::close_soon(std::string_view why) {
  if (machine_.lifetime().closed())
    return;
  log(log_level::debug, "closing connection: ", why);
  if (machine_.lifetime().request_close(clock::now()) == connection_lifetime::verdict::close_now)
    close_now();
}

void tcp_connection::deadline_passed(connection_lifetime::timer which) {
  if (which == connection_lifetime::timer::session)
    log(log_level::debug, "closing connection: session timer");
  else
    log(log_level::debug, "closing idle connection");
}

void tcp_connection::close_now() {
  machine_.lifetime().close();
  stream_.close();
  watchdog_.cancel();
  if (pause_timer_)
    pause_timer_->cancel();
  if (keep_alive_timer_)
    keep_alive_timer_->cancel();
}

}  // namespace numsequence::detail

namespace numsequence::detail {

asio::awaitable<void> tcp_connection::store_step() {
  // Not a switch with co_await in its cases: see serve().
  const auto action = machine_.store_action();
  if (action == session_connection::action::create_session)
    co_await create_session();
  else if (action == session_connection::action::attach_session)
    co_await attach_session();
  else if (action == session_connection::action::complete_session)
    co_await complete_session();
}

asio::awaitable<void> tcp_connection::create_session() {
  const auto& rules = machine_.rules();
  // Registered before the store call: the moment the store shows this lease, a CONT on
  // another thread that takes the session over must find this connection.
  server_->registry->add(rules.lease(), shared_from_this());
  const auto status = co_await server_->store.async_create(rules.pending_record(), rules.lease());
  machine_.on_created(status);
  if (!rules.owns_session()) {
    release_ownership();
    co_return;
  }
  claim_session();
  const auto& seq = rules.pending_record().sequence;
  log(log_level::info, "session ", seq.id.redacted(), " created (n=", seq.n, ", batch=", seq.batch,
      ")");
}

asio::awaitable<void> tcp_connection::attach_session() {
  const auto& rules = machine_.rules();
  server_->registry->add(rules.lease(), shared_from_this());  // before the store call, as above
  const auto result = co_await server_->store.async_attach(rules.pending_id(), rules.lease());
  machine_.on_attached(result);
  if (!rules.owns_session())
    release_ownership();
  if (result.status != store_status::ok)
    co_return;
  log(log_level::info, "session ", rules.pending_id().redacted(), " continued",
      result.previous_lease != 0 ? " (taken over from another connection)" : "");
  if (result.previous_lease != 0)
    take_over(result.previous_lease);
  if (rules.owns_session())
    claim_session();
}

asio::awaitable<void> tcp_connection::complete_session() {
  const auto& rules = machine_.rules();
  const auto id = rules.pending_id();
  const auto status =
      co_await server_->store.async_complete(id, rules.lease(), rules.pending_checksum());
  if (status != store_status::ok)
    log(log_level::warning, "session ", id.redacted(),
        " completed but the store could not record it");
  machine_.on_completed(status);
  release_ownership();
  log(log_level::info, "session ", id.redacted(), " completed");
}

void tcp_connection::claim_session() {
  const auto interval = server_->store.keep_alive_interval();
  if (!interval || keep_alive_timer_)
    return;
  keep_alive_timer_ = std::make_unique<asio::steady_timer>(stream_.get_executor());
  asio::co_spawn(stream_.get_executor(), keep_alive(self(), *interval), asio::detached);
}

/// Refreshes a shared store's TTL on the live session; closes the connection once the
/// session is held elsewhere (taken over on another server).
asio::awaitable<void> tcp_connection::keep_alive(std::shared_ptr<tcp_connection> self,
                                                 clock::duration interval) {
  const auto& rules = self->machine_.rules();
  while (!self->lifetime().closed() && rules.owns_session()) {
    self->keep_alive_timer_->expires_after(interval);
    co_await self->keep_alive_timer_->async_wait(use_nothrow);
    if (self->lifetime().closed() || !rules.owns_session())
      break;
    const auto status =
        co_await self->server_->store.async_keep_alive(rules.pending_record(), rules.lease());
    if (status == store_status::not_found && rules.owns_session())
      self->close_soon("session taken over on another server");
    // unavailable: keep serving; the next refresh tries again.
  }
}

void tcp_connection::release_ownership() {
  server_->registry->remove(machine_.rules().lease());
}

/// Closes the connection (in this process, on any thread) that held the session.
void tcp_connection::take_over(lease_id previous) {
  auto loser = server_->registry->find(previous);
  if (!loser || loser.get() == this)
    return;
  asio::post(loser->executor(),
             [loser] { loser->close_soon("session taken over by a new connection"); });
}

/// Parks the session if this connection still holds it.
asio::awaitable<void> tcp_connection::release_session() {
  const auto& rules = machine_.rules();
  if (!rules.owns_session())
    co_return;
  const auto id = *rules.session_id();
  release_ownership();
  try {
    co_await server_->store.async_park(rules.pending_record(), rules.lease());
    log(log_level::debug, "session ", id.redacted(), " parked");
  } catch (const std::exception& e) {
    log(log_level::warning, "could not park session ", id.redacted(), ": ", e.what());
  }
}

}  // namespace numsequence::detail
