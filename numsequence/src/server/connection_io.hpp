#pragma once
// Internal: the I/O every server connection does the same way, whatever its protocol:
// reading into a buffer shared by the thread's connections, writing at once what the socket
// takes, and the watchdog that enforces a connection_lifetime's deadlines.

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

#include "numsequence/net/tls.hpp"
#include "numsequence/server/connection_lifetime.hpp"

namespace numsequence::detail {

inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

/// A read buffer shared by every connection of the calling thread. Bytes read into it must be
/// framed, and what is left copied, before the reading coroutine waits again: then an idle
/// connection holds no read buffer of its own. Defined out of line on purpose: a coroutine may
/// resume on another thread (shared io_context), and must look the address up again each time.
std::span<char> read_scratch() noexcept;

/// True when a non-blocking operation found nothing to do (EAGAIN). Compares the value
/// first: it runs for every read and write, and the category lookup is a call.
inline bool would_block(const std::error_code& ec) noexcept {
  return (ec.value() == EAGAIN || ec.value() == EWOULDBLOCK) &&
         ec.category() == asio::error::get_system_category();
}

/// The options every accepted socket gets, whatever its protocol: no Nagle delay, and
/// SO_SNDBUF = `send_buffer` unless 0 (the server's --send-buffer).
void set_accepted_socket_options(asio::ip::tcp::socket& socket, std::size_t send_buffer) noexcept;

/// Reads what a plain TCP socket (non-blocking) has into read_scratch(), without waiting:
/// would_block when it has nothing. `bytes` views the scratch buffer until the caller next
/// suspends.
std::error_code read_into_scratch(asio::ip::tcp::socket& socket, std::string_view& bytes);

/// Writes at once what a plain TCP socket (non-blocking) takes of `bytes`; returns how much.
/// A reply that fits the socket buffer (nearly always) so costs one send, without an
/// asynchronous completion and an extra epoll_wait. TLS writes nothing here: a record must
/// never be cut by a would-block.
std::size_t write_now(connection_stream& stream, std::string_view bytes, std::error_code& ec);

/// Bytes written to a socket that its peer has not acknowledged yet (SIOCOUTQ): what a close
/// that resets the connection would destroy. 0 if unknown.
std::size_t unacknowledged_bytes(asio::ip::tcp::socket& socket) noexcept;

/// Writes all of `bytes`, asynchronously: what write_now() did not take.
asio::awaitable<std::error_code> write_rest(connection_stream& stream, std::string_view bytes);

/// Arms the connection's watchdog timer for its earliest deadline; when it fires, applies
/// what that means (connection_lifetime::on_deadline) and closes the connection when the
/// lifetime says so, else waits again. A deadline only moves later, so waking at an old one
/// and waiting again is exact. `Connection` has lifetime(), watchdog() (its timer),
/// close_now() and deadline_passed(timer) (for its log).
template <class Connection>
void watch(const std::shared_ptr<Connection>& c) {
  // No timer runs (none is configured): none can start later either, so nothing to wait for.
  if (c->lifetime().deadline() == connection_lifetime::time_point::max())
    return;
  c->watchdog().expires_at(c->lifetime().deadline());
  c->watchdog().async_wait([c](std::error_code) {
    if (c->lifetime().closed())
      return;
    const auto expired = c->lifetime().on_deadline(std::chrono::steady_clock::now());
    if (expired != connection_lifetime::timer::none)
      c->deadline_passed(expired);
    if (c->lifetime().closed()) {
      c->close_now();
      return;
    }
    watch(c);
  });
}

}  // namespace numsequence::detail
