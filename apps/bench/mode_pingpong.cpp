// pingpong mode: 1 byte each way against the bench's own echo server.

#include <deque>
#include <string>
#include <vector>

#include "bench/modes.hpp"

namespace numsequence::bench {

asio::awaitable<void> pingpong_connection(worker& w) {
  const auto& o = w.run.opts;
  stats& st = w.st;
  wire c(w.io, 64, o.pipeline);
  co_await w.acquire_setup_slot();
  const auto ec = co_await c.connect(w.run.endpoint);
  w.release_setup_slot();
  if (ec) {
    st.error("connect: " + ec.message());
    w.run.mark_ready();
    co_return;
  }
  co_await wait_for_gate(w);
  std::vector<char> echoed(c.read_size());  // the bytes are only counted
  std::deque<steady::time_point> flight;
  std::string out;
  std::uint64_t sent = 0;
  for (;;) {
    out.clear();
    const auto now = steady::now();
    while (now < w.run.stop_at && flight.size() < o.pipeline &&
           (!o.max_requests || sent < *o.max_requests)) {
      out += 'p';
      flight.push_back(now);
      ++sent;
    }
    if (!out.empty()) {
      if (auto wec = co_await c.write(out)) {
        st.error("write: " + wec.message());
        co_return;
      }
    }
    if (flight.empty())
      co_return;
    std::size_t got = 0;
    if (auto rec = co_await c.read_raw(echoed, got)) {
      st.error("read: " + rec.message());
      co_return;
    }
    const auto arrived = steady::now();
    for (; got > 0 && !flight.empty(); --got) {
      if (arrived <= w.run.stop_at) {
        ++st.requests;
        st.latency.record(nanoseconds(arrived - flight.front()));
      }
      flight.pop_front();
    }
  }
}

}  // namespace numsequence::bench
