#include "websocket_driver.hpp"

namespace numsequence::detail {

websocket_driver::websocket_driver(std::shared_ptr<server::impl> srv, connection_stream stream,
                                   std::string_view first_bytes)
    : stream_driver(srv, std::move(stream), srv->websocket_config, clock::now()) {
  machine_.feed(first_bytes);
}

}  // namespace numsequence::detail
