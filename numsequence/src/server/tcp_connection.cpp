#include "tcp_connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <exception>

namespace numsequence::detail {
namespace {

connection_stream make_stream(const server::impl& srv, asio::ip::tcp::socket socket) {
  set_accepted_socket_options(socket, srv.config.send_buffer);
  if (srv.config.tls)
    return connection_stream(std::move(socket), *srv.config.tls);
  return connection_stream(std::move(socket));
}

}  // namespace

tcp_connection::tcp_connection(std::shared_ptr<server::impl> srv, asio::ip::tcp::socket socket,
                               const asio::ip::tcp::endpoint& remote)
    : stream_driver(srv, make_stream(*srv, std::move(socket)), remote, srv->connection_config,
                    srv->policy, srv->new_lease(), clock::now()) {}

asio::awaitable<bool> tcp_connection::other_step(io_step step) {
  if (step == io_step::store)
    co_await store_step();
  else if (step == io_step::pause)
    co_await pause();
  else
    co_return false;
  co_return true;
}

asio::awaitable<void> tcp_connection::pause() {
  if (!pause_timer_)
    pause_timer_ = std::make_unique<asio::steady_timer>(stream_.get_executor());
  pause_timer_->expires_after(server_->config.interval);
  co_await pause_timer_->async_wait(use_nothrow);
  machine_.paused();
}

void tcp_connection::on_close_now() {
  if (pause_timer_)
    pause_timer_->cancel();
  if (keep_alive_timer_)
    keep_alive_timer_->cancel();
}

asio::awaitable<void> tcp_connection::on_end() {
  co_await release_session();
}

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
  const auto started = clock::now();
  const auto status = co_await server_->store.async_create(rules.pending_record(), rules.lease());
  count_store_call(store_operation::create, started, status == store_status::unavailable);
  follow_thread();
  machine_.on_created(status);
  if (!rules.owns_session()) {
    release_ownership();
    co_return;
  }
  claim_session();
  const auto& seq = rules.pending_record().sequence;
  log_connection(log_level::info, "session created",
                 log_field(log_key::client, redacted_client(seq.id)),
                 log_field(log_key::session, hex64{rules.lease()}), log_field("n", seq.n),
                 log_field("batch", seq.batch));
}

asio::awaitable<void> tcp_connection::attach_session() {
  const auto& rules = machine_.rules();
  server_->registry->add(rules.lease(), shared_from_this());  // before the store call, as above
  const auto started = clock::now();
  const auto result = co_await server_->store.async_attach(rules.pending_id(), rules.lease());
  count_store_call(store_operation::attach, started, result.status == store_status::unavailable);
  follow_thread();
  machine_.on_attached(result);
  if (!rules.owns_session())
    release_ownership();
  if (result.status != store_status::ok)
    co_return;
  log_connection(log_level::info, "session continued",
                 log_field(log_key::client, redacted_client(rules.pending_id())),
                 log_field(log_key::session, hex64{rules.lease()}),
                 log_field("taken_over", result.previous_lease != 0));
  if (result.previous_lease != 0)
    take_over(result.previous_lease);
  if (rules.owns_session())
    claim_session();
}

asio::awaitable<void> tcp_connection::complete_session() {
  const auto& rules = machine_.rules();
  const auto id = rules.pending_id();
  const auto lease = rules.lease();
  const auto started = clock::now();
  const auto status = co_await server_->store.async_complete(id, lease, rules.pending_checksum());
  count_store_call(store_operation::complete, started, status == store_status::unavailable);
  follow_thread();
  if (status != store_status::ok) {
    log_connection(log_level::warning, "session completed but the store could not record it",
                   log_field(log_key::client, redacted_client(id)),
                   log_field(log_key::session, hex64{lease}));
  }
  machine_.on_completed(status);
  release_ownership();
  log_connection(log_level::info, "session completed",
                 log_field(log_key::client, redacted_client(id)),
                 log_field(log_key::session, hex64{lease}));
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
    const auto started = clock::now();
    const auto status =
        co_await self->server_->store.async_keep_alive(rules.pending_record(), rules.lease());
    self->count_store_call(store_operation::keep_alive, started,
                           status == store_status::unavailable);
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
  const auto lease = rules.lease();
  release_ownership();
  const auto started = clock::now();
  try {
    co_await server_->store.async_park(rules.pending_record(), lease);
    count_store_call(store_operation::park, started, false);
    log_connection(log_level::debug, "session parked",
                   log_field(log_key::client, redacted_client(id)),
                   log_field(log_key::session, hex64{lease}));
  } catch (const std::exception& e) {
    count_store_call(store_operation::park, started, true);
    const std::string_view what = e.what();
    log_connection(log_level::warning, "could not park session",
                   log_field(log_key::client, redacted_client(id)),
                   log_field(log_key::session, hex64{lease}), log_field(log_key::error, what));
  }
}

void tcp_connection::count_store_call(store_operation op, clock::time_point started,
                                      bool unavailable) {
  // After the co_await: with a shared io_context this may be another thread than before.
  metrics_shard& shard = server_->shard();
  shard.observe_store(op, clock::now() - started);
  if (unavailable)
    shard.store_error(op);
}

}  // namespace numsequence::detail
