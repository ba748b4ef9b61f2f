#pragma once
/// @brief When a server connection closes: its timers and its close policy, without I/O.

#include <chrono>
#include <cstdint>

namespace numsequence {

/// @brief The timers every server connection has, whatever its protocol. Zero: off.
struct connection_timeouts {
  using duration = std::chrono::steady_clock::duration;
  /// Close this long after accepting (the resumable protocol's session timer; spec §4).
  duration session = duration::zero();
  /// Close a connection that completes no request, and takes no written byte, for this long.
  duration idle = duration::zero();
  /// Bound on anything before the first request (a TLS handshake) when `idle` is off: a
  /// handshake is never the peer's session, and must not hold a connection for ever.
  duration handshake = std::chrono::seconds(10);
};

/// @brief A connection's life: open, closing once the reply in progress is out, closed.
///
/// One policy for every transport (the resumable protocol, HTTP, WebSocket): a close asked
/// for by a timer, a takeover or a shutdown lets the reply in progress finish, within one
/// idle period; a connection that makes no progress for the idle period is closed at once.
/// The I/O side asks deadline(), waits until then and calls on_deadline(); it closes the
/// socket whenever a call answers `close_now` or leaves the lifetime closed(). Times are passed in,
/// so tests need no clock.
class connection_lifetime {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  enum class state : std::uint8_t {
    open,
    closing,  ///< close once the reply in progress has been written
    closed,
  };
  enum class verdict : std::uint8_t { keep_open, close_now };
  /// @brief Which timer a deadline belonged to.
  enum class timer : std::uint8_t { none, session, idle };

  connection_lifetime(const connection_timeouts& timeouts, time_point now) noexcept;

  state current() const noexcept { return state_; }
  bool closed() const noexcept { return state_ == state::closed; }
  bool closing() const noexcept { return state_ == state::closing; }

  /// @brief The first request may now come (a TLS handshake finished): the idle timer runs.
  void ready(time_point now) noexcept;
  /// @brief A complete request arrived: the idle timer restarts.
  void request_completed(time_point now) noexcept {
    if (state_ == state::open)
      idle_deadline_ = after(timeouts_.idle, now);
  }
  /// @brief Bytes are being written: a peer that takes them keeps the connection alive, unless
  /// a close is pending (then the reply has one idle period in all, however slowly it is read:
  /// a reader taking a piece per idle period must not hold a closing connection for long).
  void writing(time_point now) noexcept {
    if (state_ == state::open)
      idle_deadline_ = after(timeouts_.idle, now);
  }
  /// @brief A pause that is part of a reply (pacing): it must not count as idleness.
  void pausing(time_point now, clock::duration pause) noexcept;

  /// @brief A reply is being produced from now on (until reply_finished()): a close asked for
  /// meanwhile waits for it.
  void reply_started() noexcept { replying_ = true; }
  void reply_finished() noexcept { replying_ = false; }
  bool replying() const noexcept { return replying_; }

  /// @brief A close from outside (session timer, takeover, shutdown).
  verdict request_close(time_point now) noexcept;
  /// @brief True when a reply just written was the last one.
  bool close_after_write() const noexcept { return state_ == state::closing && !replying_; }
  /// @brief The socket is closed (by anyone); nothing more to wait for.
  void close() noexcept { state_ = state::closed; }

  /// @brief The earliest deadline (time_point::max() when no timer runs).
  time_point deadline() const noexcept;
  /// @brief A deadline passed, or the wait ended early: applies what that means now (the
  /// session timer asks for a close, the idle timer closes) and says which timer expired.
  /// Afterwards closed() tells whether the socket must be closed at once.
  timer on_deadline(time_point now) noexcept;

 private:
  static time_point after(clock::duration d, time_point now) noexcept {
    return d > clock::duration::zero() ? now + d : time_point::max();
  }

  connection_timeouts timeouts_;
  time_point session_deadline_;
  time_point idle_deadline_;
  state state_ = state::open;
  bool replying_ = false;
};

}  // namespace numsequence
