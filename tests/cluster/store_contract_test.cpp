// One suite of session-store cases, run against the in-memory store and against the Redis
// store on a real redis-server: both must keep the same contract (spec §4-5).

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>

#include "cluster_fixture.hpp"
#include "numsequence/store/memory_session_store.hpp"
#include "numsequence/store/redis_session_store.hpp"

using namespace numsequence;
using namespace numsequence::cluster;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

session_record record_for(const client_id& id, std::uint32_t n = 10, std::uint32_t batch = 5) {
  session_record r;
  r.sequence.mode = sequence_mode::normal;
  r.sequence.seed = 0xfeedfacecafebeefULL;
  r.sequence.id = id;
  r.sequence.n = n;
  r.sequence.batch = batch;
  return r;
}

/// A Redis command's arguments. Built in a plain function: g++ 12 miscompiles braced lists
/// of string temporaries inside coroutines.
template <class... Args>
std::vector<std::string> args(const Args&... a) {
  return {std::string(a)...};
}

asio::awaitable<void> wait_for(clock_type::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_nothrow);
}

/// Waits `d`, calling keep-alive for `lease` as often as the store asks, as a server does for a
/// connected client.
asio::awaitable<void> stay_connected(session_store& store, const session_record& r, lease_id lease,
                                     clock_type::duration d) {
  const auto until = clock_type::now() + d;
  const auto interval = store.keep_alive_interval();
  while (clock_type::now() < until) {
    co_await wait_for(interval
                          ? std::min<clock_type::duration>(*interval, until - clock_type::now())
                          : until - clock_type::now());
    if (interval)
      CHECK(co_await store.async_keep_alive(r, lease) == store_status::ok);
  }
}

redis_instance& shared_redis() {
  static redis_instance instance;
  return instance;
}

using test_body = std::function<asio::awaitable<void>(session_store&)>;

struct memory_backend {
  static bool available() { return true; }
  static asio::awaitable<void> run(clock_type::duration purge_after, std::size_t max_sessions,
                                   test_body body) {
    memory_session_store store(co_await asio::this_coro::executor, purge_after, {}, max_sessions);
    co_await body(store);
  }
};

struct redis_backend {
  static bool available() { return have_program("redis-server"); }
  static asio::awaitable<void> run(clock_type::duration purge_after, std::size_t max_sessions,
                                   test_body body) {
    // Locals, not temporaries: g++ 12 destroys temporaries of a co_await expression early.
    const auto executor = co_await asio::this_coro::executor;
    redis_address address;
    address.port = shared_redis().port();
    auto client = redis_client::make(executor, address, {});
    client->start();
    for (int i = 0; i < 500 && !client->connected(); ++i)
      co_await wait_for(10ms);
    REQUIRE_MESSAGE(client->connected(), "could not connect to the test redis-server");
    // A fresh key prefix per test keeps the cases apart on the one server.
    redis_session_store store(client, purge_after,
                              "numsequence-test:" + client_id::random().str() + ":", max_sessions);
    co_await body(store);
    client->stop();
  }
};

/// Runs `body` on a fresh store of `Backend`; max_sessions 0: no session limit.
template <class Backend>
void run_store_test(clock_type::duration purge_after, test_body body,
                    std::size_t max_sessions = 0) {
  if (!Backend::available())
    return;
  asio::io_context io;
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, Backend::run(purge_after, max_sessions, std::move(body)),
                 [&](std::exception_ptr e) {
                   failure = e;
                   finished = true;
                 });
  io.run_for(20s);
  REQUIRE_MESSAGE(finished, "the store test did not finish within 20 s");
  if (failure)
    std::rethrow_exception(failure);
}

}  // namespace

TEST_CASE_TEMPLATE("store: create refuses an id that has a record, attach finds only existing ids",
                   Backend, memory_backend, redis_backend) {
  run_store_test<Backend>(30s, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    CHECK(co_await store.async_create(record_for(id), 1) == store_status::ok);
    CHECK(co_await store.async_create(record_for(id, 99, 1), 2) == store_status::already_exists);
    {
      const auto r = co_await store.async_attach(client_id::random(), 3);
      CHECK(r.status == store_status::not_found);
    }
    const auto found = co_await store.async_attach(id, 4);
    REQUIRE(found.status == store_status::ok);
    CHECK(found.record.sequence.n == 10);  // the first INIT's, not the refused one's
    CHECK(found.record.sequence.batch == 5);
    CHECK(found.record.sequence.seed == 0xfeedfacecafebeefULL);
    CHECK(found.record.sequence.mode == sequence_mode::normal);
    CHECK(found.record.sequence.id == id);
    CHECK_FALSE(found.record.completed());
  });
}

TEST_CASE_TEMPLATE("store: a parked session expires after the purge window", Backend,
                   memory_backend, redis_backend) {
  run_store_test<Backend>(150ms, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    REQUIRE(co_await store.async_create(record_for(id), 1) == store_status::ok);
    co_await store.async_park(record_for(id), 1);
    {
      const auto r = co_await store.async_attach(id, 2);
      CHECK(r.status == store_status::ok);
    }  // inside the window
    co_await store.async_park(record_for(id), 2);
    co_await wait_for(400ms);
    {
      const auto r = co_await store.async_attach(id, 3);
      CHECK(r.status == store_status::not_found);
    }
    CHECK(co_await store.async_create(record_for(id), 4) == store_status::ok);  // the id is free
  });
}

TEST_CASE_TEMPLATE("store: a live session does not expire while its connection keeps it", Backend,
                   memory_backend, redis_backend) {
  run_store_test<Backend>(150ms, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    REQUIRE(co_await store.async_create(record_for(id), 1) == store_status::ok);
    co_await stay_connected(store, record_for(id), 1, 600ms);
    const auto back = co_await store.async_attach(id, 2);
    CHECK(back.status == store_status::ok);
    CHECK(back.previous_lease == 1);  // still live on lease 1 until this takeover
  });
}

TEST_CASE_TEMPLATE("store: attaching within the window stops the purge clock", Backend,
                   memory_backend, redis_backend) {
  run_store_test<Backend>(200ms, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    REQUIRE(co_await store.async_create(record_for(id), 1) == store_status::ok);
    co_await store.async_park(record_for(id), 1);
    const auto back = co_await store.async_attach(id, 2);
    REQUIRE(back.status == store_status::ok);
    CHECK(back.previous_lease == 0);                           // it was parked: nobody lost it
    co_await stay_connected(store, record_for(id), 2, 600ms);  // well past the old deadline
    {
      const auto r = co_await store.async_attach(id, 3);
      CHECK(r.status == store_status::ok);
    }
  });
}

TEST_CASE_TEMPLATE(
    "store: takeover reports the lease that lost the session, which then can "
    "neither park nor keep it",
    Backend, memory_backend, redis_backend) {
  run_store_test<Backend>(150ms, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    REQUIRE(co_await store.async_create(record_for(id), 11) == store_status::ok);
    const auto taken = co_await store.async_attach(id, 22);
    REQUIRE(taken.status == store_status::ok);
    CHECK(taken.previous_lease == 11);
    CHECK(co_await store.async_keep_alive(record_for(id), 11) == store_status::not_found);
    CHECK(co_await store.async_keep_alive(record_for(id), 22) == store_status::ok);
    co_await store.async_park(record_for(id), 11);  // the old connection ends: must not park
    co_await stay_connected(store, record_for(id), 22, 400ms);
    const auto again = co_await store.async_attach(id, 33);
    REQUIRE(again.status == store_status::ok);
    CHECK(again.previous_lease == 22);  // still live on 22: lease 11's park did nothing
  });
}

TEST_CASE_TEMPLATE(
    "store: completion leaves a record that answers CONT, refuses INIT and "
    "expires a window after FIN",
    Backend, memory_backend, redis_backend) {
  run_store_test<Backend>(200ms, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    const md5_digest sum = *md5_from_hex("9b14501c5359fb4eac96df9e874348b2");
    REQUIRE(co_await store.async_create(record_for(id), 1) == store_status::ok);
    CHECK(co_await store.async_complete(id, 1, sum) == store_status::ok);
    CHECK(co_await store.async_complete(id, 1, sum) == store_status::ok);  // idempotent

    const auto cont = co_await store.async_attach(id, 2);
    REQUIRE(cont.status == store_status::ok);
    REQUIRE(cont.record.completed());
    CHECK(*cont.record.completed_checksum == sum);
    CHECK(cont.record.sequence.n == 10);
    CHECK(cont.record.sequence.batch == 5);
    CHECK(cont.previous_lease == 0);
    CHECK(co_await store.async_create(record_for(id), 3) == store_status::already_exists);
    // Nobody holds a completed session: keep-alive says so, park does nothing.
    CHECK(co_await store.async_keep_alive(record_for(id), 2) == store_status::not_found);

    co_await wait_for(100ms);
    {
      const auto r = co_await store.async_attach(id, 4);
      CHECK(r.status == store_status::ok);
    }  // does not extend it
    co_await wait_for(250ms);
    {
      const auto r = co_await store.async_attach(id, 5);
      CHECK(r.status == store_status::not_found);
    }
    CHECK(co_await store.async_create(record_for(id), 6) == store_status::ok);
  });
}

TEST_CASE_TEMPLATE("store: a Fibonacci session keeps its kind when parked, attached and completed",
                   Backend, memory_backend, redis_backend) {
  run_store_test<Backend>(30s, [](session_store& store) -> asio::awaitable<void> {
    const auto id = client_id::random();
    session_record fib = record_for(id, 25000, 500);
    fib.sequence.mode = sequence_mode::fibonacci;
    fib.sequence.seed = 0;
    REQUIRE(co_await store.async_create(fib, 1) == store_status::ok);
    co_await store.async_park(fib, 1);
    const auto parked = co_await store.async_attach(id, 2);
    REQUIRE(parked.status == store_status::ok);
    CHECK(parked.record.sequence.mode == sequence_mode::fibonacci);
    CHECK(parked.record.sequence.n == 25000);
    CHECK(parked.record.sequence.batch == 500);
    CHECK(co_await store.async_keep_alive(fib, 2) == store_status::ok);
    const md5_digest sum = *md5_from_hex("ce7639f1240a778e42b4e67a04927192");
    REQUIRE(co_await store.async_complete(id, 2, sum) == store_status::ok);
    const auto done = co_await store.async_attach(id, 3);
    REQUIRE(done.status == store_status::ok);
    CHECK(done.record.sequence.mode == sequence_mode::fibonacci);
    CHECK(done.record.completed_checksum == sum);
    // A random session beside it keeps its own mode.
    const auto other = client_id::random();
    REQUIRE(co_await store.async_create(record_for(other), 4) == store_status::ok);
    const auto random = co_await store.async_attach(other, 5);
    REQUIRE(random.status == store_status::ok);
    CHECK(random.record.sequence.mode == sequence_mode::normal);
  });
}

TEST_CASE_TEMPLATE("store: completing an unknown session reports not found", Backend,
                   memory_backend, redis_backend) {
  run_store_test<Backend>(30s, [](session_store& store) -> asio::awaitable<void> {
    CHECK(co_await store.async_complete(client_id::random(), 1, md5_digest{}) ==
          store_status::not_found);
  });
}

TEST_CASE_TEMPLATE(
    "store: at the session limit INIT gets full, CONT still works, completion records count "
    "until they expire",
    Backend, memory_backend, redis_backend) {
  run_store_test<Backend>(
      200ms,
      [](session_store& store) -> asio::awaitable<void> {
        const auto a = client_id::random();
        const auto b = client_id::random();
        const auto c = client_id::random();
        const auto d = client_id::random();
        REQUIRE(co_await store.async_create(record_for(a), 1) == store_status::ok);
        REQUIRE(co_await store.async_create(record_for(b), 2) == store_status::ok);
        CHECK(co_await store.async_create(record_for(c), 3) == store_status::full);
        // An id with a record is told so first, full or not.
        CHECK(co_await store.async_create(record_for(a), 4) == store_status::already_exists);
        {
          const auto taken = co_await store.async_attach(b, 5);  // CONT (a takeover) when full
          REQUIRE(taken.status == store_status::ok);
          CHECK(taken.previous_lease == 2);
        }
        CHECK(co_await store.async_keep_alive(record_for(b), 5) == store_status::ok);
        CHECK(co_await store.async_complete(a, 1, md5_digest{}) == store_status::ok);
        // The completion record still counts: it answers CONT for the purge window.
        CHECK(co_await store.async_create(record_for(c), 6) == store_status::full);
        co_await wait_for(350ms);  // a's record expires 200 ms after FIN
        CHECK(co_await store.async_create(record_for(c), 7) == store_status::ok);
        CHECK(co_await store.async_create(record_for(d), 8) == store_status::full);
        co_await store.async_park(record_for(b), 5);
        co_await wait_for(350ms);  // b's parked record expires 200 ms after the park
        CHECK(co_await store.async_create(record_for(d), 9) == store_status::ok);
        CHECK(co_await store.async_create(record_for(client_id::random()), 10) ==
              store_status::full);
      },
      /*max_sessions=*/2);
}

TEST_CASE_TEMPLATE("store: with purge-after 0 a completed or parked session frees its slot at once",
                   Backend, memory_backend, redis_backend) {
  run_store_test<Backend>(
      0ms,
      [](session_store& store) -> asio::awaitable<void> {
        const auto a = client_id::random();
        REQUIRE(co_await store.async_create(record_for(a), 1) == store_status::ok);
        CHECK(co_await store.async_create(record_for(client_id::random()), 2) ==
              store_status::full);
        CHECK(co_await store.async_complete(a, 1, md5_digest{}) == store_status::ok);
        const auto b = client_id::random();
        CHECK(co_await store.async_create(record_for(b), 3) == store_status::ok);
        co_await store.async_park(record_for(b), 3);
        CHECK(co_await store.async_create(record_for(client_id::random()), 4) == store_status::ok);
      },
      /*max_sessions=*/1);
}

/// Runs `body` with two Redis stores under one key prefix, as two servers sharing a Redis.
void run_shared_redis_test(
    clock_type::duration purge_after, std::size_t max_sessions,
    std::function<asio::awaitable<void>(redis_session_store&, redis_session_store&,
                                        const std::string& prefix)>
        body) {
  if (!redis_backend::available())
    return;
  asio::io_context io;
  bool finished = false;
  std::exception_ptr failure;
  auto test = [&]() -> asio::awaitable<void> {
    redis_address address;
    address.port = shared_redis().port();
    auto first_client = redis_client::make(io.get_executor(), address, {});
    auto second_client = redis_client::make(io.get_executor(), address, {});
    first_client->start();
    second_client->start();
    for (int i = 0; i < 500 && !(first_client->connected() && second_client->connected()); ++i)
      co_await wait_for(10ms);
    REQUIRE(first_client->connected());
    REQUIRE(second_client->connected());
    const std::string prefix = "numsequence-test:" + client_id::random().str() + ":";
    redis_session_store first(first_client, purge_after, prefix, max_sessions);
    redis_session_store second(second_client, purge_after, prefix, max_sessions);
    co_await body(first, second, prefix);
    first_client->stop();
    second_client->stop();
  };
  asio::co_spawn(io, test(), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  io.run_for(20s);
  REQUIRE_MESSAGE(finished, "the store test did not finish within 20 s");
  if (failure)
    std::rethrow_exception(failure);
}

TEST_CASE("redis store: the session count is shared by every server on the Redis") {
  run_shared_redis_test(
      200ms, 2,
      [](redis_session_store& a, redis_session_store& b,
         const std::string& prefix) -> asio::awaitable<void> {
        const auto one = client_id::random();
        REQUIRE(co_await a.async_create(record_for(one), 1) == store_status::ok);
        REQUIRE(co_await b.async_create(record_for(client_id::random()), 2) == store_status::ok);
        CHECK(co_await a.async_create(record_for(client_id::random()), 3) == store_status::full);
        CHECK(co_await b.async_create(record_for(client_id::random()), 4) == store_status::full);
        co_await a.async_park(record_for(one), 1);
        co_await wait_for(350ms);
        CHECK(co_await b.async_create(record_for(client_id::random()), 5) == store_status::ok);
        // The expired entry was dropped from the index, not merely skipped: it stays small.
        const auto count = co_await a.client().async_command(args("ZCARD", prefix + "index"));
        REQUIRE(count.has_value());
        CHECK(count->integer == 2);
      });
}

TEST_CASE("redis store: a session written back after a Redis restart is never refused as full") {
  run_shared_redis_test(
      30s, 1,
      [](redis_session_store& a, redis_session_store& b,
         const std::string&) -> asio::awaitable<void> {
        const auto live = client_id::random();
        REQUIRE(co_await a.async_create(record_for(live), 1) == store_status::ok);
        const auto flushed = co_await a.client().async_command(args("FLUSHDB"));
        REQUIRE(flushed.has_value());
        // Another server creates a session in the emptied Redis: the limit is now reached...
        REQUIRE(co_await b.async_create(record_for(client_id::random()), 2) == store_status::ok);
        // ...but the live session is not new: its connection writes it back all the same.
        CHECK(co_await a.async_keep_alive(record_for(live), 1) == store_status::ok);
        CHECK((co_await b.async_attach(live, 3)).status == store_status::ok);
        CHECK(co_await b.async_create(record_for(client_id::random()), 4) == store_status::full);
      });
}

TEST_CASE("redis store: a live session lost by Redis is written back by its connection") {
  run_store_test<redis_backend>(30s, [](session_store& s) -> asio::awaitable<void> {
    auto& store = static_cast<redis_session_store&>(s);
    const auto live = client_id::random();
    const auto parked = client_id::random();
    REQUIRE(co_await store.async_create(record_for(live), 1) == store_status::ok);
    REQUIRE(co_await store.async_create(record_for(parked), 2) == store_status::ok);
    co_await store.async_park(record_for(parked), 2);

    // What a Redis restart without persistence does to the data.
    const auto flushed = co_await store.client().async_command(args("FLUSHDB"));
    REQUIRE(flushed.has_value());

    CHECK(co_await store.async_keep_alive(record_for(live), 1) == store_status::ok);
    const auto back = co_await store.async_attach(live, 3);
    REQUIRE(back.status == store_status::ok);
    CHECK(back.previous_lease == 1);
    CHECK(back.record.sequence.seed == record_for(live).sequence.seed);
    // A parked session has no connection to restore it: it is gone.
    {
      const auto r = co_await store.async_attach(parked, 4);
      CHECK(r.status == store_status::not_found);
    }
  });
}

TEST_CASE("redis store: a damaged record is reported unavailable, not misread") {
  run_store_test<redis_backend>(30s, [](session_store& s) -> asio::awaitable<void> {
    auto& store = static_cast<redis_session_store&>(s);
    const auto id = client_id::random();
    REQUIRE(co_await store.async_create(record_for(id), 1) == store_status::ok);
    // The key layout is the store's business: find this test's one key by its unique prefix.
    const auto keys =
        co_await store.client().async_command(args("KEYS", "numsequence-test:*" + id.str()));
    REQUIRE(keys.has_value());
    REQUIRE(keys->elements.size() == 1);
    const auto key = keys->elements[0].text;
    const auto damaged = co_await store.client().async_command(args("HSET", key, "n", "70000"));
    REQUIRE(damaged.has_value());
    {
      const auto r = co_await store.async_attach(id, 2);
      CHECK(r.status == store_status::unavailable);
    }
    const auto versioned =
        co_await store.client().async_command(args("HSET", key, "n", "10", "v", "9"));
    REQUIRE(versioned.has_value());
    {
      const auto r = co_await store.async_attach(id, 3);
      CHECK(r.status == store_status::unavailable);
    }
  });
}

TEST_CASE(
    "redis store: a record an older server wrote reads as random, an unknown mode as damaged") {
  run_store_test<redis_backend>(30s, [](session_store& s) -> asio::awaitable<void> {
    auto& store = static_cast<redis_session_store&>(s);
    const auto id = client_id::random();
    session_record fib = record_for(id);
    fib.sequence.mode = sequence_mode::fibonacci;
    REQUIRE(co_await store.async_create(fib, 1) == store_status::ok);
    const auto keys =
        co_await store.client().async_command(args("KEYS", "numsequence-test:*" + id.str()));
    REQUIRE(keys.has_value());
    REQUIRE(keys->elements.size() == 1);
    const auto key = keys->elements[0].text;
    const auto mode = co_await store.client().async_command(args("HGET", key, "mode"));
    REQUIRE(mode.has_value());
    CHECK(mode->text == "fibonacci");
    // The fields an older server writes: no kind but its mode, test or normal.
    const auto older = co_await store.client().async_command(args("HSET", key, "mode", "test"));
    REQUIRE(older.has_value());
    {
      const auto r = co_await store.async_attach(id, 2);
      REQUIRE(r.status == store_status::ok);
      CHECK(r.record.sequence.mode == sequence_mode::test);
    }
    const auto unknown = co_await store.client().async_command(args("HSET", key, "mode", "primes"));
    REQUIRE(unknown.has_value());
    {
      const auto r = co_await store.async_attach(id, 3);
      CHECK(r.status == store_status::unavailable);
    }
  });
}

TEST_CASE("redis store: every operation reports unavailable while Redis cannot be reached") {
  if (!redis_backend::available())
    return;
  bound_port closed_port;  // bound, never listening: connections are refused
  asio::io_context io;
  bool finished = false;
  std::exception_ptr failure;
  auto test = [&]() -> asio::awaitable<void> {
    redis_address address;
    address.port = closed_port.port();
    auto client = redis_client::make(io.get_executor(), address, {});
    client->start();
    redis_session_store store(client, 30s);
    co_await wait_for(50ms);
    CHECK_FALSE(client->connected());
    const auto id = client_id::random();
    CHECK(co_await store.async_create(record_for(id), 1) == store_status::unavailable);
    {
      const auto r = co_await store.async_attach(id, 1);
      CHECK(r.status == store_status::unavailable);
    }
    CHECK(co_await store.async_keep_alive(record_for(id), 1) == store_status::unavailable);
    CHECK(co_await store.async_complete(id, 1, md5_digest{}) == store_status::unavailable);
    co_await store.async_park(record_for(id), 1);  // logs, never throws
    client->stop();
  };
  asio::co_spawn(io, test(), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  io.run_for(10s);
  REQUIRE(finished);
  if (failure)
    std::rethrow_exception(failure);
}

TEST_CASE("redis address: URLs are parsed strictly") {
  const auto a = redis_address::parse("redis://10.1.2.3:6380/2");
  REQUIRE(a.has_value());
  CHECK(a->host == "10.1.2.3");
  CHECK(a->port == 6380);
  CHECK(a->db == 2);
  CHECK(redis_address::parse("redis://localhost:6379")->db == 0);
  CHECK(a->str() == "redis://10.1.2.3:6380/2");
  for (const char* bad : {"", "redis://", "redis://host", "redis://:6379", "redis://h:0",
                          "redis://h:65536", "redis://h:12x", "http://h:6379", "redis://h:6379/",
                          "redis://h:6379/-1", "redis://h:6379/x"}) {
    CAPTURE(bad);
    CHECK_FALSE(redis_address::parse(bad).has_value());
  }
}
