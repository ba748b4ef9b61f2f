#pragma once
/// @brief TLS for connections: contexts built from PEM files, and a stream that is plain
/// TCP or TLS over TCP, chosen per connection at run time.

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace numsequence {

/// @brief A TLS setting that cannot be used: a missing or unreadable certificate, key or
/// CA file, or a key that does not match its certificate. what() names the file and why.
class tls_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief A server's context: its certificate chain and private key (PEM), TLS 1.2 or later.
/// @throws tls_error
std::shared_ptr<asio::ssl::context> make_server_tls_context(
    const std::filesystem::path& cert_chain, const std::filesystem::path& private_key);

/// @brief A client's context, verifying the server's certificate against `ca_file` (PEM)
/// or, without one, against the system's trusted authorities. TLS 1.2 or later.
/// @throws tls_error
std::shared_ptr<asio::ssl::context> make_client_tls_context(
    const std::optional<std::filesystem::path>& ca_file);

/// @brief Makes a client stream check that the server's certificate names `host` (a DNS
/// name or an IP address), and sends `host` as the server name (SNI) when it is a name.
void expect_server_name(asio::ssl::stream<asio::ip::tcp::socket>& stream, const std::string& host);

/// @brief A connected byte stream, plain TCP or TLS, with the read/write interface of
/// an Asio stream (AsyncReadStream, AsyncWriteStream): code above it is written once.
///
/// The choice costs one branch per operation and no virtual call. A TLS stream is held on
/// the heap: it is 440 bytes against the socket's 88 (Asio 1.22, x86-64), and held inline
/// it would make every plain connection pay for it (10,000 held connections: 3.5 MB).
class connection_stream {
 public:
  using socket_type = asio::ip::tcp::socket;
  using tls_stream = asio::ssl::stream<socket_type>;
  using executor_type = socket_type::executor_type;

  /// @brief Plain TCP.
  explicit connection_stream(socket_type socket) : stream_(std::move(socket)) {}
  /// @brief TLS over `socket`; async_handshake() must complete before reading or writing.
  connection_stream(socket_type socket, asio::ssl::context& tls)
      : stream_(std::make_unique<tls_stream>(std::move(socket), tls)) {}

  bool is_tls() const noexcept { return std::holds_alternative<tls_stream_ptr>(stream_); }
  tls_stream* tls() noexcept {
    auto* held = std::get_if<tls_stream_ptr>(&stream_);
    return held ? held->get() : nullptr;
  }

  /// @brief The TCP socket underneath: options, shutdown, close.
  socket_type& socket() noexcept {
    if (auto* s = tls())
      return s->next_layer();
    return std::get<socket_type>(stream_);
  }

  executor_type get_executor() noexcept { return socket().get_executor(); }

  /// @brief Closes the TCP connection at once. TLS sends no close_notify: every message of
  /// the protocol is delimited and a session ends with FIN/FAC, so a truncated stream is
  /// only ever a lost connection, which the protocol already survives.
  void close() noexcept {
    std::error_code ignored;
    socket().shutdown(socket_type::shutdown_both, ignored);
    socket().close(ignored);
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (auto* s = tls())
      return s->async_read_some(buffers, std::forward<Token>(token));
    return std::get<socket_type>(stream_).async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (auto* s = tls())
      return s->async_write_some(buffers, std::forward<Token>(token));
    return std::get<socket_type>(stream_).async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  using tls_stream_ptr = std::unique_ptr<tls_stream>;
  std::variant<socket_type, tls_stream_ptr> stream_;
};

}  // namespace numsequence
