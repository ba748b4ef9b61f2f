// /healthz and /readyz of the real server: alive and ready, not ready while its Redis store is
// unreachable, not ready during the drain that --drain-time puts before a stop.

#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "ops_support.hpp"

namespace numsequence::ops_test {

TEST_CASE("/healthz answers 200 and /readyz 200 on a server that can take sessions") {
  ops_server s;
  const auto health = s.get("/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  const auto ready = s.get("/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");
  CHECK(ready.header("cache-control") == std::optional<std::string>("no-store"));
}

TEST_CASE("/readyz answers 503 while the Redis store is unreachable, /healthz still 200") {
  bound_port nobody;  // bound, never listening: every connection to it is refused
  const std::string url = "redis://127.0.0.1:" + std::to_string(nobody.port());
  ops_server s({"--store", url});
  const auto ready = s.get("/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body == "not ready: the session store " + url + "/0 is unreachable\n");
  CHECK(s.get("/healthz").status == 200);
  // Not ready, and the reason is real: a new session is refused for the same cause.
  auto c = s.server().connect();
  REQUIRE(c.send("INIT," + numbered_id(1, 0x4ea) + ",10,5;", reply_timeout));
  CHECK(c.read_until_closed(reply_timeout) == "ERR,session store unavailable;");
}

TEST_CASE(
    "during --drain-time after SIGTERM, /readyz answers 503 and sessions go on, then it stops") {
  ops_server s({"--drain-time", "2"});
  http_client kept(s.http_port());
  REQUIRE(kept.connected());
  const auto before = kept.get("/readyz");
  REQUIRE(before.has_value());
  CHECK(before->status == 200);
  CHECK(before->keep_alive);

  REQUIRE(s.process().kill(SIGTERM));
  REQUIRE(s.process().wait_for_stderr_containing("draining", seconds(5)));
  // The same kept-alive connection: the server has not closed it, and says it is stopping.
  const auto during = kept.get("/readyz");
  REQUIRE(during.has_value());
  CHECK(during->status == 503);
  CHECK(during->body == "not ready: the server is stopping\n");
  CHECK(s.process().running());
  // Clients that do come are still served until the stop.
  auto c = s.server().connect();
  REQUIRE(c.send("INIT," + numbered_id(2, 0x4ea) + ",10,5;RECV,0;", reply_timeout));
  CHECK(c.read_replies(2, reply_timeout).size() == 2);
  c.close();

  const auto status = s.process().wait(seconds(15));
  REQUIRE_MESSAGE(status.has_value(), "the server did not stop after its drain");
  CHECK(status->success());
}

TEST_CASE("a second signal during the drain stops the server at once") {
  ops_server s({"--drain-time", "120"});
  REQUIRE(s.process().kill(SIGTERM));
  REQUIRE(s.process().wait_for_stderr_containing("draining", seconds(5)));
  CHECK(s.get("/readyz").status == 503);
  const auto start = test_clock::now();
  REQUIRE(s.process().kill(SIGINT));
  const auto status = s.process().wait(seconds(15));
  REQUIRE_MESSAGE(status.has_value(), "the second signal did not stop the server");
  CHECK(status->success());
  CHECK(test_clock::now() - start < seconds(15));
}

}  // namespace numsequence::ops_test
