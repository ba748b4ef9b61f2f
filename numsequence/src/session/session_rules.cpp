#include "numsequence/session/session_rules.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"

namespace numsequence {
namespace {

// Reply texts the reference prints; clients match on them, so they are contract.
std::string already_exists_text(const client_id& id) {
  return id.str() + " already exist";
}
std::string does_not_exist_text(const client_id& id) {
  return "Client-id: " + id.str() + " does not exist";
}
constexpr std::string_view store_unavailable_text = "session store unavailable";
// A capacity refusal, not a fault: the client may retry later, when a record has expired.
constexpr std::string_view store_full_text =
    "too many sessions (the server's session limit is reached, try again later)";

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
  const std::uint32_t count =
      std::min(std::max(policy_.numbers_per_piece, 1u), reply_end_ - reply_next_);
  const bool last = count == reply_end_ - reply_next_;
  append_num_piece(out, generator_->numbers(reply_next_, count),
                   last ? num_piece::last : num_piece::middle);
  reply_next_ += count;
  if (last)
    reply_next_ = reply_end_ = 0;
}

connection_rules::action connection_rules::on_message(const client_message& message,
                                                      std::string& out) {
  assert(!reply_unfinished() && "on_message while a NUM reply is unfinished");
  switch (phase_) {
    case phase::expecting_hello:
      return std::visit(
          overloaded{
              [&](const init_message& m) {
                pending_ = {};
                pending_.sequence.mode =
                    policy_.test_mode ? sequence_mode::test : sequence_mode::normal;
                pending_.sequence.id = m.id;
                pending_.sequence.n = m.n;
                pending_.sequence.batch = m.batch;
                if (!policy_.test_mode)
                  pending_.sequence.seed = policy_.make_seed(m.id);
                phase_ = phase::creating;
                return action::create_session;
              },
              [&](const cont_message& m) {
                pending_ = {};
                pending_.sequence.id = m.id;
                phase_ = phase::attaching;
                return action::attach_session;
              },
              [&](const auto&) { return refuse(protocol_errc::session_not_started, out); },
          },
          message);

    case phase::attached:
      return std::visit(
          overloaded{
              [&](const recv_message& m) {
                if (completed_)
                  return refuse(protocol_errc::session_completed, out);
                if (m.index >= pending_.sequence.batch_count()) {
                  // The one error that leaves the connection open: the reference's.
                  append_err(out, "Invalid batch index requested: " + (m.overflow_digits.empty()
                                                                           ? std::to_string(m.index)
                                                                           : m.overflow_digits));
                  return action::proceed;
                }
                const auto& params = pending_.sequence;
                const auto k = static_cast<std::uint32_t>(m.index);
                const auto begin = static_cast<std::uint32_t>(std::uint64_t{k} * params.batch);
                const std::uint32_t count = std::min(params.batch, params.n - begin);
                const std::uint32_t piece = std::max(policy_.numbers_per_piece, 1u);
                if (count <= piece) {
                  append_num(out, generator_->batch(k));
                  return action::proceed;
                }
                append_num_piece(out, generator_->numbers(begin, piece), num_piece::first);
                reply_next_ = begin + piece;
                reply_end_ = begin + count;
                return action::proceed;
              },
              [&](const fin_message&) {
                if (completed_) {
                  // A client that lost its FAC asks again: same answer (scenario 4).
                  append_fac(out, checksum_);
                  phase_ = phase::closed;
                  return action::close;
                }
                checksum_ = sequence_checksum(pending_.sequence);
                phase_ = phase::completing;
                return action::complete_session;
              },
              [&](const auto&) { return refuse(protocol_errc::session_already_started, out); },
          },
          message);

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
      return refuse(already_exists_text(pending_.sequence.id), out);
    case store_status::full:
      return refuse(store_full_text, out);
    case store_status::not_found:  // not a create outcome; treat as a store fault
    case store_status::unavailable:
      break;
  }
  return refuse(store_unavailable_text, out);
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
      return refuse(does_not_exist_text(pending_.sequence.id), out);
    case store_status::already_exists:  // not attach outcomes; treat as a store fault
    case store_status::full:
    case store_status::unavailable:
      break;
  }
  return refuse(store_unavailable_text, out);
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
