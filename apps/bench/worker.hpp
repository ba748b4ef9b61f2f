#pragma once
// The bench's threads, the gate that starts every connection's window at once, and the
// counters that tell the main thread when setup and the run are over.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "bench/options.hpp"
#include "bench/stats.hpp"
#include "bench/wire.hpp"
#include "numsequence/protocol/client_id.hpp"

namespace numsequence::bench {

struct run_state;

/// @brief One bench thread: an io_context and what its connections measured. Everything
/// but `run` is touched only from its own thread while it runs.
struct worker {
  explicit worker(run_state& r, unsigned i) : run(r), index(i), rng(std::random_device{}() + i) {}

  run_state& run;
  unsigned index;
  asio::io_context io{1};
  stats st;
  asio::steady_timer gate{io, steady::time_point::max()};
  bool gate_open = false;
  unsigned setting_up = 0;
  asio::steady_timer setup_slot{io, steady::time_point::max()};
  std::vector<std::unique_ptr<wire>> held;  // hold mode
  std::mt19937_64 rng;
  std::thread thread;

  /// @brief A random version-4 UUID from this thread's generator.
  client_id random_id();

  /// @brief Waits for a free setup slot (bounded concurrent connects on this thread).
  asio::awaitable<void> acquire_setup_slot();
  /// @brief Frees the slot and wakes one waiter.
  void release_setup_slot();
};

/// @brief Shared by every thread; the times are written before the gate opens (a post,
/// which orders them) and only read after.
struct run_state {
  explicit run_state(const bench_options& o) : opts(o) {}

  const bench_options& opts;
  asio::ip::tcp::endpoint endpoint;
  steady::time_point go{};
  steady::time_point stop_at{};

  std::atomic<unsigned> ready{0};
  std::atomic<unsigned> done{0};
  std::mutex mutex;
  std::condition_variable changed;

  /// @brief A connection is up (or failed to come up).
  void mark_ready();
  /// @brief A connection's task has ended.
  void mark_done();
};

/// @brief After setup: marks the connection ready and waits until the main thread opens
/// the gate (all connections are up).
asio::awaitable<void> wait_for_gate(worker& w);

/// @brief Runs one connection's task on its worker and reports it done, however it ends.
asio::awaitable<void> task(worker& w, asio::awaitable<void> body);

}  // namespace numsequence::bench
