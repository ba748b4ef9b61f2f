// numsequence-metrics-sample: prints the /metrics text with every family and label in use
// (counts in every shard, both histograms, HTTP pairs, sessions), for promtool to check.

#include <chrono>
#include <iostream>

#include "numsequence/ops/metrics.hpp"

int main() {
  using namespace numsequence;
  using namespace std::chrono_literals;
  metrics m(2);
  for (std::size_t i = 0; i < 2; ++i) {
    auto& s = m.shard(i);
    s.message(init_message{});
    s.message(recv_message{});
    s.message(fin_message{});
    s.connection_opened(metric_transport::tcp);
    s.connection_opened(metric_transport::websocket);
    s.error(protocol_errc::frame_too_long);
    s.error(refusal::server_busy);
    s.error(transport_error::http_5xx);
    s.http_request(http_route::fibonacci, 200);
    s.http_request(http_route::page, 451);
    s.http_request(http_route::other, 700);
    s.observe_reply(40us);
    s.observe_store(store_operation::create, 2ms);
    s.store_error(store_operation::attach);
  }
  m.shard_for_this_thread().message(cont_message{});
  m.set_session_source([] { return session_counts{3, 2, 1}; });
  std::cout << m.serialize();
  return std::cout.good() ? 0 : 1;
}
