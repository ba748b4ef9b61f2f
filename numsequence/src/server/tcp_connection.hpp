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

  /// Serves the connection until it ends, then parks its session and leaves the server.
  static void start(std::shared_ptr<tcp_connection> self);

  void close_soon(std::string_view why) override;
  void abort() override { close_now(); }
  asio::any_io_executor executor() override { return stream_.get_executor(); }

  // For the watchdog.
  connection_lifetime& lifetime() noexcept { return machine_.lifetime(); }
  asio::steady_timer& watchdog() noexcept { return watchdog_; }
  void close_now();
  void deadline_passed(connection_lifetime::timer which);

 private:
  using step = session_connection::step;
  enum class read_outcome : std::uint8_t { bytes, nothing_yet, ended };

  std::shared_ptr<tcp_connection> self() {
    return std::static_pointer_cast<tcp_connection>(shared_from_this());
  }
  step run_ready_steps();
  void carry_on(step next);
  void wait_for_bytes();
  static void continue_in_coroutine(std::shared_ptr<tcp_connection> self, step next);
  asio::awaitable<step> serve(step next);
  void end();
  static asio::awaitable<void> finish(std::shared_ptr<tcp_connection> self);
  asio::awaitable<bool> handshake();
  read_outcome read_now();
  asio::awaitable<bool> read_tls();
  bool write_at_once();
  asio::awaitable<bool> write_rest_of_output();
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
  std::size_t sent_ = 0;  // bytes of the output written at once, before the rest must wait
  bool handshaken_ = false;
};

}  // namespace numsequence::detail
