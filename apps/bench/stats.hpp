#pragma once
// What the connections of a run measured, and the errors they met.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "bench/histogram.hpp"

namespace numsequence::bench {

using steady = std::chrono::steady_clock;

/// @brief What the connections of one thread measured; merged once the threads have ended.
/// Not thread-safe: each thread has its own.
struct stats {
  latency_histogram latency;          // round trips inside the window, ns
  latency_histogram session_latency;  // session mode: connect to FAC, ns
  std::uint64_t requests = 0;         // round trips completed inside the window
  std::uint64_t recvs = 0;            // of which RECV -> NUM
  std::uint64_t numbers = 0;          // numbers in those NUMs
  std::uint64_t sessions = 0;         // session mode: sessions completed inside the window
  std::uint64_t recv_total = 0;       // every RECV answered, setup and checks included
  std::uint64_t checksums_verified = 0;
  std::uint64_t numbers_checked = 0;  // test mode: numbers compared with the generator
  std::uint64_t errors = 0;
  std::string first_error;

  /// @brief Counts an error; the first one's text is kept for the report.
  void error(std::string what) {
    if (errors++ == 0)
      first_error = std::move(what);
  }

  /// @brief Adds another thread's measurements (its first error only if this has none).
  void merge(const stats& o) {
    latency.merge(o.latency);
    session_latency.merge(o.session_latency);
    requests += o.requests;
    recvs += o.recvs;
    numbers += o.numbers;
    sessions += o.sessions;
    recv_total += o.recv_total;
    checksums_verified += o.checksums_verified;
    numbers_checked += o.numbers_checked;
    if (errors == 0 && o.errors > 0)
      first_error = o.first_error;
    errors += o.errors;
  }
};

/// @brief A duration in whole nanoseconds, as the histograms record it.
inline std::uint64_t nanoseconds(steady::duration d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace numsequence::bench
