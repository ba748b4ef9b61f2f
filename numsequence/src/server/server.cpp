#include "numsequence/server/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "connection_io.hpp"
#include "http_driver.hpp"
#include "numsequence/http/page.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"
#include "numsequence/protocol/refusal.hpp"
#include "numsequence/server/session_seeds.hpp"
#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace numsequence {
namespace {

using asio::ip::tcp;
using detail::use_nothrow;

// What a connection beyond --max-connections is told before it is closed.
std::string busy_reply(bool http) {
  if (http) {
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 12\r\nRetry-After: 1\r\nConnection: close\r\n\r\nserver busy\n";
  }
  std::string reply;
  append_refusal(reply, refusal::server_busy);
  return reply;
}

// The `route` label of an answered request. The Fibonacci routes differ by the answer's shape
// and format (router.cpp sets them per endpoint); a request answered with an error before a
// route could be chosen (a bad parameter, an unknown path, a malformed head) is `other`.
http_route route_label(const route_result& route) {
  switch (route.kind) {
    case route_kind::fibonacci:
      if (route.fibonacci.shape == fibonacci_shape::single)
        return http_route::fibonacci_value;
      if (route.fibonacci.format == fibonacci_format::text_lines)
        return http_route::fib_limit;
      if (route.fibonacci.format == fibonacci_format::compat_result)
        return http_route::fib_compat;
      return http_route::fibonacci;
    case route_kind::page:
      return http_route::page;
    case route_kind::websocket:
      return http_route::stream;
    case route_kind::metrics:
      return http_route::metrics;
    case route_kind::healthz:
      return http_route::healthz;
    case route_kind::readyz:
      return http_route::readyz;
    case route_kind::error:
      break;
  }
  return http_route::other;
}

// Connections being turned away at once; past this, more are closed without a word, so
// that a connection flood cannot make the refusals themselves a cost.
constexpr std::size_t max_refusals_in_progress = 256;

// Numbers per piece of a large NUM reply: about half the output buffer (a number takes at
// most 11 bytes with its ':'), so the buffer never grows past 1.5 times its flush threshold
// and is never released and re-grown between pieces.
std::uint32_t numbers_per_piece(std::size_t output_buffer) {
  constexpr std::size_t max_number_bytes = 11;
  return static_cast<std::uint32_t>(
      std::clamp<std::size_t>(output_buffer / (2 * max_number_bytes), 1, 1u << 20));
}

session_connection_config connection_config_of(const server_config& c) {
  session_connection_config cc;
  cc.max_message = c.max_message;
  cc.output_buffer = c.output_buffer;
  cc.interval = c.interval;
  cc.timeouts.session = c.session_timeout;
  cc.timeouts.idle = c.idle_timeout;
  return cc;
}

http_connection_config http_config_of(const server_config& c) {
  http_connection_config h;
  h.routes.max_fibonacci = c.max_fibonacci;
  h.output_buffer = c.output_buffer;
  // HTTP has no session timer; the idle timer also cuts a request head sent too slowly.
  h.timeouts.idle = c.idle_timeout;
  return h;
}

websocket_connection_config websocket_config_of(const server_config& c) {
  websocket_connection_config w;
  w.max_fibonacci = c.max_fibonacci;
  w.timeouts.idle = c.http.websocket_idle_timeout;
  w.drop_after_frames = c.http.websocket_drop_after_frames;
  return w;
}

session_policy policy_of(const server_config& c) {
  return session_policy{
      c.test_mode,
      [fixed = c.fixed_seed](const client_id& id) { return make_session_seed(fixed, id); },
      numbers_per_piece(c.output_buffer), c.max_fibonacci,
      // Fibonacci numbers vary in size: their pieces are measured in bytes, half the buffer.
      std::max<std::size_t>(c.output_buffer / 2, 1)};
}

}  // namespace

server::impl::impl(asio::io_context& io_context, server_config cfg, session_store& s,
                   std::shared_ptr<connection_registry> r)
    : io(io_context),
      config(std::move(cfg)),
      store(s),
      connection_config(connection_config_of(config)),
      policy(policy_of(config)),
      http_config(http_config_of(config)),
      websocket_config(websocket_config_of(config)),
      cache(config.http.cache ? config.http.cache
                              : std::make_shared<response_cache>(config.http.cache_bytes)),
      large_cache(config.http.large_cache
                      ? config.http.large_cache
                      : std::make_shared<response_cache>(config.http.large_cache_bytes, 1)),
      acceptor(io_context),
      http_acceptor(io_context),
      registry(r ? std::move(r) : make_connection_registry()),
      counters(config.counters ? config.counters : std::make_shared<metrics>(1)),
      own_shard(config.shared_io_context
                    ? nullptr
                    : &counters->shard(config.counters ? config.counters_shard : 0)),
      lease_prefix(random_uint64() << 32) {}

asio::any_io_executor server::impl::executor_for_connection() {
  // With several threads on one io_context, a connection's handlers (its reads, writes,
  // timers, takeover) must not run concurrently: each gets a strand.
  if (config.shared_io_context)
    return asio::make_strand(io);
  return io.get_executor();
}

asio::awaitable<void> server::impl::accept_loop(tcp::acceptor& listener, bool http) {
  auto self = shared_from_this();
  const std::string_view transport = name_of(http ? metric_transport::http : metric_transport::tcp);
  tcp::endpoint remote;  // filled in by accept itself: no extra system call per connection
  while (!stopping) {
    const asio::any_io_executor executor = executor_for_connection();
    auto [ec, socket] = co_await listener.async_accept(executor, remote, use_nothrow);
    if (stopping)
      co_return;
    if (ec) {
      // Running out of file descriptors must not end the server: wait, try again. The count,
      // unlike the (rate-limited) log line, shows how often that happens.
      shard().error(transport_error::accept_failed);
      log(log_level::warning, "accept failed, retrying in 100 ms",
          log_field(log_key::error, ec.message()), log_field(log_key::transport, transport));
      asio::steady_timer backoff(strand, std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    if (registry->try_admit(config.max_connections)) {
      serve_connection(std::move(socket), http, remote);
      continue;
    }
    shard().error(refusal::server_busy);
    log(log_level::debug, "connection refused: --max-connections reached",
        log_field("max_connections", config.max_connections), log_field(log_key::remote, remote),
        log_field(log_key::transport, transport));
    if ((http || config.tls == nullptr) && refusals_in_progress < max_refusals_in_progress) {
      // On the socket's executor (a strand in the shared model): the drain and its time
      // limit must not run at once.
      asio::co_spawn(executor, refuse_busy(self, std::move(socket), busy_reply(http)),
                     asio::detached);
    } else {
      // TLS: saying "busy" would cost a handshake, the very work an overloaded server must
      // not take on; the client sees a closed connection and retries later.
      std::error_code ignored;
      socket.close(ignored);
    }
  }
}

void server::impl::serve_connection(tcp::socket socket, bool http, const tcp::endpoint& remote) {
  if (http) {
    auto c = std::make_shared<detail::http_driver>(shared_from_this(), std::move(socket), remote);
    connection_started(c.get());
    detail::http_driver::start(std::move(c));
  } else {
    auto c =
        std::make_shared<detail::tcp_connection>(shared_from_this(), std::move(socket), remote);
    connection_started(c.get());
    detail::tcp_connection::start(std::move(c));
  }
}

/// Tells a connection beyond the limit why it is closed. Its request may already be in
/// our receive buffer: closing with unread data would reset the connection and could
/// destroy the reply before the peer reads it, so the reply goes out with a FIN and the
/// peer's bytes are drained (for at most a second) before the socket is closed.
asio::awaitable<void> server::impl::refuse_busy(std::shared_ptr<impl> self, tcp::socket socket,
                                                std::string reply) {
  ++self->refusals_in_progress;
  asio::steady_timer limit(socket.get_executor());
  limit.expires_after(std::chrono::seconds(1));
  limit.async_wait([&socket](std::error_code ec) {
    if (!ec) {
      std::error_code ignored;
      socket.close(ignored);
    }
  });
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(reply), use_nothrow);
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

std::string_view server_http_services::date() {
  // One per thread: the formatted date is reused for every response within its second.
  thread_local http_date_cache dates;
  return dates.get();
}

response_cache& server_http_services::cache() {
  return *server_.cache;
}

response_cache& server_http_services::large_answers() {
  return *server_.large_cache;
}

std::string server_http_services::page(const route_result& route) {
  return render_page(route, server_.config.max_fibonacci);
}

std::string server_http_services::metrics() {
  return server_.config.metrics_text ? server_.config.metrics_text() : std::string();
}

std::optional<std::string> server_http_services::not_ready() {
  if (server_.stopping)
    return "the server is stopping";
  return server_.config.not_ready ? server_.config.not_ready() : std::nullopt;
}

void server_http_services::answered(const route_result& route, unsigned status) {
  metrics_shard& shard = server_.shard();
  shard.http_request(route_label(route), status);
  if (status >= 500)
    shard.error(transport_error::http_5xx);
  else if (status >= 400)
    shard.error(transport_error::http_4xx);
}

void server::impl::connection_started(detail::connection_base* c) {
  std::lock_guard lock(mutex);
  connections.insert(c);
}

void server::impl::connection_ended(detail::connection_base* c, bool left) {
  if (left)
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
  std::vector<std::shared_ptr<detail::connection_base>> open;
  {
    std::lock_guard lock(mutex);
    open.reserve(connections.size());
    for (detail::connection_base* c : connections)
      open.push_back(c->shared_from_this());
  }
  if (abort && !open.empty()) {
    log(log_level::warning, "closing connections still writing at shutdown",
        log_field("connections", open.size()));
  }
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
  http_acceptor.close(ignored);
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

namespace {

// Binds and listens. Several servers (one per thread) may listen on one port with
// `reuse_port`: the kernel spreads connections over them.
void open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, bool reuse_port) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  if (reuse_port) {
    const int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

}  // namespace

server::server(asio::io_context& io, server_config config, session_store& store,
               std::shared_ptr<connection_registry> registry)
    : impl_(std::make_shared<impl>(io, std::move(config), store, std::move(registry))) {
  const auto address = asio::ip::make_address(impl_->config.host);
  open_listener(impl_->acceptor, tcp::endpoint(address, impl_->config.port),
                impl_->config.reuse_port);
  if (impl_->config.http.port) {
    open_listener(impl_->http_acceptor, tcp::endpoint(address, *impl_->config.http.port),
                  impl_->config.reuse_port);
  }
}

server::~server() {
  std::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->http_acceptor.close(ignored);
}

tcp::endpoint server::local_endpoint() const {
  return impl_->acceptor.local_endpoint();
}

std::optional<tcp::endpoint> server::http_endpoint() const {
  if (!impl_->http_acceptor.is_open())
    return std::nullopt;
  return impl_->http_acceptor.local_endpoint();
}

void server::start() {
  asio::co_spawn(impl_->strand, impl_->accept_loop(impl_->acceptor, false), asio::detached);
  if (impl_->http_acceptor.is_open()) {
    asio::co_spawn(impl_->strand, impl_->accept_loop(impl_->http_acceptor, true), asio::detached);
  }
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
