#pragma once
/// @file
/// @brief A loopback TCP client for talking the wire protocol to the real server in tests.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ssl_st;  // OpenSSL's SSL

namespace numsequence::integration {

class tls_trust;

/// @brief One TCP connection to 127.0.0.1, plain or TLS; every call that waits takes a timeout.
///
/// The socket is non-blocking underneath and each call waits with poll() up to its
/// deadline, so a server that says nothing fails the test instead of hanging it.
class tcp_client {
 public:
  /// @brief Connects to 127.0.0.1:port; nullopt if refused or not connected within `timeout`.
  /// With `tls`, also completes a TLS handshake verified against it within the same time.
  static std::optional<tcp_client> connect(std::uint16_t port, std::chrono::milliseconds timeout,
                                           const tls_trust* tls = nullptr);

  tcp_client(tcp_client&& other) noexcept;
  tcp_client& operator=(tcp_client&& other) noexcept;
  tcp_client(const tcp_client&) = delete;
  tcp_client& operator=(const tcp_client&) = delete;
  ~tcp_client();

  /// @brief Sends all of `bytes`; false if the peer closed or reset, or on timeout.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout);

  /// @brief Reads until the peer closes (or resets) the connection or `timeout` passes;
  /// returns every byte received and not yet returned. closed() says which it was.
  std::string read_until_closed(std::chrono::milliseconds timeout);

  /// @brief Reads until `count` `;`-terminated replies are in, the peer closes, or `timeout`
  /// passes. Returns the complete replies (each with its `;`), at most `count`; bytes after
  /// them stay buffered for the next read.
  std::vector<std::string> read_replies(std::size_t count, std::chrono::milliseconds timeout);

  /// @brief Every byte received and not yet returned, waiting up to `timeout` for some when
  /// there are none; empty on timeout or once closed() with nothing left.
  std::string read_some(std::chrono::milliseconds timeout);

  /// @brief One reply, or nullopt (closed or timed out first).
  std::optional<std::string> read_reply(std::chrono::milliseconds timeout);

  /// @brief Waits for the peer to close with no further bytes: true if it closed (end of file
  /// or reset) and sent nothing else; false on timeout or if more bytes arrived.
  bool wait_closed_silently(std::chrono::milliseconds timeout);

  /// @brief True once end of file or a reset was seen.
  bool closed() const noexcept { return eof_ || reset_; }
  /// @brief True if the connection ended with a reset (RST) rather than an orderly close.
  bool reset() const noexcept { return reset_; }
  /// @brief True once a send failed because the peer closed or reset (TLS connections).
  bool write_failed() const noexcept { return write_failed_; }
  /// @brief Bytes received and not yet returned.
  const std::string& pending() const noexcept { return buffer_; }

  /// @brief Closes the socket now (an orderly close, as a client hanging up).
  void close() noexcept;

 private:
  explicit tcp_client(int fd) noexcept : fd_(fd) {}
  static std::optional<tcp_client> connect_tcp(std::uint16_t port,
                                               std::chrono::milliseconds timeout);
  bool handshake(const tls_trust& tls, std::chrono::steady_clock::time_point deadline);
  /// Reads what is available, waiting until `deadline`; false on timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);
  bool fill_tls(std::chrono::steady_clock::time_point deadline);
  std::size_t complete_replies() const;

  int fd_ = -1;
  ssl_st* ssl_ = nullptr;  // TLS over fd_ when set
  std::string buffer_;
  bool eof_ = false;
  bool write_failed_ = false;
  bool reset_ = false;
};

/// @brief Splits a byte string into its `;`-terminated messages (each keeps its `;`).
std::vector<std::string> split_replies(std::string_view bytes);

/// @brief One IPv4 TCP socket as the kernel lists it in /proc/net/tcp: how the tests see
/// the server's side of a connection (its state, what it has queued) from outside.
struct kernel_tcp_socket {
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
  bool established = false;
  std::size_t send_queue = 0;  ///< bytes sent but not yet acknowledged (tx_queue)
};

/// @brief Every socket in /proc/net/tcp (at most 1,000,000 rows; none if unreadable).
std::vector<kernel_tcp_socket> kernel_tcp_sockets();

}  // namespace numsequence::integration
