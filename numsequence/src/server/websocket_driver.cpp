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

}  // namespace numsequence::detail
