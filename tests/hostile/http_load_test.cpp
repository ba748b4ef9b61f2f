// Hostile HTTP volume against the HTTP listener: thousands of idle keep-alive connections
// and the connection limit, readers that stall on the largest answer, pipelined floods read
// and unread, HTTP/1.0 floods and storms of new connections. Memory is read from
// /proc/<pid>/status; legitimate HTTP, WebSocket and TCP clients run beside each (web_scene).

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "web_support.hpp"

namespace numsequence::hostile {
namespace {

constexpr std::size_t kib = 1024;
/// SO_RCVBUF of clients that never read: small and fixed, so that what the server writes
/// piles up at the server, not in a receive buffer the host may let grow to 32 MB.
constexpr int small_receive_buffer = 16 * 1024;

std::size_t growth_kib(std::size_t before, std::size_t after) {
  return after > before ? after - before : 0;
}

/// Idle HTTP connections the case holds: 10,000 when both processes may hold that many
/// (5,000 under sanitizers, whose runtimes make each connection dearer and slower to open).
std::size_t idle_target() {
  const std::size_t wanted = sanitized ? 5000 : 10'000;
  constexpr std::size_t spare = 300;  // pipes, the legitimate clients, the client processes
  const rlim_t limit = raise_own_fd_limit(wanted + 2 * spare);
  const std::size_t count =
      limit >= wanted + spare ? wanted : static_cast<std::size_t>(limit) - spare;
  if (count < wanted)
    MESSAGE("RLIMIT_NOFILE is " << limit << ": scaled down to " << count << " connections");
  return count;
}

/// Sends one request on each connection, then reads each one's response: true if all are
/// exactly `body` with status 200.
bool ask_each(std::vector<raw_conn>& conns, const std::string& request, const std::string& body) {
  for (auto& c : conns) {
    if (!c.send_all(request, seconds(5)))
      return false;
  }
  for (auto& c : conns) {
    const auto x = read_responses(c, 1, seconds(10));
    if (x.responses.size() != 1 || x.responses[0].status != 200 || x.responses[0].body != body)
      return false;
  }
  return true;
}

/// The body of `GET /v1/fibonacci?from=A&to=B` (JSON), computed in the test.
std::string expected_range_json(std::size_t from, std::size_t to) {
  std::string body = R"({"sequence":"fibonacci","from":)" + std::to_string(from) + R"(,"to":)" +
                     std::to_string(to) + R"(,"numbers":[)";
  for (std::size_t k = from; k <= to; ++k)
    body += (k == from ? "" : ",") + fibonacci_text(k);
  return body + "]}";
}

}  // namespace

TEST_SUITE("hostile http load") {
  TEST_CASE(
      "10,000 idle keep-alive connections are held, and --max-connections answers 503 "
      "beyond") {
    const std::size_t count = idle_target();
    constexpr std::size_t spare = 20;  // slots left for the legitimate clients
    web_scene scene({"--max-connections", std::to_string(count + spare), "--idle-timeout", "60",
                     "--session-timeout", "0"});
    const auto rss_before = scene.rss_kib();
    auto conns = open_connections(scene.http_port(), count);
    REQUIRE(conns.size() == count);
    // Each has had a request answered and stays open (keep-alive).
    CHECK(ask_each(conns, get_request("/healthz"), "ok\n"));
    const auto per_connection =
        growth_kib(rss_before, scene.rss_kib()) * 1024 / std::max<std::size_t>(1, conns.size());
    MESSAGE("server RSS per idle keep-alive HTTP connection: " << per_connection << " bytes ("
                                                               << count << " connections)");
    CHECK(per_connection < 16 * kib * asan_memory_factor);
    // Held: the legitimate clients are served in the slots left.
    scene.legit_step();
    // Beyond the limit: 503 and a close, for every connection past the spare slots.
    std::size_t refused = 0;
    std::size_t served = 0;
    std::vector<raw_conn> extra;
    for (std::size_t i = 0; i < 2 * spare; ++i) {
      auto c = raw_conn::connect(scene.http_port());
      REQUIRE(c);
      REQUIRE(c->send_all(get_request("/healthz"), seconds(5)));
      const auto x = read_responses(*c, 1, seconds(5));
      REQUIRE(x.responses.size() == 1);
      if (x.responses[0].status == 503) {
        CHECK(x.responses[0].body == "server busy\n");
        CHECK(x.responses[0].header("retry-after") == std::optional<std::string>("1"));
        CHECK(c->peer_closed(seconds(5)));
        ++refused;
      } else {
        CHECK(x.responses[0].status == 200);
        ++served;
        extra.push_back(std::move(*c));
      }
    }
    MESSAGE(served << " more served, " << refused << " refused with 503");
    CHECK(refused >= spare);
    CHECK(served + refused == 2 * spare);
    // Every held connection still works.
    conns.erase(conns.begin() + 200, conns.end());
    CHECK(ask_each(conns, get_request("/v1/fibonacci?n=40"), expected_fibonacci_json(40)));
    // Freed slots take new clients again.
    extra.clear();
    CHECK(eventually(seconds(5), [&] {
      const auto x = exchange(scene.http_port(), get_request("/healthz", {}, true), seconds(2));
      return x.responses.size() == 1 && x.responses[0].status == 200;
    }));
    scene.finish();  // SIGTERM with 200 keep-alive connections still open: exit 0
  }

  TEST_CASE("100 readers that never read the largest answer hold at most 2 output buffers each") {
    constexpr std::size_t output_buffer = 64 * kib;
    web_scene scene({"--output-buffer", std::to_string(output_buffer), "--idle-timeout", "3",
                     "--session-timeout", "0"});
    const auto rss_before = scene.rss_kib();
    std::vector<raw_conn> conns;
    // Each fills a kernel send buffer (up to 4 MB) before it stalls: under sanitizers,
    // rendering that much for 100 connections takes minutes, so 25 of them there.
    const int readers = sanitized ? 25 : 100;
    for (int i = 0; i < readers; ++i) {
      auto c = raw_conn::connect(scene.http_port(), seconds(5), small_receive_buffer);
      REQUIRE(c);
      REQUIRE(c->send_all(get_request("/v1/fibonacci?n=25000"), seconds(5)));
      conns.push_back(std::move(*c));
    }
    CHECK(wait_until_writes_stall(scene.http_port(), conns, seconds(60)));
    const auto per_connection = growth_kib(rss_before, scene.rss_kib()) * 1024 / conns.size();
    // A stalled streaming connection holds its output (the threshold, plus the one piece of
    // about --output-buffer rendered past it: 2 x --output-buffer), the renderer's two numbers
    // (2 x 5.3 KB at n = 25,000) and its parser; 64 KiB covers those and allocator slack.
    const std::size_t bound = (2 * output_buffer + 64 * kib) * asan_memory_factor;
    MESSAGE("server RSS per stalled reader of n=25000: " << per_connection << " bytes (bound "
                                                         << bound << ")");
    CHECK(per_connection <= bound);
    scene.legit_step();
    // The idle timer (3 s) frees them all: their writes make no progress.
    const auto stalled_at = test_clock::now();
    std::vector<raw_conn*> ptrs;
    for (auto& c : conns)
      ptrs.push_back(&c);
    CHECK(eventually(seconds(15),
                     [&] { return server_side_established(scene.http_port(), ptrs) == 0; }));
    MESSAGE("all released "
            << std::chrono::duration_cast<milliseconds>(test_clock::now() - stalled_at).count()
            << " ms after their writes stalled");
    scene.finish();
  }

  TEST_CASE(
      "--send-buffer caps what the kernel queues for an HTTP or WebSocket reader that "
      "does not read") {
    web_scene scene({"--send-buffer", "8192", "--session-timeout", "0"});
    auto http = raw_conn::connect(scene.http_port(), seconds(5), small_receive_buffer);
    REQUIRE(http);
    REQUIRE(http->send_all(get_request("/v1/fibonacci?n=25000"), seconds(5)));
    std::string why;
    auto ws = ws_client::open(scene.http_port(), small_receive_buffer, &why,
                              text_frame(R"({"id":1,"n":25000})"));
    REQUIRE_MESSAGE(ws.has_value(), why);
    for (raw_conn* c : {&*http, &ws->conn()}) {
      REQUIRE(wait_until_write_stalls(scene.http_port(), *c, seconds(10)));
      const auto queued = server_side_send_queue(scene.http_port(), *c);
      REQUIRE(queued.has_value());
      MESSAGE("queued in the server's socket: " << *queued << " bytes");
      // Linux doubles SO_SNDBUF for its bookkeeping; without the flag: megabytes.
      CHECK(*queued <= 2 * 8192);
    }
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("10,000 requests pipelined in one write are answered in order when read") {
    web_scene scene({"--session-timeout", "0"});
    constexpr std::size_t count = 10'000;
    std::string pipeline;
    for (std::size_t i = 0; i < count; ++i)
      pipeline += get_request("/v1/fibonacci?n=" + std::to_string(i % 100));
    auto conn = raw_conn::connect(scene.http_port());
    REQUIRE(conn);
    http_exchange x;
    std::thread reader([&] { x = read_responses(*conn, count, seconds(60)); });
    const auto start = test_clock::now();
    CHECK(conn->send_all(pipeline, seconds(30)));  // one write as far as the client goes
    scene.legit_step();
    reader.join();
    MESSAGE(count << " pipelined requests answered in "
                  << std::chrono::duration_cast<milliseconds>(test_clock::now() - start).count()
                  << " ms");
    REQUIRE(x.parsed);
    REQUIRE(x.responses.size() == count);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (x.responses[i].status != 200 || x.responses[i].body != expected_fibonacci_json(i % 100))
        ++wrong;
    }
    CHECK(wrong == 0);
    scene.finish();
  }

  TEST_CASE("a pipelined flood that is never read stops being read and is cut, memory bounded") {
    web_scene scene({"--idle-timeout", "1", "--session-timeout", "0"});
    const auto rss_before = scene.rss_kib();
    auto conn = raw_conn::connect(scene.http_port(), seconds(5), small_receive_buffer);
    REQUIRE(conn);
    // Requests for a 7 KB answer, sent until the server stops taking them.
    std::string burst;
    for (int i = 0; i < 1000; ++i)
      burst += get_request("/v1/fibonacci?n=300");
    std::size_t accepted = 0;
    bool cut = false;
    const auto start = test_clock::now();
    auto last_progress = start;
    while (!cut && test_clock::now() - start < seconds(20)) {
      std::size_t sent = 0;
      const auto r = conn->send_some(burst, sent);
      accepted += sent;
      if (r == raw_conn::io::closed) {
        cut = true;
      } else if (sent > 0) {
        last_progress = test_clock::now();
      } else {
        conn->wait_writable(milliseconds(100));
        if (test_clock::now() - last_progress > milliseconds(500))
          cut = server_side_established(scene.http_port(), {&*conn}) == 0;
      }
    }
    const auto took = std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
    const auto grew = growth_kib(rss_before, scene.rss_kib());
    MESSAGE("the server took " << accepted / kib << " KiB of requests, grew " << grew
                               << " KiB, and cut the connection after " << took.count() << " ms");
    CHECK(cut);
    CHECK(took < seconds(10));
    CHECK(grew < 16 * kib * asan_memory_factor);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("a flood of 20,000 distinct answers keeps the response cache near its byte budget") {
    // Scaled down under sanitizers, whose allocators keep freed memory in quarantine
    // (256 MB by default): there RSS says nothing of the cache, and is only reported.
    const std::size_t cache_bytes = (sanitized ? 1 : 4) * 1024 * kib;
    web_scene scene({"--http-cache-bytes", std::to_string(cache_bytes), "--session-timeout", "0"});
    const std::size_t count = sanitized ? 5'000 : 20'000;
    constexpr std::size_t per_from = 20;  // ranges from=i/20, to=from+i%20: all distinct
    const auto rss_before = scene.rss_kib();
    std::atomic<int> wrong{0};
    std::mutex problems_mutex;
    std::string problems;
    auto flood = [&] {
      std::vector<std::thread> senders;
      for (std::size_t t = 0; t < 4; ++t) {
        senders.emplace_back([&, t] {
          std::string pipeline;
          std::vector<std::size_t> asked;
          for (std::size_t i = t; i < count; i += 4) {
            pipeline += get_request("/v1/fibonacci?from=" + std::to_string(i / per_from) +
                                    "&to=" + std::to_string(i / per_from + i % per_from));
            asked.push_back(i);
          }
          auto conn = raw_conn::connect(scene.http_port());
          if (!conn) {
            ++wrong;
            return;
          }
          http_exchange x;
          std::thread reader([&] { x = read_responses(*conn, asked.size(), seconds(60)); });
          conn->send_all(pipeline, seconds(30));
          reader.join();
          if (x.responses.size() != asked.size()) {
            const std::lock_guard lock(problems_mutex);
            problems += "connection " + std::to_string(t) + ": " +
                        std::to_string(x.responses.size()) + " of " + std::to_string(asked.size()) +
                        " responses, " + x.parse_error + "\n";
            ++wrong;
            return;
          }
          for (std::size_t j = 0; j < asked.size(); j += 50) {  // a sample, checked exactly
            const std::size_t from = asked[j] / per_from;
            if (x.responses[j].body != expected_range_json(from, from + asked[j] % per_from))
              ++wrong;
          }
        });
      }
      for (auto& s : senders)
        s.join();
    };
    flood();
    const auto after_first = growth_kib(rss_before, scene.rss_kib());
    scene.legit_step();
    flood();  // the same keys again, long evicted: the cache turns over once more
    const auto after_second = growth_kib(rss_before, scene.rss_kib());
    MESSAGE("RSS growth with --http-cache-bytes " << cache_bytes / kib << " KiB: " << after_first
                                                  << " KiB after " << count << " distinct answers, "
                                                  << after_second << " KiB after as many more");
    CHECK_MESSAGE(wrong.load() == 0, problems);
    // The cache charges each entry its key, its body and 128 bytes of bookkeeping; the
    // allocator's own overhead and fragmentation come on top: about twice the budget.
    if (!sanitized) {
      CHECK(after_second <= 3 * cache_bytes / kib + 8 * kib);
    }
    scene.finish();
  }

  TEST_CASE("HTTP/1.0 floods: 2,000 one-request connections and 1,000 keep-alive requests") {
    web_scene scene;
    const auto fds_before = open_fds(scene.pid());
    std::atomic<int> wrong{0};
    std::vector<std::thread> flood;
    const auto start = test_clock::now();
    for (int t = 0; t < 4; ++t) {
      flood.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i) {
          const std::size_t n = static_cast<std::size_t>(t * 500 + i) % 60;
          const auto x = exchange(scene.http_port(),
                                  "GET /v1/fibonacci?n=" + std::to_string(n) + " HTTP/1.0\r\n\r\n");
          if (!x.closed || x.responses.size() != 1 || x.responses[0].status != 200 ||
              x.responses[0].keep_alive || x.responses[0].body != expected_fibonacci_json(n))
            ++wrong;
        }
      });
    }
    for (int i = 0; i < 3; ++i)
      scene.legit_step();
    for (auto& t : flood)
      t.join();
    MESSAGE("2,000 HTTP/1.0 requests, a connection each, in "
            << std::chrono::duration_cast<milliseconds>(test_clock::now() - start).count()
            << " ms");
    CHECK(wrong.load() == 0);
    // HTTP/1.0 with keep-alive, pipelined: answered in order, the connection kept.
    std::string pipeline;
    for (int i = 0; i < 1000; ++i)
      pipeline += "GET /v1/fibonacci?n=" + std::to_string(i % 60) +
                  " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    auto conn = raw_conn::connect(scene.http_port());
    REQUIRE(conn);
    REQUIRE(conn->send_all(pipeline, seconds(10)));
    const auto x = read_responses(*conn, 1000, seconds(30));
    REQUIRE(x.responses.size() == 1000);
    for (std::size_t i = 0; i < 1000; ++i)
      CHECK(x.responses[i].body == expected_fibonacci_json(i % 60));
    CHECK(!x.closed);
    CHECK(eventually(seconds(15), [&] { return open_fds(scene.pid()) <= fds_before + 4; }));
    scene.finish();
  }

  TEST_CASE("a storm of 8,000 new connections, one request each, half reset, leaks nothing") {
    web_scene scene({"--session-timeout", "0"});
    const auto fds_before = open_fds(scene.pid());
    std::atomic<int> failed{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> storm;
    const int per_thread = sanitized ? 1000 : 2000;
    const auto start = test_clock::now();
    for (int t = 0; t < 4; ++t) {
      storm.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          auto c = raw_conn::connect(scene.http_port(), seconds(10));
          if (!c || !c->send_all(get_request("/v1/fibonacci?n=10", {}, true), seconds(5))) {
            ++failed;
            continue;
          }
          if ((i + t) % 2 == 0) {
            c->close_with_reset();
            continue;
          }
          const auto x = read_responses(*c, 1, seconds(10));
          if (x.responses.size() != 1 || x.responses[0].body != expected_fibonacci_json(10))
            ++wrong;
        }
      });
    }
    for (int i = 0; i < 3; ++i)
      scene.legit_step();
    for (auto& t : storm)
      t.join();
    const int total = 4 * per_thread;
    MESSAGE(total << " connections, one request each, in "
                  << std::chrono::duration_cast<milliseconds>(test_clock::now() - start).count()
                  << " ms");
    CHECK(failed.load() == 0);
    CHECK(wrong.load() == 0);
    CHECK_MESSAGE(
        eventually(seconds(15), [&] { return open_fds(scene.pid()) <= fds_before + 4; }),
        "server descriptors: " << fds_before << " before, " << open_fds(scene.pid()) << " after");
    scene.finish();
  }
}

}  // namespace numsequence::hostile
