#include "numsequence/session/session_rules.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/refusal.hpp"

namespace numsequence {
namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
// clang 14 does not deduce aggregate template arguments (P1816) without a guide.
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace

connection_rules::connection_rules(session_policy policy, lease_id lease)
    : policy_(std::move(policy)), lease_(lease) {}

std::optional<client_id> connection_rules::session_id() const {
  if (phase_ == phase::expecting_hello)
    return std::nullopt;
  return pending_.sequence.id;
}

connection_rules::action connection_rules::refuse(std::error_code error, std::string& out) {
  return refuse(error.message(), out);
}

connection_rules::action connection_rules::refuse(std::string_view text, std::string& out) {
  append_err(out, text);
  phase_ = phase::closed;
  return action::close;
}

connection_rules::action connection_rules::on_decode_error(std::error_code error,
                                                           std::string& out) {
  // After close nothing more is said, as for a message (one ERR per connection at most).
  if (phase_ == phase::closed)
    return action::close;
  return refuse(error, out);
}

void connection_rules::continue_reply(std::string& out) {
  assert(reply_unfinished());
  if (pending_.sequence.mode == sequence_mode::fibonacci) {
    append_fibonacci_piece(out, false);
    return;
  }
  const std::uint32_t count =
      std::min(std::max(policy_.numbers_per_piece, 1u), reply_end_ - reply_next_);
  const bool last = count == reply_end_ - reply_next_;
  append_num_piece(out, generator_->numbers(reply_next_, count),
                   last ? num_piece::last : num_piece::middle);
  reply_next_ += count;
  if (last)
    reply_next_ = reply_end_ = 0;
}

void connection_rules::start_fibonacci_reply(std::uint32_t begin, std::uint32_t count,
                                             std::string& out) {
  out += "NUM,";
  reply_next_ = begin;
  reply_end_ = begin + count;
  append_fibonacci_piece(out, true);
}

void connection_rules::append_fibonacci_piece(std::string& out, bool first) {
  // The budget counts from what `out` holds now, as a piece of numbers_per_piece does: the
  // caller writes once `out` reaches its buffer size, so it holds at most that plus a piece
  // (plus the one number that crosses the budget).
  const std::size_t budget =
      out.size() + std::max<std::size_t>(policy_.fibonacci_bytes_per_piece, 1);
  reply_next_ +=
      generator_->append_fibonacci(out, reply_next_, reply_end_ - reply_next_, budget, first);
  if (reply_next_ == reply_end_) {
    out += ';';
    reply_next_ = reply_end_ = 0;
  }
}

connection_rules::action connection_rules::on_message(const client_message& message,
                                                      std::string& out) {
  assert(!reply_unfinished() && "on_message while a NUM reply is unfinished");
  switch (phase_) {
    case phase::expecting_hello:
      return on_hello(message, out);
    case phase::attached:
      return on_session_message(message, out);
    case phase::closed:
      return action::close;
    case phase::creating:
    case phase::attaching:
    case phase::completing:
      break;
  }
  assert(false && "on_message while a store operation is pending");
  return refuse("internal error", out);
}

connection_rules::action connection_rules::on_hello(const client_message& message,
                                                    std::string& out) {
  return std::visit(
      overloaded{
          [&](const init_message& m) { return on_init(m, out); },
          [&](const cont_message& m) {
            pending_ = {};
            pending_.sequence.id = m.id;
            phase_ = phase::attaching;
            return action::attach_session;
          },
          [&](const auto&) { return refuse(protocol_errc::session_not_started, out); },
      },
      message);
}

connection_rules::action connection_rules::on_init(const init_message& m, std::string& out) {
  pending_ = {};
  pending_.sequence.id = m.id;
  pending_.sequence.n = m.n;
  pending_.sequence.batch = m.batch;
  if (m.kind == sequence_kind::fibonacci) {
    // Refused before the store is asked: the limit is this server's, not the session's.
    if (m.n > policy_.max_fibonacci) {
      return refuse(
          refusal_text(refusal::fibonacci_too_large, std::to_string(policy_.max_fibonacci)), out);
    }
    pending_.sequence.mode = sequence_mode::fibonacci;
  } else {
    pending_.sequence.mode = policy_.test_mode ? sequence_mode::test : sequence_mode::normal;
    if (!policy_.test_mode)
      pending_.sequence.seed = policy_.make_seed(m.id);
  }
  phase_ = phase::creating;
  return action::create_session;
}

connection_rules::action connection_rules::on_session_message(const client_message& message,
                                                              std::string& out) {
  return std::visit(
      overloaded{
          [&](const recv_message& m) { return on_recv(m, out); },
          [&](const fin_message&) { return on_fin(out); },
          [&](const auto&) { return refuse(protocol_errc::session_already_started, out); },
      },
      message);
}

connection_rules::action connection_rules::on_recv(const recv_message& m, std::string& out) {
  if (completed_)
    return refuse(protocol_errc::session_completed, out);
  const auto& params = pending_.sequence;
  if (m.index >= params.batch_count()) {
    // The one error that leaves the connection open: the reference's.
    append_refusal(out, refusal::invalid_batch_index,
                   m.overflow_digits.empty() ? std::to_string(m.index) : m.overflow_digits);
    return action::proceed;
  }
  const auto k = static_cast<std::uint32_t>(m.index);
  const auto begin = static_cast<std::uint32_t>(std::uint64_t{k} * params.batch);
  const std::uint32_t count = std::min(params.batch, params.n - begin);
  if (params.mode == sequence_mode::fibonacci) {
    start_fibonacci_reply(begin, count, out);
    return action::proceed;
  }
  const std::uint32_t piece = std::max(policy_.numbers_per_piece, 1u);
  if (count <= piece) {
    append_num(out, generator_->batch(k));
    return action::proceed;
  }
  append_num_piece(out, generator_->numbers(begin, piece), num_piece::first);
  reply_next_ = begin + piece;
  reply_end_ = begin + count;
  return action::proceed;
}

connection_rules::action connection_rules::on_fin(std::string& out) {
  if (completed_) {
    // A client that lost its FAC asks again: same answer (scenario 4).
    append_fac(out, checksum_);
    phase_ = phase::closed;
    return action::close;
  }
  checksum_ = sequence_checksum(pending_.sequence);
  phase_ = phase::completing;
  return action::complete_session;
}

connection_rules::action connection_rules::on_created(store_status status, std::string& out) {
  assert(phase_ == phase::creating);
  switch (status) {
    case store_status::ok:
      generator_.emplace(pending_.sequence);
      owns_session_ = true;
      phase_ = phase::attached;
      append_ack(out);
      return action::proceed;
    case store_status::already_exists:
      return refuse(refusal_text(refusal::already_exists, pending_.sequence.id.view()), out);
    case store_status::full:
      // A capacity refusal, not a fault: the client may retry when a record has expired.
      return refuse(refusal_text(refusal::too_many_sessions), out);
    case store_status::not_found:  // not a create outcome; treat as a store fault
    case store_status::unavailable:
      break;
  }
  return refuse(refusal_text(refusal::store_unavailable), out);
}

connection_rules::action connection_rules::on_attached(const attach_result& result,
                                                       std::string& out) {
  assert(phase_ == phase::attaching);
  switch (result.status) {
    case store_status::ok:
      pending_ = result.record;
      completed_ = pending_.completed();
      if (completed_) {
        checksum_ = *pending_.completed_checksum;
      } else {
        generator_.emplace(pending_.sequence);
        owns_session_ = true;
      }
      phase_ = phase::attached;
      append_ack(out);
      return action::proceed;
    case store_status::not_found:
      return refuse(refusal_text(refusal::does_not_exist, pending_.sequence.id.view()), out);
    case store_status::already_exists:  // not attach outcomes; treat as a store fault
    case store_status::full:
    case store_status::unavailable:
      break;
  }
  return refuse(refusal_text(refusal::store_unavailable), out);
}

connection_rules::action connection_rules::on_completed(store_status, std::string& out) {
  assert(phase_ == phase::completing);
  // The checksum is a pure function of the session, so the client gets its FAC
  // even if recording the completion failed; the caller logs the store's trouble.
  completed_ = true;
  owns_session_ = false;
  generator_.reset();
  append_fac(out, checksum_);
  phase_ = phase::closed;
  return action::close;
}

}  // namespace numsequence
