#include "numsequence/server/websocket_connection.hpp"

#include <utility>

#include "numsequence/websocket/stream_request.hpp"

namespace numsequence {

websocket_connection::websocket_connection(const websocket_connection_config& config,
                                           clock::time_point now)
    : config_(config), endpoint_(config.endpoint), lifetime_(config.timeouts, now) {}

void websocket_connection::commit(std::size_t n) {
  input_.commit(n);
  endpoint_.feed(input_.view());
  input_.consume(input_.pending());
}

io_step websocket_connection::next(clock::time_point now) {
  for (;;) {
    if (lifetime_.closed())
      return io_step::close;
    if (endpoint_.state() != endpoint_state::open && !close_event_)
      take_close_event();
    if (endpoint_.state() == endpoint_state::closed) {
      lifetime_.close();  // the close frame is written: the server closes the TCP connection
      return io_step::close;
    }
    if (!answer_)
      take_request(now);
    if (answer_ && endpoint_.ready_for_frame() && !dropping()) {
      produce_frames();
      continue;
    }
    if (!endpoint_.output().empty())
      return write_step(now);
    if (dropping()) {
      // A test's network failure, once the K-th frame is written: no close frame.
      lifetime_.close();
      return io_step::close;
    }
    // A stop asked for while an answer was being written: the answer is out, so say goodbye.
    if (lifetime_.closing() && !answer_ && !going_away_sent_) {
      going_away();
      continue;
    }
    lifetime_.reply_finished();
    return io_step::read;
  }
}

void websocket_connection::going_away() {
  if (std::exchange(going_away_sent_, true))
    return;
  endpoint_.close(close_code::going_away, "server stopping");
}

void websocket_connection::take_request(clock::time_point now) {
  // A close is pending (the server stops): the answer in progress was the last one; requests
  // still waiting are not started, and the 1001 follows at once.
  if (lifetime_.closing())
    return;
  const auto event = endpoint_.next_event();
  if (!event || event->what != endpoint_event::kind::text)
    return;  // nothing yet, or the endpoint closes (its close frame is in the output)
  lifetime_.request_completed(now);
  ++requests_;
  const stream_request request = parse_stream_request(event->text, config_.max_fibonacci);
  if (!request.ok()) {
    endpoint_.send_text(stream_error_frame(request.id, request.error));
    return;
  }
  lifetime_.reply_started();
  answer_.emplace(request.id, request.query, config_.frame_budget);
}

void websocket_connection::produce_frames() {
  while (answer_ && endpoint_.ready_for_frame()) {
    if (!answer_->next_frame(frame_) || !endpoint_.send_text(frame_)) {
      answer_.reset();
      return;
    }
    ++frames_;
    if (answer_->done())
      answer_.reset();
    if (config_.drop_after_frames != 0 && frames_ >= config_.drop_after_frames)
      return;
  }
}

void websocket_connection::take_close_event() {
  // Once closing, nothing more can be answered: the requests still waiting are dropped to
  // reach the event that says why the endpoint closes (it comes last).
  while (auto event = endpoint_.next_event()) {
    if (event->what == endpoint_event::kind::closed) {
      close_event_ = std::move(event);
      return;
    }
  }
}

bool websocket_connection::closed_by_error() const noexcept {
  return close_event_ && !close_event_->by_peer && close_event_->code != close_code::normal &&
         close_event_->code != close_code::going_away;
}

io_step websocket_connection::write_step(clock::time_point now) {
  writing_ = endpoint_.output().size();
  lifetime_.writing(now);
  return io_step::write;
}

}  // namespace numsequence
