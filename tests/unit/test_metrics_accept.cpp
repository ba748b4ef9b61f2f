// metrics: failed accepts, the reason added for the listener's back-off (a count, where the
// rate-limited log line cannot show how often accept fails).

#include <doctest/doctest.h>

#include <string>

#include "numsequence/ops/metrics.hpp"

using namespace numsequence;

TEST_CASE("metrics: failed accepts count under reason accept_failed, listed at 0 from the start") {
  metrics m(1);
  const std::string line = "numsequence_errors_total{reason=\"accept_failed\"} ";
  CHECK(m.serialize().find(line + "0\n") != std::string::npos);
  m.shard(0).error(transport_error::accept_failed);
  m.shard(0).error(transport_error::accept_failed);
  m.shard_for_this_thread().error(transport_error::accept_failed);
  const std::string text = m.serialize();
  CHECK(text.find(line + "3\n") != std::string::npos);
  CHECK(text.find("numsequence_errors_total{reason=\"websocket_close\"} 0\n") != std::string::npos);
}
