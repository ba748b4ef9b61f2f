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
#include "numsequence/server/server.hpp"
#include "numsequence/server/session_connection.hpp"
#include "numsequence/session/session_rules.hpp"

namespace numsequence {

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(asio::io_context& io_context, server_config cfg, session_store& s,
       std::shared_ptr<connection_registry> r);

  asio::io_context& io;
  const server_config config;
  session_store& store;
  // What every connection of the protocol is configured with, made once.
  const session_connection_config connection_config;
  const session_policy policy;
  // The accept loop, stop() and its timers run here, so that they never race with each
  // other when several threads run the io_context.
  asio::strand<asio::io_context::executor_type> strand{asio::make_strand(io)};
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer accept_backoff{strand};
  asio::steady_timer stop_grace{strand};
  std::atomic<bool> stopping = false;
  std::mutex mutex;  // connections and on_stopped: connections end on any thread
  std::function<void()> on_stopped;
  std::unordered_set<detail::connection_base*> connections;
  std::atomic<std::size_t> refusals_in_progress{0};  // refuse_busy() may run on any thread
  std::shared_ptr<connection_registry> registry;
  // Leases are unique per server instance and per attachment.
  const std::uint64_t lease_prefix;
  std::uint32_t next_lease = 0;  // on the strand (the accept loop)

  lease_id new_lease() { return lease_prefix | ++next_lease; }

  asio::awaitable<void> accept_loop();
  asio::any_io_executor executor_for_connection();
  static asio::awaitable<void> refuse_busy(std::shared_ptr<impl> self,
                                           asio::ip::tcp::socket socket);
  /// Counts a connection in the set, so that stop() reaches it.
  void connection_started(detail::connection_base* c);
  void connection_ended(detail::connection_base* c);
  void stop(std::function<void()> done);
  // Closes every connection on its own executor; `abort` skips the replies being written.
  void close_all(bool abort);
};

}  // namespace numsequence
