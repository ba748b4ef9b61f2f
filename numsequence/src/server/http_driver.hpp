#pragma once
// Internal: an HTTP connection, the shared I/O loop around an http_connection.

#include <asio/ip/tcp.hpp>
#include <memory>

#include "numsequence/server/http_connection.hpp"
#include "stream_driver.hpp"

namespace numsequence::detail {

/// The HTTP listener's connections: plain TCP (put a TLS terminator such as nginx in front for
/// TLS). An accepted WebSocket upgrade hands the socket over to a websocket_driver.
class http_driver final : public stream_driver<http_driver, http_connection> {
 public:
  static constexpr metric_transport transport = metric_transport::http;

  http_driver(std::shared_ptr<server::impl> srv, asio::ip::tcp::socket socket,
              const asio::ip::tcp::endpoint& remote);

 private:
  friend class stream_driver<http_driver, http_connection>;
  asio::awaitable<bool> other_step(io_step step);
};

}  // namespace numsequence::detail
