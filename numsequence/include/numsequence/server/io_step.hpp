#pragma once
/// @brief What a connection's protocol state machine asks its I/O side to do next.

#include <cstdint>

namespace numsequence {

/// @brief The steps every server connection's state machine answers with (session_connection,
/// http_connection, websocket_connection): one vocabulary, one I/O loop for all of them.
enum class io_step : std::uint8_t {
  read,     ///< more bytes are needed: feed() them (or prepare()/commit()), then next()
  write,    ///< write output() whole, then written()
  close,    ///< close the socket: everything due has been written
  store,    ///< the resumable protocol: run the session store operation it names
  pause,    ///< the resumable protocol: wait the configured interval (pacing)
  upgrade,  ///< HTTP: the connection becomes a WebSocket (the 101 has been written)
};

}  // namespace numsequence
