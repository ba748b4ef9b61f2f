#pragma once
// The echo server the pingpong mode measures against.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <thread>

namespace numsequence::bench {

/// @brief A TCP echo server on 127.0.0.1 (a free port), on its own thread from
/// construction to destruction.
class echo_server {
 public:
  /// @brief Listens and starts the thread.
  echo_server();
  /// @brief Stops accepting, stops the thread and waits for it.
  ~echo_server();
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  /// @brief Where it listens.
  asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept_loop();
  static asio::awaitable<void> echo(asio::ip::tcp::socket socket);

  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace numsequence::bench
