#include "numsequence/server/session_connection.hpp"

#include <utility>

#include "numsequence/ops/metrics.hpp"
#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/refusal.hpp"

namespace numsequence {
namespace {

// A reply buffer bigger than this is given back while the connection waits for its peer,
// so that an idle connection holds no more than a small reply's worth of memory.
constexpr std::size_t idle_output_capacity = 1024;

// Where connections that were given no shard count: nobody reads it. A shard rather than a
// null pointer, so that counting costs no test on the way of every message; one per thread,
// so that connections on several threads never write one shard at once.
thread_local metrics_shard uncounted;

}  // namespace

session_connection::session_connection(const session_connection_config& config,
                                       session_policy policy, lease_id lease, clock::time_point now)
    : config_(config),
      reader_(config.max_message),
      rules_(std::move(policy), lease),
      lifetime_(config.timeouts, now),
      shard_(&uncounted) {}

void session_connection::count_into(metrics_shard* shard) noexcept {
  shard_ = shard != nullptr ? shard : &uncounted;
}

session_connection::step session_connection::next(clock::time_point now) {
  for (;;) {
    if (lifetime_.closed())
      return step::close;
    switch (phase_) {
      case phase::reading:
        if (output_.size() >= config_.output_buffer)
          return write_step(now);
        if (auto s = take_frame(now))
          return *s;
        break;
      case phase::pause_due:
        // Replies gathered before the paced one go out first, as they would without pacing.
        if (!output_.empty())
          return write_step(now);
        reader_.keep_rest();
        phase_ = phase::pausing;
        lifetime_.pausing(now, config_.interval);
        return step::pause;
      case phase::pausing:
        return step::pause;
      case phase::pause_done:
        reply_at_ = output_.size();
        answer(rules_.on_message(message_, output_));
        count_err_reply();
        break;
      case phase::storing:
        reader_.keep_rest();
        return step::store;
      case phase::replying:
        // A batch larger than a piece comes a piece at a time, each written once the buffer
        // is full, so a 65535-number reply never sits whole in memory.
        if (output_.size() >= config_.output_buffer)
          return write_step(now);
        rules_.continue_reply(output_);
        if (!rules_.reply_unfinished())
          phase_ = lifetime_.closing() ? phase::closing : phase::reading;
        break;
      case phase::closing:
        if (!output_.empty())
          return write_step(now);
        lifetime_.close();
        return step::close;
    }
  }
}

std::optional<session_connection::step> session_connection::take_frame(clock::time_point now) {
  // Counting here is shaped for the cost of a RECV (about 3,000 instructions in all): no value
  // is kept in a register across the calls below (reply_at_ is a member, and the sample is
  // decided before parsing), since every such value costs a save and a restore on each call,
  // and most calls find no frame.
  const frame_result frame = reader_.next();
  switch (frame.what) {
    case frame_result::kind::need_more:
      return wait_for_bytes(now);
    case frame_result::kind::error:
      reply_at_ = output_.size();
      rules_.on_decode_error(frame.error, output_);
      count_err_reply();
      phase_ = phase::closing;
      return std::nullopt;
    case frame_result::kind::frame:
      break;
  }
  lifetime_.request_completed(now);
  // From here until its reply is written, a request is in progress: the session timer, a
  // takeover or a shutdown let it finish.
  lifetime_.reply_started();
  // One frame in reply_sample_interval is timed, one at a time: a sample taken while another
  // is being timed is let go.
  if (shard_->sample_reply() && timed_since_ == clock::time_point{})
    timed_since_ = now;
  reply_at_ = output_.size();
  if (auto ec = parse_client_message(frame.frame, message_)) {
    rules_.on_decode_error(ec, output_);
    count_err_reply();
    phase_ = phase::closing;
    return std::nullopt;
  }
  shard_->message(message_);
  if (config_.interval > clock::duration::zero()) {
    const auto* recv = std::get_if<recv_message>(&message_);
    if (recv != nullptr && rules_.answers_with_numbers(*recv)) {
      phase_ = phase::pause_due;  // errors are not paced, only numbers
      return std::nullopt;
    }
  }
  answer(rules_.on_message(message_, output_));
  count_err_reply();
  return std::nullopt;
}

void session_connection::count_err() {
  // The code is read back from the text, which the rules wrote from that code (refusal.hpp).
  std::string_view reply = std::string_view(output_).substr(reply_at_);
  constexpr std::string_view prefix = "ERR,";
  if (!reply.starts_with(prefix))
    return;
  reply.remove_prefix(prefix.size());
  shard_->error(classify_err(reply.substr(0, reply.find(';'))));
}

void session_connection::count_reply_time() {
  shard_->observe_reply(clock::now() - timed_since_);
  timed_since_ = {};
}

void session_connection::answer(action next) {
  switch (next) {
    case action::proceed:
      if (rules_.reply_unfinished()) {
        // Room for the threshold and a piece past it, once: grown by doubling instead, the
        // buffer could pass twice the threshold, be given back after each write and grow
        // again for the next piece, a churn of allocations for every piece of the reply.
        output_.reserve(2 * config_.output_buffer);
        phase_ = phase::replying;
      } else
        phase_ = lifetime_.closing() ? phase::closing : phase::reading;
      return;
    case action::close:
      phase_ = phase::closing;
      return;
    case action::create_session:
    case action::attach_session:
    case action::complete_session:
      pending_action_ = next;
      phase_ = phase::storing;
      return;
  }
}

session_connection::step session_connection::wait_for_bytes(clock::time_point now) {
  // The replies to everything read so far are due before reading on.
  if (!output_.empty())
    return write_step(now);
  reader_.keep_rest();
  lifetime_.reply_finished();
  return step::read;
}

session_connection::step session_connection::write_step(clock::time_point now) {
  // Unread bytes lent by the caller must survive the write, which may wait.
  reader_.keep_rest();
  lifetime_.writing(now);
  return step::write;
}

void session_connection::written() {
  output_.clear();
  // A burst of pipelined replies must not leave a big buffer behind.
  if (output_.capacity() > 2 * config_.output_buffer)
    std::string().swap(output_);
  // Between requests (not amid a NUM's pieces or before a paced NUM), what was written
  // completes every reply in progress: a close asked for meanwhile may now happen.
  if (phase_ == phase::reading) {
    lifetime_.reply_finished();
    if (timed_since_ != clock::time_point{})
      count_reply_time();
  }
  if (lifetime_.close_after_write())
    phase_ = phase::closing;
}

void session_connection::idle() noexcept {
  reader_.release_if_empty();
  if (output_.empty() && output_.capacity() > idle_output_capacity)
    std::string().swap(output_);
}

void session_connection::on_created(store_status status) {
  phase_ = phase::reading;
  reply_at_ = output_.size();
  answer(rules_.on_created(status, output_));
  count_err_reply();
}

void session_connection::on_attached(const attach_result& result) {
  phase_ = phase::reading;
  reply_at_ = output_.size();
  answer(rules_.on_attached(result, output_));
  count_err_reply();
}

void session_connection::on_completed(store_status status) {
  phase_ = phase::reading;
  answer(rules_.on_completed(status, output_));
}

void session_connection::paused() noexcept {
  if (phase_ == phase::pausing)
    phase_ = phase::pause_done;
}

}  // namespace numsequence
