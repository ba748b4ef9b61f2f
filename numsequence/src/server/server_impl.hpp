#pragma once
// Internal: the state of a server that its connections share.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "connection_base.hpp"
#include "connection_registry.hpp"
#include "numsequence/http/response_cache.hpp"
#include "numsequence/ops/metrics.hpp"
#include "numsequence/server/http_connection.hpp"
#include "numsequence/server/server.hpp"
#include "numsequence/server/session_connection.hpp"
#include "numsequence/server/websocket_connection.hpp"
#include "numsequence/session/session_rules.hpp"

namespace numsequence {

/// What the HTTP connections of a server ask of it (http_connection.hpp).
class server_http_services final : public http_services {
 public:
  explicit server_http_services(server::impl& srv) : server_(srv) {}
  std::string_view date() override;
  response_cache& cache() override;
  response_cache& large_answers() override;
  std::string page(const route_result& route) override;
  std::string metrics() override;
  std::optional<std::string> not_ready() override;
  void answered(const route_result& route, unsigned status) override;

 private:
  server::impl& server_;
};

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(asio::io_context& io_context, server_config cfg, session_store& s,
       std::shared_ptr<connection_registry> r);

  asio::io_context& io;
  const server_config config;
  session_store& store;
  // What every connection of the protocol is configured with, made once.
  const session_connection_config connection_config;
  const session_policy policy;
  // The HTTP listener's: its connections', the WebSockets', the cache and services.
  const http_connection_config http_config;
  const websocket_connection_config websocket_config;
  const std::shared_ptr<response_cache> cache;
  const std::shared_ptr<response_cache> large_cache;
  server_http_services http_services{*this};
  // The accept loop, stop() and its timers run here, so that they never race with each
  // other when several threads run the io_context.
  asio::strand<asio::io_context::executor_type> strand{asio::make_strand(io)};
  asio::ip::tcp::acceptor acceptor;
  asio::ip::tcp::acceptor http_acceptor;  // open only with an HTTP listener
  asio::steady_timer stop_grace{strand};
  std::atomic<bool> stopping = false;
  std::mutex mutex;  // connections and on_stopped: connections end on any thread
  std::function<void()> on_stopped;
  std::unordered_set<detail::connection_base*> connections;
  std::atomic<std::size_t> refusals_in_progress{0};  // refuse_busy() may run on any thread
  std::shared_ptr<connection_registry> registry;
  // The counts (never null: the config's, or the server's own) and this server's shard of
  // them; null with a shared io_context, where each thread counts on its own.
  const std::shared_ptr<metrics> counters;
  metrics_shard* const own_shard;
  // Leases are unique per server instance and per attachment.
  const std::uint64_t lease_prefix;
  std::uint32_t next_lease = 0;  // on the strand (the accept loop)

  lease_id new_lease() { return lease_prefix | ++next_lease; }
  /// Where an event counts: the calling thread's shard. Written by that thread alone.
  metrics_shard& shard() { return own_shard ? *own_shard : counters->shard_for_this_thread(); }

  /// Accepts on `listener` until stopped; `http` says which protocol its connections speak.
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& listener, bool http);
  void serve_connection(asio::ip::tcp::socket socket, bool http,
                        const asio::ip::tcp::endpoint& remote);
  asio::any_io_executor executor_for_connection();
  static asio::awaitable<void> refuse_busy(std::shared_ptr<impl> self, asio::ip::tcp::socket socket,
                                           std::string reply);
  /// Counts a connection in the set, so that stop() reaches it.
  void connection_started(detail::connection_base* c);
  /// A connection ended; `left` is false when another took its socket and its place
  /// (a WebSocket upgrade).
  void connection_ended(detail::connection_base* c, bool left = true);
  void stop(std::function<void()> done);
  // Closes every connection on its own executor; `abort` skips the replies being written.
  void close_all(bool abort);
};

}  // namespace numsequence
