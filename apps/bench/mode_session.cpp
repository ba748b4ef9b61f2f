// session mode: complete sessions one after another.

#include "bench/modes.hpp"
#include "bench/session_steps.hpp"

namespace numsequence::bench {
namespace {

/// One complete session on a fresh connection, counted if it ends inside the window; an
/// error text, or empty (also when run_recvs recorded an error itself).
asio::awaitable<std::string> one_session(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  const auto start = steady::now();
  wire c(w.io, reply_limit(o.batch), o.pipeline);
  const client_id id = w.random_id();
  sequence_check seq = check_for(o, id);

  const auto init_sent = steady::now();
  auto problem = co_await open_session(c, w.run.endpoint, id, o.n, o.batch);
  if (!problem.empty())
    co_return problem;
  const auto acked = steady::now();
  if (acked <= w.run.stop_at) {
    ++st.requests;
    st.latency.record(nanoseconds(acked - init_sent));
  }
  std::uint32_t next = 0;
  const batch_source in_order = [&]() -> std::optional<std::uint32_t> {
    if (next >= seq.total())
      return std::nullopt;
    return next++;
  };
  if (!co_await run_recvs(c, st, seq, o.pipeline, in_order, steady::time_point::max(),
                          w.run.stop_at))
    co_return std::string();
  const auto fin_sent = steady::now();
  problem = co_await finish_session(c, st, seq, o.pipeline);
  const auto end = steady::now();
  if (problem.empty() && end <= w.run.stop_at) {
    ++st.requests;
    st.latency.record(nanoseconds(end - fin_sent));
    ++st.sessions;
    st.session_latency.record(nanoseconds(end - start));
  }
  co_return problem;
}

}  // namespace

asio::awaitable<void> session_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  co_await wait_for_gate(w);
  std::uint64_t completed = 0;
  unsigned consecutive_errors = 0;
  while (steady::now() < w.run.stop_at &&
         (!o.sessions_per_connection || completed < *o.sessions_per_connection)) {
    const auto errors_before = st.errors;
    if (auto problem = co_await one_session(w); !problem.empty())
      st.error(problem);
    ++completed;
    consecutive_errors = st.errors > errors_before ? consecutive_errors + 1 : 0;
    if (consecutive_errors >= 10)
      break;  // the server is gone or refuses everything: the errors say so
  }
}

}  // namespace numsequence::bench
