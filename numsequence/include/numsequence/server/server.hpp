#pragma once
/// @brief The numsequence server: the resumable TCP protocol over a session_store and, given an
/// HTTP port, Fibonacci over HTTP and WebSocket. A plain-TCP connection's steps run in a plain
/// loop while they complete at once; only a step that has to wait (a store call, a pause, a
/// write the socket cannot take) runs in a coroutine, and an idle connection holds none. A TLS
/// connection runs in one coroutine from its handshake to its end.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "numsequence/session/session_store.hpp"

namespace asio::ssl {
class context;
}

namespace numsequence {

class response_cache;
class metrics;

/// @brief The HTTP listener: Fibonacci over HTTP, the page, the WebSocket stream, metrics and
/// health (http.md). Off unless a port is given.
struct http_listener_config {
  using duration = std::chrono::steady_clock::duration;
  std::optional<std::uint16_t> port;  ///< nullopt: no HTTP listener; 0: any free port
  /// A WebSocket on which the client asks nothing for this long is closed; a person decides
  /// when to ask for the next computation (as in the original WebSocket service the project
  /// grew from). 0: never.
  duration websocket_idle_timeout = std::chrono::minutes(10);
  /// Rendered answers kept in memory, shared by every thread (--http-cache-bytes).
  std::size_t cache_bytes = 64 * 1024 * 1024;
  /// The cache itself, made once per process by the runtime; a server given none makes its own.
  std::shared_ptr<response_cache> cache;
  /// Answers too large to render whole, kept once streamed (--http-large-cache-bytes): the
  /// largest default answer (n = 25,000) is 65 MB. Up to twice this while being filled.
  std::size_t large_cache_bytes = 128 * 1024 * 1024;
  /// That cache, made as `cache` is.
  std::shared_ptr<response_cache> large_cache;
  /// Test only: drop every WebSocket after this many answer frames (0: never).
  std::size_t websocket_drop_after_frames = 0;
};

/// @brief Everything the server's command line sets (spec §6). Zero durations turn a timer off.
struct server_config {
  using duration = std::chrono::steady_clock::duration;

  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                              ///< 0: the OS picks a free port
  duration session_timeout = std::chrono::seconds(1);  ///< from accept to close
  duration idle_timeout = std::chrono::seconds(10);    ///< without a complete message
  duration interval = duration::zero();                ///< wait before each NUM reply
  bool test_mode = false;
  std::size_t max_message = 256;  ///< longest message accepted, without its `;`
  /// Derive normal-mode seeds from this and the client id instead of the OS's random
  /// source, so that servers given the same value produce the same sequences.
  std::optional<std::uint64_t> fixed_seed;
  /// Let other sockets bind the same port (SO_REUSEPORT): one server per thread, the
  /// kernel spreading connections over them.
  bool reuse_port = false;
  /// Connections served at once by the process (every server sharing the registry); one
  /// more is told `ERR,server busy;` and closed, while the others carry on. 0: no limit.
  std::size_t max_connections = 10000;
  /// Replies of pipelined requests are gathered up to this many bytes, then written before
  /// more requests are read. A NUM of more than output_buffer / 22 numbers is formatted and
  /// written in pieces of that many, so with TCP's backpressure a connection buffers about
  /// 1.5 times this at most, and a peer that never reads is cut by the idle timer.
  std::size_t output_buffer = 64 * 1024;
  /// SO_SNDBUF of every accepted connection, in bytes; 0 leaves the kernel's autotuning
  /// (which lets one connection queue up to net.ipv4.tcp_wmem's maximum, 4 MB on common
  /// systems). A cap bounds the kernel memory a slow or vanished reader can hold, at the
  /// cost of throughput to distant fast readers. Linux doubles the value it is given.
  std::size_t send_buffer = 0;
  /// TLS on every connection when set (server certificate and key); plain TCP when null.
  std::shared_ptr<asio::ssl::context> tls;
  /// Several threads run the server's io_context: each connection then runs on its own
  /// strand, and the server's own state is locked.
  bool shared_io_context = false;
  /// `--max-fibonacci`: the largest n (and largest index + 1) of a Fibonacci answer, on every
  /// transport.
  std::uint64_t max_fibonacci = 25'000;
  http_listener_config http;
  /// Why the server cannot take new sessions now (its store unreachable), for /readyz; null
  /// or nullopt: it can. A stopping server is never ready, whatever this says.
  std::function<std::optional<std::string>()> not_ready;
  /// The metrics text for /metrics (Prometheus text format); null: none are kept.
  std::function<std::string()> metrics_text;
  /// Where the connections count what they do (ops/metrics.hpp), one object per process;
  /// null: the server keeps counts of its own that nobody reads. Each server writes shard
  /// `counters_shard` of it (one server per thread, per-thread io model); with
  /// shared_io_context, each event counts on the shard of the thread that runs it.
  std::shared_ptr<metrics> counters;
  std::size_t counters_shard = 0;
};

/// @brief Live connections by lease, shared by the servers of one process (one per thread),
/// so that a takeover closes the losing connection whichever thread serves it. Opaque.
class connection_registry;
std::shared_ptr<connection_registry> make_connection_registry();

/// @brief Accepts connections and serves the resumable protocol on them, and HTTP and WebSocket
/// on the HTTP listener's.
///
/// Lifetime: the io_context, the store and the server must outlive every
/// connection; run the io_context until stop() has reported completion through
/// its callback before destroying them. Two ways to use several cores: one server per
/// thread, each on its own io_context, on the same port with config.reuse_port, sharing
/// the store (thread-safe) and a connection_registry; or one server on one io_context
/// run by several threads, with config.shared_io_context.
class server {
 public:
  /// @brief Binds and listens; throws std::system_error if the address cannot be bound.
  /// Servers sharing a store in one process must share `registry` too (default: own one).
  server(asio::io_context& io, server_config config, session_store& store,
         std::shared_ptr<connection_registry> registry = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// @brief The bound address (the real port when config.port was 0).
  asio::ip::tcp::endpoint local_endpoint() const;
  /// @brief The HTTP listener's address, if there is one.
  std::optional<asio::ip::tcp::endpoint> http_endpoint() const;

  /// @brief Starts accepting.
  void start();

  /// @brief Stops accepting and closes every connection, letting replies being written
  /// finish. `on_stopped` runs once the last connection has ended. Callable from any
  /// thread; the work is done on the server's strand.
  void stop(std::function<void()> on_stopped);

  /// @brief Connections open now.
  std::size_t connection_count() const noexcept;

  /// @brief Internal: the state the server's connections share (defined in the sources).
  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace numsequence
