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
}

asio::awaitable<void> tcp_connection::run(std::shared_ptr<tcp_connection> self) {
  watch(self);
  try {
    if (co_await self->handshake())
      co_await self->serve();
  } catch (const std::exception& e) {
    log(log_level::warning, "connection ended by an unexpected error: ", e.what());
  }
  self->close_now();
  co_await self->release_session();
  self->server_->connection_ended(self.get());
}

asio::awaitable<bool> tcp_connection::handshake() {
  if (auto* tls = stream_.tls()) {
    auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (ec) {
      // Plain-text clients, scanners and wrong certificates end here; not the server's fault.
      log(log_level::debug, "TLS handshake failed: ", ec.message());
      co_return false;
    }
  }
  machine_.lifetime().ready(clock::now());
  co_return true;
}

asio::awaitable<void> tcp_connection::serve() {
  // A loop that performs the steps the connection asks for. An if-chain, not a switch:
  // g++ 12.2 miscompiled `switch (machine_.next(...))` with co_await in its cases (the
  // coroutine frame was corrupted when it resumed; clang was fine).
  for (;;) {
    const step next = machine_.next(clock::now());
    bool go_on = true;
    if (next == step::read) {
      go_on = co_await read();
    } else if (next == step::write) {
      go_on = co_await write();
    } else if (next == step::store) {
      co_await store_step();
    } else if (next == step::pause) {
      co_await pause();
    } else {
      go_on = false;  // step::close
    }
    if (!go_on)
      co_return;
  }
}

asio::awaitable<bool> tcp_connection::read() {
  std::error_code ec;
  if (auto* tls = stream_.tls()) {
    auto room = machine_.reader().prepare(1024);
    std::size_t n = 0;
    std::tie(ec, n) =
        co_await tls->async_read_some(asio::buffer(room.data(), room.size()), use_nothrow);
    machine_.reader().commit(n);
  } else {
    std::string_view bytes;
    ec = co_await read_into_scratch(stream_.socket(), bytes, [this] { machine_.idle(); });
    if (!ec)
      machine_.feed(bytes);
  }
  if (ec) {
    // EOF, resets and our own closes are how connections end; nothing to report.
    log(log_level::debug, "connection read ended: ", ec.message());
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> tcp_connection::write() {
  const std::string_view bytes = machine_.output();
  std::error_code ec;
  const std::size_t sent = write_now(stream_, bytes, ec);
  if (!ec && sent < bytes.size())
    ec = co_await write_rest(stream_, bytes.substr(sent));
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
