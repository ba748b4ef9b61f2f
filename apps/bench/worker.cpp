#include "bench/worker.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace numsequence::bench {
namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Connections being opened at once per thread, so that thousands of connects do not
// overflow the server's accept backlog.
constexpr unsigned setup_concurrency = 128;

}  // namespace

client_id worker::random_id() {
  static constexpr char digits[] = "0123456789abcdef";
  std::array<char, client_id::size> text{};
  std::uint64_t bits[2] = {rng(), rng()};
  std::size_t nibble = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      text[i] = '-';
      continue;
    }
    unsigned v = static_cast<unsigned>((bits[nibble / 16] >> (4 * (nibble % 16))) & 0xf);
    if (i == 14)
      v = 4;  // version 4
    if (i == 19)
      v = 8 | (v & 3);  // RFC 4122 variant
    text[i] = digits[v];
    ++nibble;
  }
  return *client_id::parse(std::string_view(text.data(), text.size()));
}

asio::awaitable<void> worker::acquire_setup_slot() {
  // The timer never expires: release_setup_slot() wakes one waiter with cancel_one().
  while (setting_up >= setup_concurrency)
    co_await setup_slot.async_wait(use_nothrow);
  ++setting_up;
}

void worker::release_setup_slot() {
  --setting_up;
  setup_slot.cancel_one();
}

// Both counters change under the mutex the main thread waits with: otherwise a change
// between its check of the predicate and its going to sleep is a lost wake-up, and it
// sleeps until the timeout (60 s of setup, seen under TSan).
void run_state::mark_ready() {
  {
    std::lock_guard lock(mutex);
    ready.fetch_add(1);
  }
  changed.notify_all();
}

void run_state::mark_done() {
  {
    std::lock_guard lock(mutex);
    done.fetch_add(1);
  }
  changed.notify_all();
}

asio::awaitable<void> wait_for_gate(worker& w) {
  w.run.mark_ready();
  if (!w.gate_open)
    co_await w.gate.async_wait(use_nothrow);
}

asio::awaitable<void> task(worker& w, asio::awaitable<void> body) {
  try {
    co_await std::move(body);
  } catch (const std::exception& e) {
    w.st.error(std::string("unexpected: ") + e.what());
  }
  w.run.mark_done();
}

}  // namespace numsequence::bench
