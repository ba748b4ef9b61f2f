#include "connection_io.hpp"

#include <array>
#include <asio/write.hpp>
#include <tuple>

namespace numsequence::detail {

std::span<char> read_scratch() noexcept {
  // 64 KiB: a read takes a whole burst of pipelined requests at once.
  thread_local std::array<char, 64 * 1024> scratch;
  return scratch;
}

std::size_t write_now(connection_stream& stream, std::string_view bytes, std::error_code& ec) {
  ec = {};
  if (stream.is_tls() || bytes.empty())
    return 0;
  const std::size_t sent = stream.socket().write_some(asio::buffer(bytes), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    return 0;
  }
  return ec ? 0 : sent;
}

asio::awaitable<std::error_code> write_rest(connection_stream& stream, std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_nothrow);
  std::ignore = n;
  co_return ec;
}

}  // namespace numsequence::detail
