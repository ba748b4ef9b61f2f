#include "numsequence/client/client_session.hpp"

#include <algorithm>
#include <utility>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/refusal.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci.hpp"

namespace numsequence {
namespace {

/// Refusals that say "not now" rather than "no": the client backs off and tries again.
bool transient_refusal(std::error_code code) {
  return code.category() == refusal_category() && is_transient(static_cast<refusal>(code.value()));
}

/// The longest NUM frame (without its `;`) a session can be sent, with room for an ERR or a
/// FAC: "NUM," and a batch of numbers, each with its separator.
std::size_t longest_frame(const client_state& s) {
  if (s.kind == sequence_kind::random) {
    // Up to 10 digits a number.
    return std::max<std::size_t>(1024, std::size_t{s.batch} * 11 + 64);
  }
  if (s.n == 0)
    return 1024;
  // No number of the session is wider than its last, F(n-1): fast doubling, well under a
  // millisecond even for n = 65535 (13,696 digits).
  const std::size_t widest = fibonacci_cursor{s.n - 1}.next_digits();
  const std::size_t count = std::min(s.batch, s.n);
  return std::max<std::size_t>(1024, count * (widest + 1) + 64);
}

}  // namespace

client_session::client_session(client_state& state, const client_options& options, origin from)
    : state_(state),
      options_(options),
      // Without an ACK on record, a resumed session's INIT may or may not have arrived.
      init_maybe_sent_(from == origin::resumed && !state.acknowledged),
      init_ever_sent_(init_maybe_sent_),
      max_frame_(longest_frame(state)) {
  result_.id = state.id;
  result_.n = state.n;
  result_.batch = state.batch;
  result_.kind = state.kind;
}

client_session::action client_session::on_connected(std::string& out) {
  in_flight_.clear();
  next_ = 0;
  progressed_ = false;
  phase_ = phase::awaiting_ack;
  sent_init_ = next_hello_is_init();
  earlier_init_ = init_ever_sent_;
  const auto start = out.size();
  if (sent_init_) {
    append_init(out, init_message{state_.id, state_.n, state_.batch, state_.kind});
    // Until a reply says what became of it: if the connection drops first, the next
    // attempt asks with CONT instead of creating the session twice.
    init_ever_sent_ = init_maybe_sent_ = true;
  } else {
    append_cont(out, cont_message{state_.id});
  }
  transcript_sent(std::string_view(out).substr(start));
  // Pipelining: the first RECVs go with the hello, saving a round trip, so even a
  // connection that the session timer cuts soon after its hello yields batches.
  if (std::max(1u, options_.pipeline) > 1)
    fill_window(out);
  return action::send;
}

client_session::action client_session::on_frame(std::string_view frame, std::string& out) {
  if (options_.on_transcript)  // not built for nothing: a Fibonacci NUM can be megabytes
    transcript("Received: " + std::string(frame) + ";");
  // Fibonacci numbers do not fit the parser's uint32: a NUM is compared as text.
  if (state_.kind == sequence_kind::fibonacci && phase_ == phase::transferring &&
      frame.starts_with("NUM,")) {
    return on_fibonacci_num(frame.substr(4), out);
  }
  if (auto ec = parse_server_message(frame, reply_))
    return on_frame_error(ec);
  return on_message(reply_, out);
}

client_session::action client_session::on_message(const server_message& message, std::string& out) {
  switch (phase_) {
    case phase::awaiting_ack:
      return on_ack_reply(message, out);
    case phase::transferring:
      return on_num_reply(message, out);
    case phase::awaiting_fac:
      return on_fac_reply(message);
    case phase::disconnected:
      break;
  }
  // No attempt is running: nothing was asked, so nothing can be answered.
  return action::done;
}

client_session::action client_session::on_frame_error(std::error_code error) {
  if (phase_ == phase::disconnected)
    return action::done;
  return end(attempt_outcome::lost, "unreadable reply from the server: " + error.message());
}

client_session::action client_session::on_connection_lost(std::string reason) {
  if (phase_ == phase::disconnected)
    progressed_ = false;  // an attempt that never connected
  return end(attempt_outcome::lost, std::move(reason));
}

client_session::action client_session::on_ack_reply(const server_message& message,
                                                    std::string& out) {
  if (const auto* err = std::get_if<err_message>(&message))
    return on_hello_refused(*err);
  if (!std::holds_alternative<ack_message>(message))
    return unexpected("ACK");
  init_maybe_sent_ = false;
  phase_ = phase::transferring;
  const bool newly_acknowledged = !state_.acknowledged;
  if (newly_acknowledged) {
    state_.acknowledged = true;
    unsaved_ = true;
  }
  transcript("Requesting numbers");
  const action next = advance(out);
  // From the ACK on, the session is the server's too: the file must say so (resume with CONT).
  return newly_acknowledged ? action::save_then_send : next;
}

client_session::action client_session::on_hello_refused(const err_message& err) {
  const std::error_code code = classify_err(err.text);
  if (!sent_init_ && !state_.acknowledged && code == refusal::does_not_exist) {
    // Our earlier INIT never reached the server: send it on the next attempt. Not
    // progress: a server that keeps losing INITs must not keep the client forever.
    init_maybe_sent_ = false;
    return end(attempt_outcome::lost, "session not created yet");
  }
  if (sent_init_ && earlier_init_ && code == refusal::already_exists) {
    // An earlier INIT of ours, held up on an abandoned connection, reached the server
    // after the CONT that found nothing: the session is ours, so ask with CONT again.
    // Not progress: --retries bounds a server that keeps answering this way.
    init_maybe_sent_ = true;
    return end(attempt_outcome::lost, "session created by an earlier INIT");
  }
  return refused_by(err);
}

client_session::action client_session::refused_by(const err_message& err) {
  if (transient_refusal(classify_err(err.text)))
    return end(attempt_outcome::lost, "server said: " + err.text);
  result_.outcome = client_outcome::refused;
  result_.error = err.text;
  return end(attempt_outcome::refused);
}

client_session::action client_session::on_num_reply(const server_message& message,
                                                    std::string& out) {
  if (const auto* err = std::get_if<err_message>(&message))
    return refused_by(*err);
  const auto* num = std::get_if<num_message>(&message);
  if (num == nullptr)
    return unexpected("NUM");
  if (state_.kind == sequence_kind::fibonacci) {
    std::string text;
    for (const auto v : num->numbers)
      text += (text.empty() ? "" : ":") + std::to_string(v);
    return on_fibonacci_num(text, out);
  }
  // In this phase a RECV is always in flight: advance() sends FIN once none is.
  const std::uint32_t k = in_flight_.front();
  if (num->numbers.size() != state_.batch_size(k))
    return unexpected("NUM of the right size");
  std::copy(num->numbers.begin(), num->numbers.end(),
            state_.numbers.begin() + state_.batch_begin(k));
  return batch_stored(k, out);
}

client_session::action client_session::on_fibonacci_num(std::string_view numbers,
                                                        std::string& out) {
  const std::uint32_t k = in_flight_.front();
  if (!is_fibonacci_batch(k, numbers))
    return unexpected("NUM of the session's Fibonacci numbers");
  return batch_stored(k, out);
}

bool client_session::is_fibonacci_batch(std::uint32_t k, std::string_view numbers) {
  // Batches arrive in order, so the cursor is usually where batch k begins already.
  if (!expected_)
    expected_.emplace(state_.batch_begin(k));
  expected_->seek(state_.batch_begin(k));
  const std::uint32_t count = state_.batch_size(k);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (i != 0) {
      if (!numbers.starts_with(':'))
        return false;
      numbers.remove_prefix(1);
    }
    digits_.clear();
    expected_->append_next(digits_);
    if (!numbers.starts_with(digits_))
      return false;
    numbers.remove_prefix(digits_.size());
  }
  return numbers.empty();
}

client_session::action client_session::batch_stored(std::uint32_t k, std::string& out) {
  in_flight_.pop_front();
  state_.have[k] = true;
  unsaved_ = true;
  progressed_ = true;
  if (options_.on_progress)
    options_.on_progress(state_.batches_received(), state_.batch_count());
  return advance(out);
}

client_session::action client_session::advance(std::string& out) {
  // Refill when half the window has come back: one write then carries many RECVs,
  // instead of one write (and one system call) per reply.
  if (in_flight_.size() * 2 <= std::max(1u, options_.pipeline))
    fill_window(out);
  if (!in_flight_.empty())
    return action::send;
  // Every batch is in. Saved before FIN: once the server completes the session it refuses
  // RECV, so a client killed after FIN must find every batch in its state file.
  const auto start = out.size();
  append_fin(out);
  transcript_sent(std::string_view(out).substr(start));
  phase_ = phase::awaiting_fac;
  return action::save_then_send;
}

void client_session::fill_window(std::string& out) {
  const std::uint32_t total = state_.batch_count();
  const std::size_t window = std::max(1u, options_.pipeline);
  while (in_flight_.size() < window && next_ < total) {
    if (state_.have[next_]) {
      transcript("Skipping chunk-nr: " + std::to_string(next_));
    } else {
      const auto start = out.size();
      append_recv(out, next_);
      transcript_sent(std::string_view(out).substr(start));
      in_flight_.push_back(next_);
    }
    ++next_;
  }
}

client_session::action client_session::on_fac_reply(const server_message& message) {
  if (const auto* err = std::get_if<err_message>(&message))
    return refused_by(*err);
  const auto* fac = std::get_if<fac_message>(&message);
  if (fac == nullptr)
    return unexpected("FAC");
  state_.server_checksum = fac->checksum;
  unsaved_ = true;
  transcript("Closing the connection");
  finish();
  return end(attempt_outcome::completed);
}

void client_session::finish() {
  if (state_.kind == sequence_kind::fibonacci) {
    // Every number received was checked to be the client's own: these are their checksum
    // and sum, exact (the sum is F(n+1) - 1).
    result_.checksum = fibonacci_checksum(0, state_.n);
    result_.sum = fibonacci_sum(0, state_.n);
  } else {
    result_.checksum = checksum_of(state_.numbers);
    std::uint64_t sum = 0;  // 65535 numbers of 32 bits: no overflow
    for (auto v : state_.numbers)
      sum += v;
    result_.sum = std::to_string(sum);
  }
  result_.server_checksum = state_.server_checksum;
  result_.outcome = *result_.checksum == *result_.server_checksum ? client_outcome::valid
                                                                  : client_outcome::mismatch;
}

client_session::action client_session::unexpected(std::string_view expected) {
  return end(attempt_outcome::lost,
             "unexpected reply from the server (expected " + std::string(expected) + ")");
}

client_session::action client_session::end(attempt_outcome outcome, std::string error) {
  last_ = attempt_end{outcome, progressed_, std::move(error)};
  phase_ = phase::disconnected;
  in_flight_.clear();
  return action::done;
}

void client_session::transcript(std::string_view line) const {
  if (options_.on_transcript)
    options_.on_transcript(line);
}

void client_session::transcript_sent(std::string_view bytes) const {
  if (options_.on_transcript)
    options_.on_transcript("Sending message: '" + std::string(bytes) + "'");
}

}  // namespace numsequence
