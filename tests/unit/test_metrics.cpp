// Metrics: the families, types and labels of the /metrics text, shards summed across
// threads, histograms, the sessions gauge from the in-memory store, the process metrics.
// Names, types and labels are the ones the operations contract lists; the text format's
// rules (cumulative buckets, le in seconds, +Inf) are Prometheus's.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <ctime>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "numsequence/ops/metrics.hpp"
#include "numsequence/ops/process_metrics.hpp"
#include "numsequence/protocol/client_id.hpp"
#include "numsequence/store/memory_session_store.hpp"

using namespace numsequence;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, std::string_view line) {
  for (const auto& l : lines_of(text)) {
    if (l == line)
      return true;
  }
  return false;
}

/// The value of the sample line that starts with `series` + " " (nullopt: no such line).
std::optional<double> sample(const std::string& text, const std::string& series) {
  for (const auto& l : lines_of(text)) {
    if (l.starts_with(series + " "))
      return std::stod(l.substr(series.size() + 1));
  }
  return std::nullopt;
}

client_message recv() {
  return recv_message{};
}

/// Runs one store operation to its end on `io` (the in-memory store never waits).
template <class T>
T run_op(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T r) {
    failure = e;
    result = std::move(r);
  });
  io.restart();
  io.poll();
  if (failure)
    std::rethrow_exception(failure);
  REQUIRE(result.has_value());
  return *result;
}

void run_op(asio::io_context& io, asio::awaitable<void> op) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  io.restart();
  io.poll();
  if (failure)
    std::rethrow_exception(failure);
  REQUIRE(done);
}

session_record record_for(const client_id& id) {
  session_record r;
  r.sequence.mode = sequence_mode::test;
  r.sequence.id = id;
  r.sequence.n = 10;
  r.sequence.batch = 5;
  return r;
}

const client_id id_a = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");
const client_id id_b = *client_id::parse("123e4567-e89b-12d3-a456-426614174001");
const client_id id_c = *client_id::parse("123e4567-e89b-12d3-a456-426614174002");
const md5_digest some_sum = *md5_from_hex("9b14501c5359fb4eac96df9e874348b2");

}  // namespace

TEST_CASE("metrics: the text has every family with its type") {
  metrics m(1, "1.2.3");
  m.shard(0).http_request(http_route::healthz, 200);  // the HTTP family lists pairs seen
  m.set_session_source([] { return session_counts{1, 2, 3}; });
  const std::string text = m.serialize();
  const std::vector<std::string> types = {
      "# TYPE numsequence_connections gauge",
      "# TYPE numsequence_sessions gauge",
      "# TYPE numsequence_messages_total counter",
      "# TYPE numsequence_errors_total counter",
      "# TYPE numsequence_http_requests_total counter",
      "# TYPE numsequence_reply_seconds histogram",
      "# TYPE numsequence_store_operation_seconds histogram",
      "# TYPE numsequence_store_errors_total counter",
      "# TYPE process_resident_memory_bytes gauge",
      "# TYPE process_virtual_memory_bytes gauge",
      "# TYPE process_cpu_seconds_total counter",
      "# TYPE process_open_fds gauge",
      "# TYPE process_max_fds gauge",
      "# TYPE process_start_time_seconds gauge",
      "# TYPE numsequence_build_info gauge",
  };
  for (const auto& t : types) {
    CAPTURE(t);
    CHECK(has_line(text, t));
  }
  CHECK(has_line(text, "numsequence_build_info{version=\"1.2.3\"} 1"));
  CHECK(std::string(metrics::content_type) == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("metrics: every label value of the bounded labels is there from the start, at 0") {
  metrics m(1);
  const std::string text = m.serialize();
  const std::vector<std::string> series = {
      "numsequence_connections{transport=\"tcp\"}",
      "numsequence_connections{transport=\"http\"}",
      "numsequence_connections{transport=\"websocket\"}",
      "numsequence_messages_total{type=\"INIT\"}",
      "numsequence_messages_total{type=\"CONT\"}",
      "numsequence_messages_total{type=\"RECV\"}",
      "numsequence_messages_total{type=\"FIN\"}",
      "numsequence_errors_total{reason=\"frame_too_long\"}",
      "numsequence_errors_total{reason=\"empty_message\"}",
      "numsequence_errors_total{reason=\"invalid_byte\"}",
      "numsequence_errors_total{reason=\"unknown_type\"}",
      "numsequence_errors_total{reason=\"wrong_field_count\"}",
      "numsequence_errors_total{reason=\"invalid_client_id\"}",
      "numsequence_errors_total{reason=\"invalid_number\"}",
      "numsequence_errors_total{reason=\"number_out_of_range\"}",
      "numsequence_errors_total{reason=\"invalid_checksum\"}",
      "numsequence_errors_total{reason=\"session_not_started\"}",
      "numsequence_errors_total{reason=\"session_already_started\"}",
      "numsequence_errors_total{reason=\"session_completed\"}",
      "numsequence_errors_total{reason=\"already_exists\"}",
      "numsequence_errors_total{reason=\"does_not_exist\"}",
      "numsequence_errors_total{reason=\"invalid_batch_index\"}",
      "numsequence_errors_total{reason=\"store_unavailable\"}",
      "numsequence_errors_total{reason=\"too_many_sessions\"}",
      "numsequence_errors_total{reason=\"server_busy\"}",
      "numsequence_errors_total{reason=\"http_4xx\"}",
      "numsequence_errors_total{reason=\"http_5xx\"}",
      "numsequence_errors_total{reason=\"websocket_close\"}",
      "numsequence_store_errors_total{operation=\"create\"}",
      "numsequence_store_errors_total{operation=\"attach\"}",
      "numsequence_store_errors_total{operation=\"park\"}",
      "numsequence_store_errors_total{operation=\"complete\"}",
      "numsequence_store_errors_total{operation=\"keep_alive\"}",
      "numsequence_reply_seconds_count",
      "numsequence_store_operation_seconds_count{operation=\"create\"}",
      "numsequence_store_operation_seconds_count{operation=\"attach\"}",
      "numsequence_store_operation_seconds_count{operation=\"park\"}",
      "numsequence_store_operation_seconds_count{operation=\"complete\"}",
      "numsequence_store_operation_seconds_count{operation=\"keep_alive\"}",
  };
  for (const auto& s : series) {
    CAPTURE(s);
    CHECK(sample(text, s) == 0.0);
  }
  // No HTTP pair is counted yet: the family is declared, without samples.
  CHECK(has_line(text, "# TYPE numsequence_http_requests_total counter"));
  CHECK(text.find("numsequence_http_requests_total{") == std::string::npos);
  // No session source: no sessions family.
  CHECK(text.find("numsequence_sessions") == std::string::npos);
}

TEST_CASE("metrics: each call counts under its own label") {
  metrics m(1);
  auto& s = m.shard(0);
  s.message(init_message{});
  s.message(cont_message{});
  s.message(recv());
  s.message(recv());
  s.message(fin_message{});
  s.connection_opened(metric_transport::websocket);
  s.error(protocol_errc::frame_too_long);
  s.error(protocol_errc::session_completed);
  s.error(refusal::already_exists);
  s.error(refusal::server_busy);
  s.error(transport_error::http_4xx);
  s.error(transport_error::websocket_close);
  s.error(make_error_code(protocol_errc::invalid_byte));
  s.error(make_error_code(refusal::store_unavailable));
  s.error(std::make_error_code(std::errc::broken_pipe));  // another category: not counted
  s.store_error(store_operation::keep_alive);
  const std::string text = m.serialize();
  CHECK(sample(text, "numsequence_messages_total{type=\"INIT\"}") == 1.0);
  CHECK(sample(text, "numsequence_messages_total{type=\"CONT\"}") == 1.0);
  CHECK(sample(text, "numsequence_messages_total{type=\"RECV\"}") == 2.0);
  CHECK(sample(text, "numsequence_messages_total{type=\"FIN\"}") == 1.0);
  CHECK(sample(text, "numsequence_connections{transport=\"websocket\"}") == 1.0);
  CHECK(sample(text, "numsequence_connections{transport=\"tcp\"}") == 0.0);
  for (const char* reason : {"frame_too_long", "session_completed", "already_exists", "server_busy",
                             "http_4xx", "websocket_close", "invalid_byte", "store_unavailable"}) {
    CAPTURE(reason);
    CHECK(sample(text, std::string("numsequence_errors_total{reason=\"") + reason + "\"}") == 1.0);
  }
  CHECK(sample(text, "numsequence_errors_total{reason=\"empty_message\"}") == 0.0);
  CHECK(sample(text, "numsequence_errors_total{reason=\"http_5xx\"}") == 0.0);
  CHECK(sample(text, "numsequence_store_errors_total{operation=\"keep_alive\"}") == 1.0);
  CHECK(sample(text, "numsequence_store_errors_total{operation=\"create\"}") == 0.0);
}

TEST_CASE("metrics: HTTP requests are labelled by route and code, unusual codes by class") {
  metrics m(1);
  auto& s = m.shard(0);
  s.http_request(http_route::fibonacci, 200);
  s.http_request(http_route::fibonacci, 200);
  s.http_request(http_route::fibonacci, 400);
  s.http_request(http_route::stream, 101);
  s.http_request(http_route::other, 404);
  s.http_request(http_route::fib_compat, 431);
  s.http_request(http_route::page, 451);  // x51: past the codes counted one by one
  s.http_request(http_route::metrics, 599);
  s.http_request(http_route::readyz, 99);  // not an HTTP status
  s.http_request(http_route::readyz, 600);
  const std::string text = m.serialize();
  CHECK(sample(text, "numsequence_http_requests_total{route=\"fibonacci\",code=\"200\"}") == 2.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"fibonacci\",code=\"400\"}") == 1.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"stream\",code=\"101\"}") == 1.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"other\",code=\"404\"}") == 1.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"fib_compat\",code=\"431\"}") == 1.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"page\",code=\"4xx\"}") == 1.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"metrics\",code=\"5xx\"}") == 1.0);
  CHECK(sample(text, "numsequence_http_requests_total{route=\"readyz\",code=\"other\"}") == 2.0);
  // Only pairs seen are listed.
  CHECK_FALSE(sample(text, "numsequence_http_requests_total{route=\"healthz\",code=\"200\"}"));
}

TEST_CASE("metrics: histogram buckets are cumulative, le in seconds, the count their total") {
  metrics m(1);
  auto& s = m.shard(0);
  s.observe_reply(5us);
  s.observe_reply(10us);  // on a bound: le is "less than or equal"
  s.observe_reply(30us);
  s.observe_reply(2s);   // beyond the last bound: +Inf only
  s.observe_reply(-1s);  // a clock that went back counts as 0
  const std::string text = m.serialize();
  const std::vector<std::pair<std::string, double>> buckets = {
      {"1e-05", 3}, {"2.5e-05", 3}, {"5e-05", 4}, {"0.0001", 4}, {"0.00025", 4}, {"0.0005", 4},
      {"0.001", 4}, {"0.0025", 4},  {"0.005", 4}, {"0.01", 4},   {"0.025", 4},   {"0.05", 4},
      {"0.1", 4},   {"0.25", 4},    {"1", 4},     {"+Inf", 5}};
  for (const auto& bucket : buckets) {
    const auto& [le, count] = bucket;
    CAPTURE(bucket.first);
    CHECK(sample(text, "numsequence_reply_seconds_bucket{le=\"" + le + "\"}") == count);
  }
  CHECK(sample(text, "numsequence_reply_seconds_count") == 5.0);
  CHECK(sample(text, "numsequence_reply_seconds_sum") == doctest::Approx(2.000045));

  s.observe_store(store_operation::park, 3ms);
  s.observe_store(store_operation::park, 20s);
  const std::string after = m.serialize();
  CHECK(sample(after,
               "numsequence_store_operation_seconds_bucket{operation=\"park\",le=\"0.0025\"}") ==
        0.0);
  CHECK(sample(after,
               "numsequence_store_operation_seconds_bucket{operation=\"park\",le=\"0.005\"}") ==
        1.0);
  CHECK(sample(after, "numsequence_store_operation_seconds_bucket{operation=\"park\",le=\"10\"}") ==
        1.0);
  CHECK(
      sample(after, "numsequence_store_operation_seconds_bucket{operation=\"park\",le=\"+Inf\"}") ==
      2.0);
  CHECK(sample(after, "numsequence_store_operation_seconds_sum{operation=\"park\"}") ==
        doctest::Approx(20.003));
  CHECK(sample(after, "numsequence_store_operation_seconds_count{operation=\"create\"}") == 0.0);
}

TEST_CASE("metrics: the reply sampler picks one reply in 64") {
  metrics m(1);
  auto& s = m.shard(0);
  int sampled = 0;
  int first = 0;
  for (int i = 1; i <= 64 * 10; ++i) {
    if (s.sample_reply()) {
      ++sampled;
      if (first == 0)
        first = i;
    }
  }
  CHECK(metrics_shard::reply_sample_interval == 64);
  CHECK(sampled == 10);
  CHECK(first == 64);
}

TEST_CASE("metrics: counts from several threads' shards sum, while scrapes run beside them") {
  metrics m(2);
  constexpr int per_thread = 20'000;
  constexpr int threads = 4;
  std::atomic<bool> writing{true};
  std::thread scraper([&] {
    // Concurrent scrapes: race-free (ThreadSanitizer) and never above the final counts.
    while (writing.load()) {
      const auto recv_count = sample(m.serialize(), "numsequence_messages_total{type=\"RECV\"}");
      CHECK(recv_count.value_or(-1) <= threads * per_thread + 2.0 * per_thread);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&m] {
      for (int i = 0; i < per_thread; ++i) {
        auto& s = m.shard_for_this_thread();
        s.message(recv());
        s.connection_opened(metric_transport::tcp);
        s.connection_closed(metric_transport::tcp);
        s.observe_reply(1ms);
      }
      m.shard_for_this_thread().connection_opened(metric_transport::tcp);  // left open
    });
  }
  // Two more writers on the fixed shards, one each.
  for (std::size_t k = 0; k < 2; ++k) {
    writers.emplace_back([&m, k] {
      auto& s = m.shard(k);
      for (int i = 0; i < per_thread; ++i)
        s.message(recv());
    });
  }
  for (auto& w : writers)
    w.join();
  writing.store(false);
  scraper.join();
  const std::string text = m.serialize();
  CHECK(sample(text, "numsequence_messages_total{type=\"RECV\"}") ==
        double(threads * per_thread + 2 * per_thread));
  CHECK(sample(text, "numsequence_connections{transport=\"tcp\"}") == double(threads));
  CHECK(sample(text, "numsequence_reply_seconds_count") == double(threads * per_thread));
}

TEST_CASE("metrics: a connection closed on another thread's shard leaves the gauge right") {
  metrics m(2);
  m.shard(0).connection_opened(metric_transport::http);
  m.shard(0).connection_opened(metric_transport::http);
  m.shard(1).connection_closed(metric_transport::http);
  CHECK(sample(m.serialize(), "numsequence_connections{transport=\"http\"}") == 1.0);
}

TEST_CASE("metrics: shard_for_this_thread gives each thread its own shard, the same each call") {
  metrics m;
  metrics_shard* mine = &m.shard_for_this_thread();
  CHECK(&m.shard_for_this_thread() == mine);
  metrics_shard* other = nullptr;
  std::thread([&] { other = &m.shard_for_this_thread(); }).join();
  CHECK(other != mine);
  // A second metrics object has shards of its own.
  metrics n;
  CHECK(&n.shard_for_this_thread() != mine);
  CHECK(&m.shard_for_this_thread() == mine);
}

TEST_CASE("metrics: shard() past the shards made throws out_of_range") {
  metrics m(2);
  CHECK_NOTHROW(m.shard(1));
  CHECK_THROWS_AS(m.shard(2), std::out_of_range);
  metrics none;
  CHECK_THROWS_AS(none.shard(0), std::out_of_range);
}

TEST_CASE("metrics: the sessions gauge follows a memory store's records through their states") {
  asio::io_context io;
  memory_session_store store(io.get_executor(), std::chrono::hours(1));
  metrics m;
  m.set_session_source([&store] { return store.count_sessions(); });
  const auto counts = [&] { return *store.count_sessions(); };
  CHECK(counts() == session_counts{0, 0, 0});
  for (const auto& id : {id_a, id_b, id_c})
    REQUIRE(run_op(io, store.async_create(record_for(id), 1)) == store_status::ok);
  CHECK(counts() == session_counts{3, 0, 0});
  run_op(io, store.async_park(record_for(id_a), 1));
  CHECK(counts() == session_counts{2, 1, 0});
  REQUIRE(run_op(io, store.async_attach(id_a, 2)).status == store_status::ok);
  CHECK(counts() == session_counts{3, 0, 0});
  REQUIRE(run_op(io, store.async_attach(id_b, 3)).previous_lease == 1);  // a takeover
  CHECK(counts() == session_counts{3, 0, 0});
  run_op(io, store.async_park(record_for(id_b), 1));  // the lease lost: no change
  CHECK(counts() == session_counts{3, 0, 0});
  REQUIRE(run_op(io, store.async_complete(id_c, 1, some_sum)) == store_status::ok);
  CHECK(counts() == session_counts{2, 0, 1});
  run_op(io, store.async_park(record_for(id_b), 3));
  REQUIRE(run_op(io, store.async_complete(id_b, 3, some_sum)) == store_status::ok);  // parked
  CHECK(counts() == session_counts{1, 0, 2});
  REQUIRE(run_op(io, store.async_complete(id_b, 3, some_sum)) == store_status::ok);  // again
  REQUIRE(run_op(io, store.async_attach(id_c, 4)).status == store_status::ok);
  REQUIRE(run_op(io, store.async_create(record_for(id_c), 5)) == store_status::already_exists);
  CHECK(counts() == session_counts{1, 0, 2});
  const std::string text = m.serialize();
  CHECK(sample(text, "numsequence_sessions{state=\"live\"}") == 1.0);
  CHECK(sample(text, "numsequence_sessions{state=\"parked\"}") == 0.0);
  CHECK(sample(text, "numsequence_sessions{state=\"completed\"}") == 2.0);
}

TEST_CASE("metrics: records the memory store purges leave its session counts") {
  asio::io_context io;
  memory_session_store store(io.get_executor(), 0s);  // purge at once
  REQUIRE(run_op(io, store.async_create(record_for(id_a), 1)) == store_status::ok);
  REQUIRE(run_op(io, store.async_create(record_for(id_b), 1)) == store_status::ok);
  run_op(io, store.async_park(record_for(id_a), 1));
  REQUIRE(run_op(io, store.async_complete(id_b, 1, some_sum)) == store_status::ok);
  // The expiry timer is due now: run the loop until it has collected both (bounded).
  const auto limit = std::chrono::steady_clock::now() + 5s;
  while (store.size() != 0 && std::chrono::steady_clock::now() < limit)
    io.run_one_for(10ms);
  CHECK(store.size() == 0);
  CHECK(*store.count_sessions() == session_counts{0, 0, 0});
}

TEST_CASE("metrics: a session source that has no counts leaves the family out") {
  metrics m;
  m.set_session_source([] { return std::optional<session_counts>{}; });
  CHECK(m.serialize().find("numsequence_sessions") == std::string::npos);
}

TEST_CASE("metrics: the process metrics are present and plausible") {
  const auto p = read_process_stats();
  REQUIRE(p.has_value());
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(p->start_time_seconds <= now + 1);
  CHECK(p->start_time_seconds > now - 24 * 3600);  // a test binary started today
  CHECK(p->resident_memory_bytes > 1024 * 1024);
  CHECK(p->virtual_memory_bytes >= p->resident_memory_bytes);
  CHECK(p->cpu_seconds >= 0);
  CHECK(p->open_fds >= 1);
  CHECK(p->max_fds >= p->open_fds);
  // A descriptor opened now is counted.
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(read_process_stats()->open_fds == p->open_fds + 1);
  ::close(fd);

  metrics m;
  const std::string text = m.serialize();
  CHECK(sample(text, "process_resident_memory_bytes").value_or(0) > 0);
  CHECK(sample(text, "process_max_fds").value_or(0) >= 1);
  CHECK(sample(text, "process_start_time_seconds").value_or(0) > now - 24 * 3600);
  CHECK(sample(text, "process_cpu_seconds_total").value_or(-1) >= 0);
}
