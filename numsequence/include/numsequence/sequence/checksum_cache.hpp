#pragma once
/// @brief A small, bounded, thread-safe cache of whole-sequence checksums by n.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <vector>

#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// @brief Remembers `compute(n)` for the most recently used values of n.
///
/// Made for checksums that depend on n alone and are costly: the FAC of a Fibonacci session
/// of n = 25,000 hashes about 65 MB of text (a tenth of a second or more on the thread that
/// answers FIN). With the cache, each n is paid once per process, not once per session.
///
/// Values of n below `min_cached` are computed on every call and never stored (they are
/// cheap, and must not push the costly ones out). At most `capacity` values are kept; a new
/// one replaces the least recently used. Thread-safe: concurrent calls for the same n
/// compute it once, the others wait for that result. A compute() that throws stores
/// nothing: its callers get the exception, and the next call tries again.
class checksum_cache {
 public:
  using compute_fn = std::function<md5_digest(std::uint64_t n)>;

  /// @brief `compute` must be thread-safe (it runs on the callers' threads, outside the lock).
  checksum_cache(std::size_t capacity, std::uint64_t min_cached, compute_fn compute);

  /// @brief compute(n), from the cache when it holds n.
  md5_digest get(std::uint64_t n);

  /// @brief How many times compute() has run (for tests and measurements).
  std::uint64_t computations() const;
  /// @brief Values held now (at most the capacity).
  std::size_t size() const;

 private:
  struct entry {
    std::uint64_t n = 0;
    std::shared_future<md5_digest> value;
    std::uint64_t last_use = 0;
  };

  std::shared_future<md5_digest> find_or_claim(std::uint64_t n, std::promise<md5_digest>& claim,
                                               bool& claimed);
  void forget(std::uint64_t n);

  const std::size_t capacity_;
  const std::uint64_t min_cached_;
  const compute_fn compute_;
  mutable std::mutex mutex_;
  std::vector<entry> entries_;  // a few dozen at most: a linear search is the fastest lookup
  std::uint64_t clock_ = 0;     // use counter for least-recently-used eviction
  std::uint64_t computations_ = 0;
};

/// @brief The process-wide cache behind sequence_checksum() for Fibonacci sessions: 64
/// values of n, from n = 1,000 on (below that a checksum hashes under 110 KB).
checksum_cache& fibonacci_checksum_cache();

}  // namespace numsequence
