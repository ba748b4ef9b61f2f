#pragma once
/// @brief Saved MD5 states of the first k Fibonacci numbers' list text, so that the checksum of
/// the first n goes on from the nearest saved k below n instead of hashing from F(0).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// @brief The list_checksum states after F(0) … F(k-1) (the text `[0, 1, 1, …, F(k-1)`), for
/// k every `spacing` numbers, filled in order as answers pass them.
///
/// Why: an answer of the stream ends with the MD5 of its numbers, and MD5 is the costliest part
/// of a long one (65 MB of text for the first 25,000: about 0.1 s of a core, more than
/// rendering and sending them). Those states are the same for every answer that starts at F(0),
/// so they are saved once: a later answer of the first n hashes only the numbers past the
/// nearest saved k (fewer than `spacing`), while its frames are written as before. An answer
/// that starts elsewhere (a range) hashes all its numbers.
///
/// Bounded: at most `max_entries` states (about 200 bytes each), so the table covers answers
/// up to spacing × max_entries numbers. Thread-safe: every member may be called from any
/// thread; states are immutable once saved.
class fibonacci_checksum_prefixes {
 public:
  static constexpr std::uint64_t spacing = 128;
  static constexpr std::size_t max_entries = 4096;

  /// @brief A saved state: the checksum after the first `count` numbers.
  struct prefix {
    std::uint64_t count = 0;
    std::shared_ptr<const list_checksum_state> state;
  };

  /// @brief The table every answer of the process shares (the states are facts about the
  /// Fibonacci numbers, the same for every server).
  static fibonacci_checksum_prefixes& shared();

  /// @brief The saved state with the largest count <= n, if any.
  std::optional<prefix> at_most(std::uint64_t n) const;

  /// @brief True when the table would keep the state after the first `count` numbers: the
  /// next multiple of `spacing` it lacks. Cheap (no lock): ask before saving a state.
  bool wants(std::uint64_t count) const noexcept;

  /// @brief Keeps `state`, the checksum after the first `count` numbers, if wants(count) still
  /// holds (another answer may have got there first).
  void offer(std::uint64_t count, std::shared_ptr<const list_checksum_state> state);

  /// @brief States kept.
  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const list_checksum_state>> states_;  // [i]: count (i+1)·spacing
  std::atomic<std::size_t> size_{0};
};

}  // namespace numsequence
