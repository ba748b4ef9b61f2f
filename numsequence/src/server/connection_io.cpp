#include "connection_io.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <asio/write.hpp>
#include <cerrno>
#include <tuple>

namespace numsequence::detail {

std::span<char> read_scratch() noexcept {
  // 64 KiB: a read takes a whole burst of pipelined requests at once.
  thread_local std::array<char, 64 * 1024> scratch;
  return scratch;
}

void set_accepted_socket_options(asio::ip::tcp::socket& socket, std::size_t send_buffer) noexcept {
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  if (send_buffer > 0)
    socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(send_buffer)), ignored);
}

// recv() and send() themselves rather than Asio's read_some() and write_some(): these run
// for every request and reply, the socket is already non-blocking, and the wrappers' state
// checks and error translation cost about a hundred instructions per request.

std::error_code read_into_scratch(asio::ip::tcp::socket& socket, std::string_view& bytes) {
  const std::span<char> scratch = read_scratch();
  bytes = {};
  for (;;) {
    const ssize_t n = ::recv(socket.native_handle(), scratch.data(), scratch.size(), 0);
    if (n > 0) {
      bytes = std::string_view(scratch.data(), static_cast<std::size_t>(n));
      return {};
    }
    if (n == 0)
      return asio::error::eof;
    if (errno != EINTR)
      return {errno, asio::error::get_system_category()};
  }
}

std::size_t write_now(connection_stream& stream, std::string_view bytes, std::error_code& ec) {
  ec = {};
  if (stream.is_tls() || bytes.empty())
    return 0;
  for (;;) {
    // MSG_NOSIGNAL: a peer gone away is an error to handle, not a SIGPIPE.
    const ssize_t n =
        ::send(stream.socket().native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0)
      return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 0;
    if (errno != EINTR) {
      ec = {errno, asio::error::get_system_category()};
      return 0;
    }
  }
}

std::size_t unacknowledged_bytes(asio::ip::tcp::socket& socket) noexcept {
  int queued = 0;
  if (!socket.is_open() || ::ioctl(socket.native_handle(), SIOCOUTQ, &queued) != 0 || queued < 0)
    return 0;
  return static_cast<std::size_t>(queued);
}

asio::awaitable<std::error_code> write_rest(connection_stream& stream, std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_nothrow);
  std::ignore = n;
  co_return ec;
}

}  // namespace numsequence::detail
