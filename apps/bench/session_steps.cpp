#include "bench/session_steps.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <deque>
#include <optional>
#include <variant>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/sequence/checksum.hpp"

namespace numsequence::bench {
namespace {

struct in_flight {
  std::uint32_t index;
  steady::time_point sent;
};
using flight_queue = std::deque<in_flight>;

/// Appends to `out` a RECV for each batch `next_index` yields until `window` are in flight.
/// False once it yields nothing.
bool queue_recvs(std::string& out, flight_queue& flight, unsigned window,
                 const batch_source& next_index, steady::time_point now) {
  while (flight.size() < window) {
    const auto k = next_index();
    if (!k)
      return false;
    append_recv(out, *k);
    flight.push_back({*k, now});
  }
  return true;
}

/// Checks one reply against the oldest request in flight, and counts it.
/// False after an error (recorded).
bool take_reply(std::string_view frame, stats& st, sequence_check& seq, flight_queue& flight,
                steady::time_point arrived, steady::time_point count_until, server_message& reply) {
  if (flight.empty()) {
    st.error("a reply to no request");
    return false;
  }
  if (auto pec = parse_server_message(frame, reply)) {
    st.error("unreadable reply: " + pec.message());
    return false;
  }
  const auto* num = std::get_if<num_message>(&reply);
  if (num == nullptr) {
    st.error("RECV," + std::to_string(flight.front().index) + " answered " + describe(reply));
    return false;
  }
  const in_flight request = flight.front();
  flight.pop_front();
  if (auto problem = seq.accept(request.index, num->numbers, st); !problem.empty()) {
    st.error(problem);
    return false;
  }
  ++st.recv_total;
  if (arrived <= count_until) {
    ++st.requests;
    ++st.recvs;
    st.numbers += num->numbers.size();
    st.latency.record(nanoseconds(arrived - request.sent));
  }
  return true;
}

/// Takes every reply buffered. False after an error (recorded).
bool take_replies(wire& c, stats& st, sequence_check& seq, flight_queue& flight,
                  steady::time_point count_until, server_message& reply) {
  const auto arrived = steady::now();
  for (;;) {
    std::error_code ec;
    const auto frame = c.next(ec);
    if (ec) {
      st.error("unreadable reply: " + ec.message());
      return false;
    }
    if (!frame)
      return true;
    if (!take_reply(*frame, st, seq, flight, arrived, count_until, reply))
      return false;
  }
}

}  // namespace

sequence_check check_for(const bench_options& o, const client_id& id) {
  return sequence_check(
      o.n, o.batch, o.test_mode ? std::optional(test_sequence(id, o.n, o.batch)) : std::nullopt);
}

asio::awaitable<bool> run_recvs(wire& c, stats& st, sequence_check& seq, unsigned window,
                                const batch_source& next_index, steady::time_point stop_sending,
                                steady::time_point count_until, steady::duration think_time) {
  flight_queue flight;
  std::optional<asio::steady_timer> think;
  std::string out;
  server_message reply = num_message{};
  bool sending = true;
  for (;;) {
    out.clear();
    const auto now = steady::now();
    if (now >= stop_sending)
      sending = false;
    if (sending)
      sending = queue_recvs(out, flight, window, next_index, now);
    if (!out.empty()) {
      if (auto ec = co_await c.write(out)) {
        st.error("write: " + ec.message());
        co_return false;
      }
    }
    if (flight.empty())
      co_return true;
    if (auto ec = co_await c.fill()) {
      st.error("read: " + ec.message());
      co_return false;
    }
    if (!take_replies(c, st, seq, flight, count_until, reply))
      co_return false;
    if (think_time > steady::duration::zero()) {
      if (!think)
        think.emplace(co_await asio::this_coro::executor);
      think->expires_after(think_time);
      co_await think->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }
}

asio::awaitable<std::string> exchange(wire& c, std::string_view request, server_message& reply) {
  if (auto ec = co_await c.write(request))
    co_return "write: " + ec.message();
  co_return co_await c.receive(reply);
}

asio::awaitable<std::string> open_session(wire& c, const asio::ip::tcp::endpoint& endpoint,
                                          const client_id& id, std::uint32_t n,
                                          std::uint32_t batch) {
  if (auto ec = co_await c.connect(endpoint))
    co_return "connect: " + ec.message();
  std::string out;
  append_init(out, init_message{id, n, batch});
  server_message reply;
  if (auto problem = co_await exchange(c, out, reply); !problem.empty())
    co_return "INIT: " + problem;
  if (!std::holds_alternative<ack_message>(reply))
    co_return "INIT answered " + describe(reply);
  co_return std::string();
}

asio::awaitable<std::string> finish_session(wire& c, stats& st, sequence_check& seq,
                                            unsigned window) {
  std::uint32_t k = 0;
  const batch_source missing = [&]() -> std::optional<std::uint32_t> {
    while (k < seq.total() && seq.has(k))
      ++k;
    if (k >= seq.total())
      return std::nullopt;
    return k++;
  };
  if (seq.missing() > 0 &&
      !co_await run_recvs(c, st, seq, std::max(window, 256u), missing, steady::time_point::max(),
                          steady::time_point::min())) {
    co_return std::string();  // recorded by run_recvs
  }
  std::string out;
  append_fin(out);
  server_message reply;
  if (auto problem = co_await exchange(c, out, reply); !problem.empty())
    co_return "FIN: " + problem;
  const auto* fac = std::get_if<fac_message>(&reply);
  if (fac == nullptr)
    co_return "FIN answered " + describe(reply);
  const md5_digest mine = checksum_of(seq.numbers());
  if (fac->checksum != mine) {
    co_return "FAC " + to_hex(fac->checksum) + " is not the MD5 of the numbers received (" +
        to_hex(mine) + ")";
  }
  ++st.checksums_verified;
  co_return std::string();
}

}  // namespace numsequence::bench
