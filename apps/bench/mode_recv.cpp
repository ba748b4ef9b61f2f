// recv mode: one big session per connection, RECV round trips over its batches.

#include <memory>

#include "bench/modes.hpp"
#include "bench/session_steps.hpp"

namespace numsequence::bench {

asio::awaitable<void> recv_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  auto c = std::make_unique<wire>(w.io, reply_limit(o.batch), o.pipeline);
  const client_id id = w.random_id();
  co_await w.acquire_setup_slot();
  auto problem = co_await open_session(*c, w.run.endpoint, id, o.n, o.batch);
  w.release_setup_slot();
  if (!problem.empty()) {
    st.error(problem);
    w.run.mark_ready();
    co_return;
  }
  sequence_check seq = check_for(o, id);
  co_await wait_for_gate(w);

  std::uint32_t next = 0;
  std::uint64_t sent = 0;
  const batch_source wrap = [&]() -> std::optional<std::uint32_t> {
    if (o.max_requests && sent >= *o.max_requests)
      return std::nullopt;
    ++sent;
    const std::uint32_t k = next;
    next = next + 1 == seq.total() ? 0 : next + 1;
    return k;
  };
  const auto think =
      std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.think_time));
  if (!co_await run_recvs(*c, st, seq, o.pipeline, wrap, w.run.stop_at, w.run.stop_at, think))
    co_return;
  problem = co_await finish_session(*c, st, seq, o.pipeline);
  if (!problem.empty())
    st.error(problem);
}

}  // namespace numsequence::bench
