#include "numsequence/server/connection_lifetime.hpp"

#include <algorithm>

namespace numsequence {

connection_lifetime::connection_lifetime(const connection_timeouts& timeouts,
                                         time_point now) noexcept
    : timeouts_(timeouts),
      session_deadline_(after(timeouts.session, now)),
      idle_deadline_(after(
          timeouts.idle > clock::duration::zero() ? timeouts.idle : timeouts.handshake, now)) {}

void connection_lifetime::ready(time_point now) noexcept {
  idle_deadline_ = after(timeouts_.idle, now);
}

void connection_lifetime::pausing(time_point now, clock::duration pause) noexcept {
  if (state_ == state::open && timeouts_.idle > clock::duration::zero())
    idle_deadline_ = now + pause + timeouts_.idle;
}

connection_lifetime::verdict connection_lifetime::request_close(time_point now) noexcept {
  if (state_ != state::open)
    return state_ == state::closed ? verdict::close_now : verdict::keep_open;
  if (!replying_) {
    state_ = state::closed;
    return verdict::close_now;
  }
  // The reply in progress may finish, within one idle period from now at most.
  state_ = state::closing;
  idle_deadline_ = std::max(idle_deadline_, after(timeouts_.idle, now));
  return verdict::keep_open;
}

connection_lifetime::time_point connection_lifetime::deadline() const noexcept {
  if (state_ == state::closed)
    return time_point::max();
  return std::min(session_deadline_, idle_deadline_);
}

connection_lifetime::timer connection_lifetime::on_deadline(time_point now) noexcept {
  if (state_ == state::closed)
    return timer::none;
  if (now >= session_deadline_) {
    // Fires once: afterwards only the idle timer bounds the reply in progress.
    session_deadline_ = time_point::max();
    request_close(now);
    return timer::session;
  }
  if (now >= idle_deadline_) {
    state_ = state::closed;
    return timer::idle;
  }
  return timer::none;
}

}  // namespace numsequence
