#pragma once
/// @brief A whole numsequence server process: threads, io model, session store, listeners,
/// signals. numsequence-server is its command line plus one call.

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "numsequence/server/server.hpp"
#include "numsequence/store/redis_client.hpp"

namespace numsequence {

/// @brief Everything numsequence-server's command line sets beyond one listener's config.
struct runtime_options {
  server_config server;  ///< the resumable protocol's listener and connections
  std::chrono::steady_clock::duration purge_after = std::chrono::seconds(30);
  std::optional<redis_address> redis;    ///< nullopt: the in-memory store
  std::size_t max_sessions = 1'000'000;  ///< 0: no limit
  unsigned threads = 1;
  /// One io_context run by every thread (a strand per connection), instead of an io_context
  /// and a listening socket per thread on the same port (SO_REUSEPORT).
  bool shared_io_context = false;
  /// On SIGINT/SIGTERM, go on serving this long with /readyz answering 503 ("the server is
  /// stopping"), so that a load balancer sends no new clients, then stop; a second signal
  /// stops at once. Zero: stop at the first signal.
  std::chrono::steady_clock::duration drain_time = std::chrono::steady_clock::duration::zero();
};

/// @brief Builds the server (binding its ports) and runs it until stop() or SIGINT/SIGTERM.
///
/// Two io models: per thread (default) — an io_context, a server and, with Redis, a Redis
/// connection per thread, all on one port, a connection living on one thread with no lock on
/// its path; the in-memory store and the connection registry are shared (and locked). Shared
/// — one io_context run by every thread, a strand per connection, the Redis store behind a
/// serialized_store. A stop lets connections park their sessions before Redis is closed.
///
/// Operations: one metrics object for the process (a shard per thread) behind /metrics, with
/// the in-memory store's session counts; rate-limited log drops are reported every few
/// seconds (flush_dropped_log_lines()).
class server_runtime {
 public:
  /// @brief Binds the listeners and takes over SIGINT and SIGTERM (a signal from now on
  /// stops the server cleanly once run() runs). @throws std::system_error if an address
  /// cannot be bound.
  explicit server_runtime(runtime_options options);
  ~server_runtime();
  server_runtime(const server_runtime&) = delete;
  server_runtime& operator=(const server_runtime&) = delete;

  /// @brief The resumable protocol's address (the real port when it was 0).
  asio::ip::tcp::endpoint endpoint() const;
  /// @brief The HTTP listener's address (--http), if there is one.
  std::optional<asio::ip::tcp::endpoint> http_endpoint() const;

  /// @brief Serves until stopped: by stop() or by SIGINT/SIGTERM. Returns once every
  /// connection has ended and every thread has returned.
  void run();

  /// @brief Stops accepting, closes every connection (replies in progress finish), then
  /// returns from run(). Callable from any thread, also before run().
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace numsequence
