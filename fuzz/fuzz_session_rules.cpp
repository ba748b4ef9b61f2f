// libFuzzer target: connection_rules driven as the server drives it, by a sequence of
// events chosen from the input: messages (raw bytes through the codec, or well-formed ones
// built from the input), decode errors, and the store's answers to the operations the
// rules ask for (ok / already_exists / not_found / unavailable / full; attach results carry
// arbitrary, possibly completed, records).
//
// A small model of the connection says what each event must produce; on any difference
// the target aborts. Invariants:
//   - every reply is well-formed; a refusal is exactly one ERR frame and the action close;
//   - after action::close, further messages send nothing and keep answering close;
//   - ACK exactly when the store said ok; the rules ask for the store operation the message
//     implies, with the record/id the message named;
//   - NUM for batch k has min(n, (k+1)*batch) - k*batch numbers, the session's numbers;
//     a NUM larger than the policy's piece comes in pieces whose concatenation is that
//     reply, and only a NUM does;
//   - an out-of-range RECV gets the invalid-index ERR and the connection stays open;
//   - FAC is sequence_checksum() of the session (and equals the MD5 of the whole list),
//     or the recorded checksum for a completed record;
//   - owns_session() / completed() / answers_with_numbers() agree with the model;
//   - a Fibonacci INIT (the kind from the raw bytes, or from the salt for built messages)
//     above the policy's max_fibonacci gets the limit's ERR and no store operation; a
//     Fibonacci NUM is, byte for byte, the batch's numbers from a decimal adder written
//     here, in pieces of about the policy's byte budget; its FAC is the MD5 of that list.
// n is kept at most 1000 so that an input runs in well under a millisecond.

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/frame_decoder.hpp"
#include "numsequence/protocol/refusal.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/sequence.hpp"
#include "numsequence/session/session_rules.hpp"

namespace {

using namespace numsequence;
using action = connection_rules::action;

constexpr std::uint32_t max_fuzz_n = 1000;
constexpr int max_events = 48;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_session_rules: invariant violated: %s\n", what);
    std::abort();
  }
}

/// Splits reply bytes into server messages; aborts unless they are all well-formed.
std::vector<server_message> replies_of(std::string_view bytes) {
  std::vector<server_message> out;
  frame_decoder decoder(std::numeric_limits<std::size_t>::max());
  // Bounded: each frame consumes at least its ';'.
  for (std::size_t pass = 0; pass <= bytes.size() && !bytes.empty(); ++pass) {
    const frame_result r = decoder.consume(bytes);
    require(r.what == frame_result::kind::frame, "reply bytes are whole frames");
    require(r.consumed == r.frame.size() + 1, "replies have no separators");
    server_message m;
    require(!parse_server_message(r.frame, m), "every reply parses");
    out.push_back(std::move(m));
    bytes.remove_prefix(r.consumed);
  }
  require(bytes.empty(), "no bytes after the last reply");
  return out;
}

/// The only reply in `out`, which must be an ERR; returns its text.
std::string single_err(const std::string& out) {
  const auto replies = replies_of(out);
  require(replies.size() == 1, "a refusal is one frame");
  const auto* err = std::get_if<err_message>(&replies.front());
  require(err != nullptr, "a refusal is an ERR");
  return err->text;
}

void require_ack(const std::string& out) {
  require(out == "ACK;", "accepted: exactly ACK;");
}

const std::array<const char*, 4> id_pool = {
    "123e4567-e89b-12d3-a456-426614174000",
    "123E4567-E89B-12D3-A456-426614174000",  // same UUID, other case: another session
    "00000000-0000-4000-8000-000000000001",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
};

client_id pick_id(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    // Any hex digits, in either case.
    std::string text = "00000000-0000-0000-0000-000000000000";
    static constexpr char hex[] = "0123456789abcdefABCDEF";
    for (char& c : text) {
      if (c != '-')
        c = hex[in.ConsumeIntegralInRange<std::size_t>(0, sizeof hex - 2)];
    }
    return *client_id::parse(text);
  }
  return *client_id::parse(id_pool[in.ConsumeIntegralInRange<std::size_t>(0, id_pool.size() - 1)]);
}

// Numbers per piece of a large NUM: the session_policy default (4096) in a quarter of the runs,
// otherwise 1-8, so that the fuzzed batches (1-64 and 65535) are cut into many pieces. From
// the salt, so the input layout (and the corpus) stay as they were.
std::uint32_t piece_for(std::uint64_t salt) {
  return salt % 4 == 0 ? 4096 : static_cast<std::uint32_t>(1 + (salt >> 2) % 8);
}

// The Fibonacci limit and piece size, and the kind of the INITs the harness builds, also
// from the salt (bits above those piece_for() uses).
std::uint64_t max_fibonacci_for(std::uint64_t salt) {
  return (salt >> 16) % 4 == 0 ? default_max_fibonacci : (salt >> 18) % 400;
}
std::size_t fibonacci_piece_for(std::uint64_t salt) {
  return (salt >> 28) % 4 == 0 ? 32 * 1024 : static_cast<std::size_t>(1 + (salt >> 30) % 64);
}
sequence_kind built_kind_for(std::uint64_t salt) {
  return (salt >> 40) % 3 == 1 ? sequence_kind::fibonacci : sequence_kind::random;
}

/// F(0) .. F(n-1) in decimal, by additions digit by digit: independent of the library.
std::vector<std::string> fibonacci_texts(std::uint32_t n) {
  std::vector<std::string> out;
  std::string a = "0";  // F(i), F(i+1): digits least significant first
  std::string b = "1";
  for (std::uint32_t i = 0; i < n; ++i) {
    out.emplace_back(a.rbegin(), a.rend());
    std::string sum;
    int carry = 0;
    for (std::size_t d = 0; d < b.size() || carry != 0; ++d) {
      const int v = (d < a.size() ? a[d] - '0' : 0) + (d < b.size() ? b[d] - '0' : 0) + carry;
      sum.push_back(static_cast<char>('0' + v % 10));
      carry = v / 10;
    }
    a = std::exchange(b, std::move(sum));
  }
  return out;
}

std::uint32_t pick_batch(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return 1;
    case 1:
      return max_batch;
    default:
      return in.ConsumeIntegralInRange<std::uint32_t>(1, 64);
  }
}

store_status pick_status(FuzzedDataProvider& in) {
  // ok most of the time, so that inputs reach the attached phase.
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      return store_status::already_exists;
    case 1:
      return store_status::not_found;
    case 2:
      return store_status::unavailable;
    case 3:
      return store_status::full;
    default:
      return store_status::ok;
  }
}

std::uint64_t seed_for(const client_id& id, std::uint64_t salt) {
  std::uint64_t h = salt;
  for (char c : id.view())
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

/// What the harness knows about its connection.
struct model {
  enum class phase { hello, attached, closed } at = phase::hello;
  sequence_params params;
  bool completed = false;
  md5_digest completed_sum{};
  std::vector<std::uint32_t> numbers;  // the session's whole sequence, once attached
  std::vector<std::string> fibonacci;  // the same for a Fibonacci session, in decimal
};

class harness {
 public:
  harness(FuzzedDataProvider& in, bool test_mode, std::uint64_t salt, lease_id lease)
      : in_(in),
        test_mode_(test_mode),
        salt_(salt),
        rules_(session_policy{test_mode, [salt](const client_id& id) { return seed_for(id, salt); },
                              piece_for(salt), max_fibonacci_for(salt), fibonacci_piece_for(salt)},
               lease) {
    require(rules_.lease() == lease, "lease kept");
  }

  void step() {
    switch (in_.ConsumeIntegralInRange<int>(0, 11)) {
      case 0:
      case 1: {
        // Raw bytes through the codec, exactly as a frame reaches the rules.
        const std::string frame = in_.ConsumeRandomLengthString(80);
        client_message m;
        if (auto ec = parse_client_message(frame, m)) {
          decode_error(ec);
        } else {
          if (auto* init = std::get_if<init_message>(&m))
            init->n %= max_fuzz_n + 1;
          message(m);
        }
        break;
      }
      case 2:
        decode_error(static_cast<protocol_errc>(
            in_.ConsumeIntegralInRange<int>(1, static_cast<int>(last_protocol_errc))));
        break;
      case 3:
        message(init_message{pick_id(in_), in_.ConsumeIntegralInRange<std::uint32_t>(0, 300),
                             pick_batch(in_), built_kind_for(salt_)});
        break;
      case 4:
        message(cont_message{pick_id(in_)});
        break;
      case 5:
      case 6:
      case 7:
      case 8:
        message(pick_recv());
        break;
      case 9:
        message(fin_message{});
        break;
      default:
        through_codec();
        break;
    }
  }

 private:
  recv_message pick_recv() {
    recv_message m;
    const std::uint64_t count = m_.at == model::phase::attached ? m_.params.batch_count() : 4;
    switch (in_.ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
        m.index = std::numeric_limits<std::uint64_t>::max();
        break;
      case 1:
        m.index = in_.ConsumeIntegral<std::uint64_t>();
        break;
      case 2: {
        // An index past 64 bits, as the codec reports it.
        client_message parsed;
        const std::string digits =
            "RECV,1" + std::string(in_.ConsumeIntegralInRange<std::size_t>(20, 30), '7');
        require(!parse_client_message(digits, parsed), "a long RECV index parses");
        m = std::get<recv_message>(parsed);
        require(!m.overflow_digits.empty(), "a long RECV index is flagged");
        break;
      }
      default:
        m.index = in_.ConsumeIntegralInRange<std::uint64_t>(0, count + 1);
        break;
    }
    return m;
  }

  /// A well-formed message encoded and parsed back, as a conforming client's bytes arrive.
  void through_codec() {
    client_message built;
    switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        built = init_message{pick_id(in_), in_.ConsumeIntegralInRange<std::uint32_t>(0, 300),
                             pick_batch(in_), built_kind_for(salt_)};
        break;
      case 1:
        built = cont_message{pick_id(in_)};
        break;
      case 2:
        built = pick_recv();
        break;
      default:
        built = fin_message{};
        break;
    }
    const std::string wire = encode(built);
    client_message parsed;
    require(!parse_client_message(std::string_view(wire).substr(0, wire.size() - 1), parsed),
            "an encoded message parses");
    require(parsed == built, "an encoded message parses to itself");
    message(parsed);
  }

  void decode_error(std::error_code ec) {
    if (m_.at == model::phase::closed) {
      // The server stops reading after close, so it never reports a decode error then.
      return;
    }
    std::string out;
    require(rules_.on_decode_error(ec, out) == action::close, "a decode error closes");
    require(single_err(out) == ec.message(), "a decode error sends its text");
    m_.at = model::phase::closed;
    after_close();
  }

  void message(const client_message& m) {
    std::string out;
    if (m_.at == model::phase::closed) {
      require(rules_.on_message(m, out) == action::close, "closed stays closed");
      require(out.empty(), "nothing is sent after close");
      return;
    }
    if (m_.at == model::phase::hello) {
      hello(m);
      return;
    }
    attached(m);
  }

  void hello(const client_message& m) {
    std::string out;
    if (const auto* init = std::get_if<init_message>(&m)) {
      const bool fibonacci = init->kind == sequence_kind::fibonacci;
      if (fibonacci && init->n > max_fibonacci_for(salt_)) {
        require(rules_.on_message(m, out) == action::close, "a Fibonacci n above the limit closes");
        require(single_err(out) == refusal_text(refusal::fibonacci_too_large,
                                                std::to_string(max_fibonacci_for(salt_))),
                "a Fibonacci n above the limit: the limit's text");
        require(!rules_.owns_session(), "refused: not owned");
        m_.at = model::phase::closed;
        after_close();
        return;
      }
      require(rules_.on_message(m, out) == action::create_session, "INIT asks to create");
      require(out.empty(), "nothing is sent before the store answers");
      const auto& rec = rules_.pending_record();
      require(rec.sequence.id == init->id && rec.sequence.n == init->n &&
                  rec.sequence.batch == init->batch,
              "the record is the INIT's");
      require(!rec.completed(), "a new record is not completed");
      const sequence_mode mode = fibonacci    ? sequence_mode::fibonacci
                                 : test_mode_ ? sequence_mode::test
                                              : sequence_mode::normal;
      require(rec.sequence.mode == mode, "the record has the kind's mode, or the server's");
      require(mode != sequence_mode::normal || rec.sequence.seed == seed_for(init->id, salt_),
              "normal mode seeds through the policy");
      require(rules_.session_id() == std::optional<client_id>(init->id),
              "session id is the INIT's");
      require(!rules_.owns_session(), "no ownership before the store answers");
      const sequence_params params = rec.sequence;
      const store_status status = pick_status(in_);
      const action next = rules_.on_created(status, out);
      if (status == store_status::ok) {
        require(next == action::proceed, "created: proceed");
        require_ack(out);
        require(rules_.owns_session(), "created: owned");
        attach_model(params, false, {});
      } else {
        require(next == action::close, "not created: close");
        const std::string text = single_err(out);
        if (status == store_status::already_exists) {
          require(text == init->id.str() + " already exist", "the reference's already-exist text");
        } else if (status == store_status::full) {
          require(
              text == "too many sessions (the server's session limit is reached, try again later)",
              "a full store is reported as such");
        } else {
          require(text == "session store unavailable", "store trouble is reported as such");
        }
        require(!rules_.owns_session(), "not created: not owned");
        m_.at = model::phase::closed;
        after_close();
      }
      return;
    }
    if (const auto* cont = std::get_if<cont_message>(&m)) {
      require(rules_.on_message(m, out) == action::attach_session, "CONT asks to attach");
      require(out.empty(), "nothing is sent before the store answers");
      require(rules_.pending_id() == cont->id, "attach the CONT's id");
      attach_result result;
      result.status = pick_status(in_);
      result.previous_lease = in_.ConsumeBool() ? in_.ConsumeIntegral<lease_id>() : 0;
      if (result.status == store_status::ok) {
        auto& seq = result.record.sequence;
        seq.id = cont->id;
        // One byte, as ConsumeBool() took before the Fibonacci mode: the corpus keeps its paths.
        seq.mode = static_cast<sequence_mode>(in_.ConsumeIntegralInRange<int>(0, 2));
        seq.seed = in_.ConsumeIntegral<std::uint64_t>();
        seq.n = in_.ConsumeIntegralInRange<std::uint32_t>(0, 300);
        seq.batch = pick_batch(in_);
        if (in_.ConsumeBool()) {
          md5_digest sum{};
          for (auto& b : sum)
            b = in_.ConsumeIntegral<std::uint8_t>();
          result.record.completed_checksum = sum;
        }
      }
      const action next = rules_.on_attached(result, out);
      if (result.status == store_status::ok) {
        require(next == action::proceed, "attached: proceed");
        require_ack(out);
        const bool done = result.record.completed();
        require(rules_.completed() == done, "a completed record attaches completed");
        require(rules_.owns_session() == !done, "a live record is owned, a completed one not");
        attach_model(result.record.sequence, done,
                     done ? *result.record.completed_checksum : md5_digest{});
      } else {
        require(next == action::close, "not attached: close");
        const std::string text = single_err(out);
        if (result.status == store_status::not_found) {
          require(text == "Client-id: " + cont->id.str() + " does not exist",
                  "the reference's does-not-exist text");
        } else {
          require(text == "session store unavailable", "store trouble is reported as such");
        }
        require(!rules_.owns_session(), "not attached: not owned");
        m_.at = model::phase::closed;
        after_close();
      }
      return;
    }
    // RECV or FIN first.
    require(rules_.on_message(m, out) == action::close, "RECV/FIN before INIT/CONT closes");
    require(single_err(out) == make_error_code(protocol_errc::session_not_started).message(),
            "RECV/FIN before INIT/CONT: not started");
    m_.at = model::phase::closed;
    after_close();
  }

  void attached(const client_message& m) {
    std::string out;
    if (std::holds_alternative<init_message>(m) || std::holds_alternative<cont_message>(m)) {
      require(rules_.on_message(m, out) == action::close, "a second INIT/CONT closes");
      require(single_err(out) == make_error_code(protocol_errc::session_already_started).message(),
              "a second INIT/CONT: already started");
      m_.at = model::phase::closed;
      after_close();
      return;
    }
    if (const auto* recv = std::get_if<recv_message>(&m)) {
      const std::uint64_t count = m_.params.batch_count();
      const bool in_range = !m_.completed && recv->index < count;
      require(rules_.answers_with_numbers(*recv) == in_range, "answers_with_numbers agrees");
      const action next = rules_.on_message(m, out);
      // A batch larger than a piece comes in pieces, as the server writes it; joined, they
      // must be the one reply checked below.
      std::size_t piece_start = 0;
      for (std::uint32_t piece = 0; rules_.reply_unfinished(); ++piece) {
        require(in_range && piece < max_batch, "only a NUM comes in pieces, and it ends");
        check_fibonacci_piece(std::string_view(out).substr(piece_start));
        piece_start = out.size();
        rules_.continue_reply(out);
        require(out.size() > piece_start, "a piece holds at least one number");
      }
      if (m_.completed) {
        require(next == action::close, "RECV on a completed session closes");
        require(single_err(out) == make_error_code(protocol_errc::session_completed).message(),
                "RECV on a completed session: completed");
        m_.at = model::phase::closed;
        after_close();
        return;
      }
      require(next == action::proceed, "RECV keeps the connection open");
      if (in_range && m_.params.mode == sequence_mode::fibonacci) {
        require(out == fibonacci_reply(recv->index), "a Fibonacci NUM is the batch's numbers");
        return;
      }
      const auto replies = replies_of(out);
      require(replies.size() == 1, "one reply per RECV");
      if (!in_range) {
        const auto* err = std::get_if<err_message>(&replies.front());
        require(err != nullptr, "an out-of-range RECV gets ERR");
        const std::string index =
            recv->overflow_digits.empty() ? std::to_string(recv->index) : recv->overflow_digits;
        require(err->text == "Invalid batch index requested: " + index,
                "the reference's invalid-index text");
        return;
      }
      const auto* num = std::get_if<num_message>(&replies.front());
      require(num != nullptr, "an in-range RECV gets NUM");
      const std::uint64_t first = recv->index * m_.params.batch;
      const std::uint64_t last = std::min<std::uint64_t>(m_.params.n, first + m_.params.batch);
      require(num->numbers.size() == last - first, "NUM has the batch's count");
      for (std::uint64_t i = first; i < last; ++i) {
        require(num->numbers[i - first] == m_.numbers[i], "NUM has the session's numbers");
      }
      return;
    }
    // FIN.
    if (m_.completed) {
      require(rules_.on_message(m, out) == action::close, "FIN on a completed session closes");
      require(out == "FAC," + to_hex(m_.completed_sum) + ";", "FIN again: the recorded FAC");
      m_.at = model::phase::closed;
      after_close();
      return;
    }
    require(rules_.on_message(m, out) == action::complete_session, "FIN asks to complete");
    require(out.empty(), "nothing is sent before the store answers");
    const md5_digest expected = sequence_checksum(m_.params);
    require(expected == model_checksum(), "streamed checksum equals the list's");
    require(rules_.pending_checksum() == expected, "the checksum to record is the session's");
    require(rules_.pending_id() == m_.params.id, "complete the session's id");
    const action next = rules_.on_completed(pick_status(in_), out);
    require(next == action::close, "completed: close");
    require(out == "FAC," + to_hex(expected) + ";", "FAC is the session's checksum");
    require(rules_.completed() && !rules_.owns_session(), "completed: not owned");
    m_.at = model::phase::closed;
    after_close();
  }

  void attach_model(const sequence_params& params, bool completed, const md5_digest& sum) {
    m_.at = model::phase::attached;
    m_.params = params;
    m_.completed = completed;
    m_.completed_sum = sum;
    m_.numbers.clear();
    m_.fibonacci.clear();
    if (completed)
      return;
    if (params.mode == sequence_mode::fibonacci) {
      m_.fibonacci = fibonacci_texts(params.n);
      return;
    }
    m_.numbers = whole_sequence(params);
    require(m_.numbers.size() == params.n, "whole_sequence has n numbers");
  }

  /// The whole NUM reply to RECV,k of a Fibonacci session, from the model's numbers.
  std::string fibonacci_reply(std::uint64_t k) const {
    const std::uint64_t first = k * m_.params.batch;
    const std::uint64_t last = std::min<std::uint64_t>(m_.params.n, first + m_.params.batch);
    std::string reply = "NUM,";
    for (std::uint64_t i = first; i < last; ++i)
      reply += (i == first ? "" : ":") + m_.fibonacci[i];
    return reply + ";";
  }

  /// An unfinished Fibonacci piece stops at the first number that reaches the byte budget
  /// (counted after the first piece's "NUM,"): the bytes before its last number are below it.
  void check_fibonacci_piece(std::string_view piece) const {
    if (m_.params.mode != sequence_mode::fibonacci)
      return;
    if (piece.starts_with("NUM,"))
      piece.remove_prefix(4);
    const std::size_t budget = fibonacci_piece_for(salt_);
    require(piece.size() >= budget, "a Fibonacci piece reaches its byte budget");
    const auto last_colon = piece.rfind(':');
    require(last_colon == std::string_view::npos || last_colon < budget,
            "a Fibonacci piece ends with the number that reaches its budget");
  }

  md5_digest model_checksum() const {
    if (m_.params.mode != sequence_mode::fibonacci)
      return checksum_of(m_.numbers);
    list_checksum sum;
    for (const auto& text : m_.fibonacci)
      sum.add_decimal(text);
    return sum.finish();
  }

  /// After close: the rules must stay silent whatever comes.
  void after_close() {
    std::string out;
    require(rules_.on_message(fin_message{}, out) == action::close, "closed stays closed");
    require(rules_.on_message(recv_message{}, out) == action::close, "closed stays closed");
    require(out.empty(), "nothing is sent after close");
  }

  FuzzedDataProvider& in_;
  bool test_mode_;
  std::uint64_t salt_;
  connection_rules rules_;
  model m_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const bool test_mode = in.ConsumeBool();
  const std::uint64_t salt = in.ConsumeIntegral<std::uint64_t>();
  const lease_id lease = in.ConsumeIntegral<lease_id>();
  harness h(in, test_mode, salt, lease);
  for (int i = 0; i < max_events && in.remaining_bytes() > 0; ++i)
    h.step();
  return 0;
}
