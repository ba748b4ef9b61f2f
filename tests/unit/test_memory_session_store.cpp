// The in-memory session store's own mechanics: timer-driven expiry, purge reports, stale
// deadlines. The lifecycle contract both stores share is in tests/cluster/store_contract_test.cpp.

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "numsequence/store/memory_session_store.hpp"

using namespace numsequence;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

const client_id id_a = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");

session_record record_for(const client_id& id, std::uint32_t n = 10, std::uint32_t batch = 5) {
  session_record r;
  r.sequence.mode = sequence_mode::test;
  r.sequence.id = id;
  r.sequence.n = n;
  r.sequence.batch = batch;
  return r;
}

/// Runs a test body as a coroutine on a fresh io_context, failing instead of hanging.
void run_test(std::function<asio::awaitable<void>(asio::io_context&)> body) {
  asio::io_context io;
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  io.run_for(10s);
  REQUIRE_MESSAGE(finished, "the test coroutine did not finish within 10 s");
  if (failure)
    std::rethrow_exception(failure);
}

asio::awaitable<void> wait_for(asio::io_context& io, clock_type::duration d) {
  asio::steady_timer t(io, d);
  co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

}  // namespace

TEST_CASE("a parked session expires after the purge window and is reported purged") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    std::vector<client_id> purged;
    memory_session_store store(io.get_executor(), 50ms,
                               [&](const client_id& id) { purged.push_back(id); });
    REQUIRE(co_await store.async_create(record_for(id_a), 1) == store_status::ok);
    co_await store.async_park(record_for(id_a), 1);
    co_await wait_for(io, 150ms);
    CHECK(purged == std::vector<client_id>{id_a});
    CHECK(store.size() == 0);
    CHECK((co_await store.async_attach(id_a, 2)).status == store_status::not_found);
    // The id is free again.
    CHECK(co_await store.async_create(record_for(id_a), 3) == store_status::ok);
  });
}

TEST_CASE("parking again restarts the window, the earlier deadline does not purge it") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    memory_session_store store(io.get_executor(), 300ms);
    REQUIRE(co_await store.async_create(record_for(id_a), 1) == store_status::ok);
    co_await store.async_park(record_for(id_a), 1);
    const auto first_park = clock_type::now();
    co_await wait_for(io, 150ms);
    REQUIRE((co_await store.async_attach(id_a, 2)).status == store_status::ok);
    co_await store.async_park(record_for(id_a), 2);
    const auto second_park = clock_type::now();
    // Wait until the first deadline has certainly passed and been handled.
    co_await wait_for(io, first_park + 330ms - clock_type::now());
    const bool second_window_open = clock_type::now() < second_park + 300ms;
    const auto status = (co_await store.async_attach(id_a, 3)).status;
    if (second_window_open) {
      CHECK(status == store_status::ok);
    } else {
      // The machine was too slow to look inside the second window; still never wrong:
      WARN_MESSAGE(false, "second window passed before the check; weaker assertion used");
      CHECK(status == store_status::not_found);
    }
  });
}

TEST_CASE("completion replaces the session by a record that answers CONT and refuses INIT") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    std::vector<client_id> purged;
    memory_session_store store(io.get_executor(), 80ms,
                               [&](const client_id& id) { purged.push_back(id); });
    const md5_digest sum = *md5_from_hex("9b14501c5359fb4eac96df9e874348b2");
    REQUIRE(co_await store.async_create(record_for(id_a), 1) == store_status::ok);
    CHECK(co_await store.async_complete(id_a, 1, sum) == store_status::ok);

    const auto cont = co_await store.async_attach(id_a, 2);
    REQUIRE(cont.status == store_status::ok);
    REQUIRE(cont.record.completed());
    CHECK(*cont.record.completed_checksum == sum);
    CHECK(cont.record.sequence.n == 10);
    CHECK(cont.record.sequence.batch == 5);
    CHECK(co_await store.async_create(record_for(id_a), 3) == store_status::already_exists);

    // Attaching to a completion record does not keep it alive: it expires from FIN.
    co_await store.async_park(record_for(id_a), 2);
    co_await wait_for(io, 250ms);
    CHECK(purged == std::vector<client_id>{id_a});
    CHECK((co_await store.async_attach(id_a, 4)).status == store_status::not_found);
    CHECK(co_await store.async_create(record_for(id_a), 5) == store_status::ok);
  });
}

TEST_CASE("an expired record is never returned, even before the timer collects it") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    memory_session_store store(io.get_executor(), 10ms);
    REQUIRE(co_await store.async_create(record_for(id_a), 1) == store_status::ok);
    co_await store.async_park(record_for(id_a), 1);
    // Block the event loop so the expiry timer cannot run; the record is stale.
    std::this_thread::sleep_for(30ms);
    CHECK(store.size() == 1);
    CHECK((co_await store.async_attach(id_a, 2)).status == store_status::not_found);
    CHECK(co_await store.async_create(record_for(id_a), 3) == store_status::ok);
  });
}

TEST_CASE("many sessions expire in deadline order without any scan") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    std::vector<client_id> purged;
    memory_session_store store(io.get_executor(), 40ms,
                               [&](const client_id& id) { purged.push_back(id); });
    std::vector<client_id> ids;
    for (int i = 0; i < 1000; ++i) {
      ids.push_back(client_id::random());
      REQUIRE(co_await store.async_create(record_for(ids.back()), 1) == store_status::ok);
    }
    for (const auto& id : ids)
      co_await store.async_park(record_for(id), 1);
    co_await wait_for(io, 200ms);
    CHECK(store.size() == 0);
    CHECK(purged == ids);  // parked in this order, so purged in this order
  });
}

TEST_CASE("at the session limit create answers full, counting live, parked and completed") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    memory_session_store store(io.get_executor(), 100ms, {}, 3);
    const auto live = client_id::random();
    const auto parked = client_id::random();
    const auto done = client_id::random();
    REQUIRE(co_await store.async_create(record_for(live), 1) == store_status::ok);
    REQUIRE(co_await store.async_create(record_for(parked), 2) == store_status::ok);
    REQUIRE(co_await store.async_create(record_for(done), 3) == store_status::ok);
    co_await store.async_park(record_for(parked), 2);
    REQUIRE(co_await store.async_complete(done, 3, md5_digest{}) == store_status::ok);
    CHECK(co_await store.async_create(record_for(client_id::random()), 4) == store_status::full);
    // An id that has a record is told so, full or not.
    CHECK(co_await store.async_create(record_for(live), 5) == store_status::already_exists);
    CHECK(store.size() == 3);
    // Existing sessions are unaffected: CONT, takeover, completion.
    CHECK((co_await store.async_attach(parked, 6)).status == store_status::ok);
    CHECK((co_await store.async_attach(live, 7)).previous_lease == 1);
    CHECK((co_await store.async_attach(done, 8)).record.completed());
  });
}

TEST_CASE("a full store frees a slot when a record expires, even before the timer collects it") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    std::vector<client_id> purged;
    memory_session_store store(
        io.get_executor(), 50ms, [&](const client_id& id) { purged.push_back(id); }, 2);
    const auto a = client_id::random();
    const auto b = client_id::random();
    REQUIRE(co_await store.async_create(record_for(a), 1) == store_status::ok);
    REQUIRE(co_await store.async_create(record_for(b), 2) == store_status::ok);
    REQUIRE(co_await store.async_complete(a, 1, md5_digest{}) == store_status::ok);
    CHECK(co_await store.async_create(record_for(client_id::random()), 3) == store_status::full);
    // Blocks this thread, so the store's timer cannot run: the create itself must see
    // that the completion record's window has passed.
    std::this_thread::sleep_for(80ms);
    const auto c = client_id::random();
    CHECK(co_await store.async_create(record_for(c), 4) == store_status::ok);
    CHECK(purged == std::vector<client_id>{a});  // reported like any purge
    CHECK(store.size() == 2);
    CHECK(co_await store.async_create(record_for(client_id::random()), 5) == store_status::full);
    co_await store.async_park(record_for(b), 2);
    co_await wait_for(io, 150ms);  // the timer purges b
    CHECK(store.size() == 1);
    CHECK(co_await store.async_create(record_for(client_id::random()), 6) == store_status::ok);
  });
}

TEST_CASE("without a limit (0) the store takes any number of sessions") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    memory_session_store store(io.get_executor(), 1s, {}, 0);
    for (int i = 0; i < 100; ++i)
      REQUIRE(co_await store.async_create(record_for(client_id::random()), 1) == store_status::ok);
    CHECK(store.size() == 100);
  });
}

TEST_CASE("memory store: a Fibonacci record keeps its kind, parked and completed") {
  run_test([](asio::io_context& io) -> asio::awaitable<void> {
    memory_session_store store(io.get_executor(), 30s);
    session_record fib = record_for(id_a, 25000, 500);
    fib.sequence.mode = sequence_mode::fibonacci;
    REQUIRE(co_await store.async_create(fib, 1) == store_status::ok);
    co_await store.async_park(fib, 1);
    const auto parked = co_await store.async_attach(id_a, 2);
    REQUIRE(parked.status == store_status::ok);
    CHECK(parked.record.sequence.mode == sequence_mode::fibonacci);
    CHECK(parked.record.sequence.n == 25000);
    CHECK(parked.record.sequence.batch == 500);
    REQUIRE(co_await store.async_complete(id_a, 2, md5_digest{}) == store_status::ok);
    const auto done = co_await store.async_attach(id_a, 3);
    REQUIRE(done.status == store_status::ok);
    CHECK(done.record.completed());
    CHECK(done.record.sequence.mode == sequence_mode::fibonacci);
  });
}
