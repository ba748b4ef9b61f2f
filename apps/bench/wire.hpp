#pragma once
// One client connection of the bench: a socket and the library's framed reader.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "numsequence/protocol/framed_reader.hpp"
#include "numsequence/protocol/message.hpp"

namespace numsequence::bench {

/// @brief A client connection: connect, write, and read replies frame by frame.
/// Used by one coroutine at a time, on one io_context.
class wire {
 public:
  /// @param max_frame the longest reply accepted.
  /// @param in_flight replies that may arrive together (the pipeline): one read takes them
  /// all, up to 1 MiB.
  wire(asio::io_context& io, std::size_t max_frame, std::size_t in_flight);

  /// @brief Connects, with Nagle off (requests are written whole, replies awaited).
  asio::awaitable<std::error_code> connect(const asio::ip::tcp::endpoint& endpoint);
  /// @brief Writes all of `bytes`; they must stay valid until it completes.
  asio::awaitable<std::error_code> write(std::string_view bytes);

  /// @brief One read: appends whatever the socket has (at least one byte) to the buffer.
  asio::awaitable<std::error_code> fill();

  /// @brief The next complete reply already buffered (valid until the next fill()), or
  /// nullopt: fill() first, or stop if `ec` was set (the stream cannot be framed).
  std::optional<std::string_view> next(std::error_code& ec) noexcept;

  /// @brief Reads until one reply arrives and parses it; an error text, or empty.
  asio::awaitable<std::string> receive(server_message& reply);

  /// @brief One read of raw bytes into `into`, past the framing (the ping-pong floor).
  asio::awaitable<std::error_code> read_raw(std::span<char> into, std::size_t& got);

  /// @brief Bytes each read asks for: what a buffer for read_raw() should hold.
  std::size_t read_size() const noexcept { return read_size_; }

 private:
  asio::ip::tcp::socket socket_;
  framed_reader reader_;
  std::size_t read_size_;  // bytes asked of each read
};

/// @brief The longest reply a session of batches of `batch` numbers can get.
std::size_t reply_limit(std::uint32_t batch);

/// @brief A reply as an error message shows it (cut at 80 characters).
std::string describe(const server_message& m);

}  // namespace numsequence::bench
