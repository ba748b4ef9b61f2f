#include "websocket_driver.hpp"

namespace numsequence::detail {

websocket_driver::websocket_driver(std::shared_ptr<server::impl> srv, connection_stream stream,
                                   const asio::ip::tcp::endpoint& remote,
                                   std::string_view first_bytes)
    : stream_driver(srv, std::move(stream), remote, srv->websocket_config, clock::now()) {
  machine_.feed(first_bytes);
}

asio::awaitable<void> websocket_driver::on_end() {
  if (machine_.closed_by_error()) {
    server_->shard().error(transport_error::websocket_close);
    const auto& close = *machine_.close_event();
    log_connection(log_level::debug, "WebSocket closed by an error", log_field("code", close.code),
                   log_field("reason", close.reason));
  }
  co_return;
}

void websocket_driver::last_words() {
  // A socket waiting for its next request when the server stops is told so (1001), as RFC
  // 6455 section 7.4.1 asks of an endpoint going away; a browser would otherwise see 1006.
  // A close frame fits any socket buffer that is not full of unread answers; if it does
  // not, the peer is not reading and learns nothing either way.
  machine_.going_away();
  std::error_code ignored;
  write_now(stream_, machine_.output(), ignored);
}

}  // namespace numsequence::detail
