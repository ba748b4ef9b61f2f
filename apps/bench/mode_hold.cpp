// hold mode: connections parked mid-session.

#include <memory>

#include "bench/modes.hpp"
#include "bench/session_steps.hpp"

namespace numsequence::bench {

asio::awaitable<void> hold_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  auto c = std::make_unique<wire>(w.io, reply_limit(o.batch), o.pipeline);
  const client_id id = w.random_id();
  co_await w.acquire_setup_slot();
  auto problem = co_await open_session(*c, w.run.endpoint, id, o.n, o.batch);
  if (problem.empty()) {
    sequence_check seq = check_for(o, id);
    std::uint32_t k = 0;
    const batch_source first = [&]() -> std::optional<std::uint32_t> {
      if (k > 0)
        return std::nullopt;
      return k++;
    };
    if (co_await run_recvs(*c, st, seq, 1, first, steady::time_point::max(),
                           steady::time_point::min()))
      w.held.push_back(std::move(c));
  } else {
    st.error(problem);
  }
  w.release_setup_slot();
  w.run.mark_ready();
}

}  // namespace numsequence::bench
