#pragma once
// Internal: a connection of the resumable protocol, the I/O around a session_connection.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string_view>

#include "connection_base.hpp"
#include "numsequence/net/tls.hpp"
#include "numsequence/server/server.hpp"
#include "numsequence/server/session_connection.hpp"

namespace numsequence::detail {

/// Carries out the steps its session_connection asks for: read, write, store operations,
/// pauses, close. The timers are one watchdog (connection_io.hpp's watch()) beside it.
class tcp_connection final : public connection_base {
 public:
  tcp_connection(std::shared_ptr<server::impl> srv, asio::ip::tcp::socket socket);

  static asio::awaitable<void> run(std::shared_ptr<tcp_connection> self);

  void close_soon(std::string_view why) override;
  void abort() override { close_now(); }
  asio::any_io_executor executor() override { return stream_.get_executor(); }

  // For the watchdog.
  connection_lifetime& lifetime() noexcept { return machine_.lifetime(); }
  asio::steady_timer& watchdog() noexcept { return watchdog_; }
  void close_now();
  void deadline_passed(connection_lifetime::timer which);

 private:
  std::shared_ptr<tcp_connection> self() {
    return std::static_pointer_cast<tcp_connection>(shared_from_this());
  }
  asio::awaitable<bool> handshake();
  asio::awaitable<void> serve();
  asio::awaitable<bool> read();
  asio::awaitable<bool> write();
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

  std::shared_ptr<server::impl> server_;
  connection_stream stream_;
  asio::steady_timer watchdog_;
  // Made when first needed: most connections never pause (--interval) nor keep a shared
  // store's session alive, and an idle connection should cost as little as possible.
  std::unique_ptr<asio::steady_timer> pause_timer_;
  std::unique_ptr<asio::steady_timer> keep_alive_timer_;
  session_connection machine_;
};

}  // namespace numsequence::detail
