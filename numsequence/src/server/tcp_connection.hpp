#pragma once
// Internal: a connection of the resumable protocol, the I/O around a session_connection.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <memory>

#include "numsequence/server/session_connection.hpp"
#include "stream_driver.hpp"

namespace numsequence::detail {

/// The resumable protocol's connection: the shared I/O loop (stream_driver) plus the steps
/// only this protocol has: session store operations (with takeover and the shared store's
/// keep-alive), pauses (--interval), and parking the session when the connection ends.
class tcp_connection final : public stream_driver<tcp_connection, session_connection> {
 public:
  static constexpr metric_transport transport = metric_transport::tcp;

  tcp_connection(std::shared_ptr<server::impl> srv, asio::ip::tcp::socket socket,
                 const asio::ip::tcp::endpoint& remote);

 private:
  friend class stream_driver<tcp_connection, session_connection>;

  asio::awaitable<bool> other_step(io_step step);
  asio::awaitable<void> on_end();
  void on_close_now();

  asio::awaitable<void> pause();
  asio::awaitable<void> store_step();
  asio::awaitable<void> create_session();
  asio::awaitable<void> attach_session();
  asio::awaitable<void> complete_session();
  asio::awaitable<void> release_session();
  void claim_session();
  static asio::awaitable<void> keep_alive(std::shared_ptr<tcp_connection> self,
                                          std::chrono::steady_clock::duration interval);
  void release_ownership();
  void take_over(lease_id previous);
  /// Counts a store call that started at `started` (numsequence_store_operation_seconds) and,
  /// when it found the store unavailable, numsequence_store_errors_total.
  void count_store_call(store_operation op, clock::time_point started, bool unavailable);

  // Made when first needed: most connections never pause (--interval) nor keep a shared
  // store's session alive, and an idle connection should cost as little as possible.
  std::unique_ptr<asio::steady_timer> pause_timer_;
  std::unique_ptr<asio::steady_timer> keep_alive_timer_;
};

}  // namespace numsequence::detail
