#include "http_driver.hpp"

#include "websocket_driver.hpp"

namespace numsequence::detail {

http_driver::http_driver(std::shared_ptr<server::impl> srv, asio::ip::tcp::socket socket,
                         const asio::ip::tcp::endpoint& remote)
    : stream_driver(srv, connection_stream(std::move(socket)), remote, srv->http_config,
                    srv->http_services, clock::now()) {
  // --send-buffer too: a reader that stops must not hold megabytes of kernel memory here
  // either (the WebSocket keeps the socket, and so the option).
  set_accepted_socket_options(stream_.socket(), srv->config.send_buffer);
}

asio::awaitable<bool> http_driver::other_step(io_step step) {
  if (step != io_step::upgrade)
    co_return false;
  // The 101 is written: the socket, its place in the server and the bytes after the request
  // go to the WebSocket; this connection ends without closing the socket it no longer has.
  auto ws =
      std::make_shared<websocket_driver>(server_, std::move(stream_), remote_, machine_.leftover());
  hand_over();
  server_->connection_started(ws.get());
  websocket_driver::start(std::move(ws));
  co_return false;
}

}  // namespace numsequence::detail
