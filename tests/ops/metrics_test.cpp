// /metrics of the real server: the counts after real sessions, checked by promtool (Prometheus's
// own parser and linter) and scraped by a real Prometheus.

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "ops_support.hpp"

namespace numsequence::ops_test {
namespace {

constexpr std::string_view recv_count = "numsequence_messages_total{type=\"RECV\"}";
constexpr std::string_view tcp_open = "numsequence_connections{transport=\"tcp\"}";

/// Waits (polling every 50 ms, at most `timeout`) until `ready()`.
template <class Predicate>
bool eventually(milliseconds timeout, Predicate ready) {
  const auto deadline = test_clock::now() + timeout;
  while (!ready()) {
    if (test_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

/// A session of `n` numbers (batches of 5) by the stock client; it must end valid.
void run_session(const ops_server& s, const std::string& id, unsigned n,
                 std::vector<std::string> extra = {}) {
  temp_dir dir;
  std::vector<std::string> args = {"NEW", std::to_string(n), s.port_text(), "--client_id",
                                   id,    "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_client(args, dir.path());
  INFO("client stdout: " << r.out << "\nclient stderr: " << r.err);
  REQUIRE(r.exit_code() == 0);
}

/// The answer of a Prometheus HTTP API query (GET /api/v1/query?query=...), as JSON.
std::optional<nlohmann::json> prometheus_query(std::uint16_t port, std::string_view query) {
  http_client c(port);
  if (!c.connected())
    return std::nullopt;
  const auto r = c.get("/api/v1/query?query=" + std::string(query));
  if (!r || r->status != 200)
    return std::nullopt;
  auto json = nlohmann::json::parse(r->body, nullptr, false);
  if (json.is_discarded() || json.value("status", "") != "success")
    return std::nullopt;
  return json;
}

/// The port Prometheus listens on, from its log line `msg="Listening on" address=HOST:PORT`.
std::uint16_t prometheus_port(child_process& prometheus) {
  constexpr std::string_view marker = "msg=\"Listening on\" address=127.0.0.1:";
  REQUIRE_MESSAGE(prometheus.wait_for_stderr_containing(marker, seconds(60)),
                  "Prometheus did not start listening:\n"
                      << prometheus.stderr_text());
  const std::string err = prometheus.stderr_text();
  const auto at = err.find(marker) + marker.size();
  const auto digits = err.substr(at, err.find_first_not_of("0123456789", at) - at);
  const int port = std::stoi(digits);
  REQUIRE((port > 0 && port <= 65535));
  return static_cast<std::uint16_t>(port);
}

}  // namespace

TEST_CASE("the live server's /metrics after a session and errors passes promtool check metrics") {
  const auto promtool = find_program("promtool");
  if (!have_program("promtool"))
    return;
  ops_server s({"--session-timeout", "0"});
  run_session(s, numbered_id(1, 0x0b5), 100);
  // Samples in the error, HTTP and store families too.
  auto bad = s.server().connect();
  REQUIRE(bad.send("RECV,0;", reply_timeout));
  CHECK(bad.read_until_closed(reply_timeout).starts_with("ERR,"));
  CHECK(s.get("/v1/fibonacci?n=x").status == 400);
  const std::string text = s.scrape();
  temp_dir dir;
  const auto file = dir.path() / "metrics.txt";
  std::ofstream(file) << text;
  const auto check = run_process(
      command({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", *promtool, file.string()}),
      seconds(60));
  INFO("metrics:\n" << text << "\npromtool: " << check.out << check.err);
  CHECK(check.exit_code() == 0);
}

TEST_CASE("the example Prometheus configuration passes promtool check config") {
  const auto promtool = find_program("promtool");
  if (!have_program("promtool"))
    return;
  const std::string file = NUMSEQUENCE_SOURCE_DIR "/examples/prometheus/prometheus.yml";
  const auto check = run_process(command({*promtool, "check", "config", file}), seconds(60));
  INFO("promtool: " << check.out << check.err);
  CHECK(check.exit_code() == 0);
}

TEST_CASE("counters move with a real session: messages by type, connections back to 0, requests") {
  ops_server s({"--session-timeout", "0"});
  CHECK(s.sample(recv_count) == 0);
  run_session(s, numbered_id(2, 0x0b5), 100);  // 20 batches of 5
  const std::string text = s.scrape();
  INFO("metrics:\n" << text);
  CHECK(sample_value(text, recv_count) == 20);
  CHECK(sample_value(text, "numsequence_messages_total{type=\"INIT\"}") == 1);
  CHECK(sample_value(text, "numsequence_messages_total{type=\"FIN\"}") == 1);
  CHECK(sample_value(text, "numsequence_messages_total{type=\"CONT\"}") == 0);
  CHECK(sample_value(text, "numsequence_sessions{state=\"completed\"}") == 1);
  CHECK(sample_value(text, "numsequence_sessions{state=\"live\"}") == 0);
  CHECK(sample_value(text, "numsequence_store_operation_seconds_count{operation=\"create\"}") == 1);
  CHECK(sample_value(text, "numsequence_store_operation_seconds_count{operation=\"complete\"}") ==
        1);
  // The server closes the connection after FAC; it is counted closed once it has ended.
  CHECK(eventually(seconds(5), [&] { return s.sample(tcp_open) == 0; }));

  // A raw GET as curl sends it, and an unknown path.
  CHECK(s.get("/healthz").status == 200);
  CHECK(s.get("/no/such/page").status == 404);
  const std::string after = s.scrape();
  INFO("metrics after the HTTP requests:\n" << after);
  CHECK(sample_value(after, "numsequence_http_requests_total{route=\"healthz\",code=\"200\"}") ==
        1);
  CHECK(sample_value(after, "numsequence_http_requests_total{route=\"other\",code=\"404\"}") == 1);
  CHECK(sample_value(after, "numsequence_errors_total{reason=\"http_4xx\"}") == 1);
  CHECK(sample_value(after, "numsequence_http_requests_total{route=\"metrics\",code=\"200\"}") >=
        2);
  // Only the scrape itself is open (the earlier requests' connections end as they are seen).
  CHECK(eventually(seconds(5),
                   [&] { return s.sample("numsequence_connections{transport=\"http\"}") == 1; }));
}

TEST_CASE("with --io-model shared each thread counts on its own shard and nothing is lost") {
  ops_server s({"--session-timeout", "0", "--io-model", "shared", "--threads", "2"});
  for (unsigned k = 0; k < 4; ++k)
    run_session(s, numbered_id(10 + k, 0x0b5), 1000);  // 200 batches each
  const std::string text = s.scrape();
  INFO("metrics:\n" << text);
  CHECK(sample_value(text, recv_count) == 800);
  CHECK(sample_value(text, "numsequence_messages_total{type=\"INIT\"}") == 4);
  CHECK(sample_value(text, "numsequence_messages_total{type=\"FIN\"}") == 4);
  CHECK(sample_value(text, "numsequence_sessions{state=\"completed\"}") == 4);
  CHECK(eventually(seconds(5), [&] { return s.sample(tcp_open) == 0; }));
}

TEST_CASE("HTTP requests are counted by route: each Fibonacci endpoint, the page, errors") {
  ops_server s;
  struct row {
    const char* target;
    const char* series;
  };
  for (const auto& r :
       {row{"/v1/fibonacci?n=5",
            "numsequence_http_requests_total{route=\"fibonacci\",code=\"200\"}"},
        row{"/v1/fibonacci?from=3&to=6",
            "numsequence_http_requests_total{route=\"fibonacci\",code=\"200\"}"},
        row{"/v1/fibonacci/7",
            "numsequence_http_requests_total{route=\"fibonacci_value\",code=\"200\"}"},
        row{"/fib?limit=3", "numsequence_http_requests_total{route=\"fib_limit\",code=\"200\"}"},
        row{"/fib/3", "numsequence_http_requests_total{route=\"fib_compat\",code=\"200\"}"},
        row{"/", "numsequence_http_requests_total{route=\"page\",code=\"200\"}"},
        row{"/readyz", "numsequence_http_requests_total{route=\"readyz\",code=\"200\"}"},
        row{"/v1/stream", "numsequence_http_requests_total{route=\"other\",code=\"426\"}"},
        row{"/fib?limit=x", "numsequence_http_requests_total{route=\"other\",code=\"400\"}"}}) {
    CAPTURE(r.target);
    const double before = sample_value(s.scrape(), r.series).value_or(0);
    s.get(r.target);
    CHECK(s.sample(r.series) == before + 1);
  }
}

TEST_CASE("ERR replies are counted by their code, the connection limit's refusals as server_busy") {
  // Three places: one for the scrapes (one kept-alive connection), two for TCP.
  ops_server s({"--session-timeout", "0", "--max-connections", "3"});
  http_client scraper(s.http_port());
  REQUIRE(scraper.connected());
  const auto scrape = [&] {
    const auto r = scraper.get("/metrics");
    REQUIRE(r.has_value());
    REQUIRE(r->status == 200);
    return r->body;
  };
  const auto tcp_closed = [&] { return sample_value(scrape(), tcp_open) == 0; };
  for (const std::string_view bytes : {"RECV,0;", "HELLO;"}) {
    auto c = s.server().connect();
    REQUIRE(c.send(bytes, reply_timeout));
    CHECK(c.read_until_closed(reply_timeout).starts_with("ERR,"));
    c.close();
    CHECK(eventually(seconds(5), tcp_closed));
  }
  // Both TCP places taken: the next connection is told the server is busy.
  auto holder = s.server().connect();
  REQUIRE(holder.send("INIT," + numbered_id(3, 0x0b5) + ",10,5;", reply_timeout));
  CHECK(holder.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
  auto other = s.server().connect();
  REQUIRE(other.send("INIT," + numbered_id(4, 0x0b5) + ",10,5;", reply_timeout));
  CHECK(other.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
  auto refused = s.server().connect();
  CHECK(refused.read_until_closed(reply_timeout) == "ERR,server busy;");
  const std::string text = scrape();
  INFO("metrics:\n" << text);
  CHECK(sample_value(text, "numsequence_errors_total{reason=\"session_not_started\"}") == 1);
  CHECK(sample_value(text, "numsequence_errors_total{reason=\"unknown_type\"}") == 1);
  CHECK(sample_value(text, "numsequence_errors_total{reason=\"server_busy\"}") == 1);
  CHECK(sample_value(text, "numsequence_messages_total{type=\"INIT\"}") == 2);
}

TEST_CASE("the reply histogram times about one message in 64, and its count is its +Inf bucket") {
  ops_server s({"--session-timeout", "0"});
  run_session(s, numbered_id(4, 0x0b5), 6400, {"--batch-size", "1"});  // 6,402 messages
  const std::string text = s.scrape();
  INFO("metrics:\n" << text);
  const auto count = sample_value(text, "numsequence_reply_seconds_count");
  REQUIRE(count.has_value());
  // One frame in 64 is picked; one picked while another is still being timed is let go.
  CHECK(*count >= 1);
  CHECK(*count <= 6402 / 64);
  CHECK(sample_value(text, "numsequence_reply_seconds_bucket{le=\"+Inf\"}") == count);
  CHECK(sample_value(text, "numsequence_reply_seconds_sum") > 0);
}

TEST_CASE("a real Prometheus scrapes the server: up is 1 and numsequence series are stored") {
  const auto prometheus_bin = find_program("prometheus");
  if (!have_program("prometheus"))
    return;
  ops_server s({"--session-timeout", "0"});
  temp_dir dir;
  const auto config = dir.path() / "prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                           "scrape_configs:\n  - job_name: numsequence\n    static_configs:\n"
                           "      - targets: ['127.0.0.1:"
                        << s.http_port() << "']\n";
  child_process prometheus(
      command({*prometheus_bin, "--config.file", config.string(), "--storage.tsdb.path",
               (dir.path() / "data").string(), "--web.listen-address", "127.0.0.1:0"}));
  const std::uint16_t port = prometheus_port(prometheus);
  INFO("prometheus stderr:\n" << prometheus.stderr_text());

  // `up` is 1 once a scrape of the target succeeded.
  const auto up = [&] {
    const auto j = prometheus_query(port, "up");
    if (!j)
      return false;
    for (const auto& r : (*j)["data"]["result"]) {
      if (r["metric"].value("job", "") == "numsequence" && r["value"][1] == "1")
        return true;
    }
    return false;
  };
  CHECK(eventually(seconds(60), up));

  const auto build = prometheus_query(port, "numsequence_build_info");
  REQUIRE(build.has_value());
  INFO("numsequence_build_info: " << build->dump());
  REQUIRE((*build)["data"]["result"].size() == 1);
  CHECK((*build)["data"]["result"][0]["metric"]["version"] == NUMSEQUENCE_EXPECTED_VERSION);

  // A session's counts reach Prometheus with the next scrapes.
  run_session(s, numbered_id(5, 0x0b5), 50);
  const auto recv_stored = [&] {
    const auto j = prometheus_query(port, "numsequence_messages_total");
    if (!j)
      return false;
    for (const auto& r : (*j)["data"]["result"]) {
      if (r["metric"].value("type", "") == "RECV" && r["value"][1] == "10")
        return true;
    }
    return false;
  };
  CHECK(eventually(seconds(30), recv_stored));

  prometheus.kill(SIGTERM);
  const auto status = prometheus.wait(seconds(30));
  CHECK(status.has_value());
}

}  // namespace numsequence::ops_test
