#pragma once
// Internal: a WebSocket connection (/v1/stream), the shared I/O loop around a
// websocket_connection.

#include <memory>
#include <string_view>

#include "numsequence/server/websocket_connection.hpp"
#include "stream_driver.hpp"

namespace numsequence::detail {

/// Made by an HTTP connection whose upgrade was accepted: it takes over that connection's
/// socket, its place in the server, and the bytes the client sent after its request.
class websocket_driver final : public stream_driver<websocket_driver, websocket_connection> {
 public:
  static constexpr metric_transport transport = metric_transport::websocket;

  websocket_driver(std::shared_ptr<server::impl> srv, connection_stream stream,
                   const asio::ip::tcp::endpoint& remote, std::string_view first_bytes);

 private:
  friend class stream_driver<websocket_driver, websocket_connection>;
  asio::awaitable<void> on_end();
  void last_words();
};

}  // namespace numsequence::detail
