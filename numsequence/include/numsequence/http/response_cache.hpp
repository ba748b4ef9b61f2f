#pragma once
/// @brief A bounded, thread-safe LRU cache of rendered answers, keyed by canonical key.

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace numsequence {

/// @brief Counters for metrics, read together.
struct response_cache_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t insertions = 0;  ///< bodies stored (a replaced key counts again)
  std::uint64_t evictions = 0;   ///< bodies dropped to make room
  std::uint64_t rejected = 0;    ///< bodies too large to store
  std::size_t entries = 0;
  std::size_t bytes = 0;  ///< charged bytes held (see response_cache::charge())
  std::size_t capacity = 0;
};

/// @brief Recently rendered bodies, least recently used dropped first, within a byte budget
/// (the server's `--http-cache-bytes`).
///
/// An entry is charged charge() bytes: its key, its body and a fixed overhead for the
/// bookkeeping, so a flood of tiny answers cannot hold unbounded memory either. A body whose
/// charge is over an eighth of the capacity is not stored (max_entry_bytes()): one large
/// answer would otherwise push out the many small ones that make the cache worth having,
/// and a large answer is streamed anyway. Capacity 0 disables the cache.
///
/// The server keeps a second one for answers too large to render whole (`--http-large-cache-
/// bytes`), where one entry may take the whole budget (`max_entry_share` 1). Such an answer is
/// rendered while it is streamed, and the reader that claimed it copies it aside and stores it
/// at the end: claim_fill() makes that one copy per key at a time, and bounds the bytes being
/// copied aside by every connection together to the capacity. So that cache holds at most
/// twice its capacity: stored entries, and fills in progress. A key is claimed only when it is
/// asked for the second time (the first claim_fill() only notes it): copying 65 MB aside costs
/// the first reader about as much again as rendering it (fresh memory is page-faulted in), and
/// an answer asked for once is not worth it.
///
/// Thread-safe: every member may be called from any thread (one mutex, held for
/// bookkeeping only, never while a body is rendered or copied). Bodies are shared: a reader
/// holds its shared_ptr while writing the body out, even if the entry is evicted meanwhile.
/// Two threads missing the same key may both render it; the second insert replaces the first.
class response_cache {
 public:
  /// @brief Bookkeeping bytes charged per entry beside its key and body (list and map nodes,
  /// the shared_ptr's control block).
  static constexpr std::size_t entry_overhead = 128;
  /// @brief Keys claim_fill() remembers as asked for once (bounded: a flood of distinct keys
  /// only starts the notes again).
  static constexpr std::size_t noted_keys_limit = 1024;

  /// @param max_entry_share  an entry may be charged at most capacity / this (8: many small
  ///                         answers; 1: a few large ones)
  explicit response_cache(std::size_t capacity_bytes, std::size_t max_entry_share = 8);
  response_cache(const response_cache&) = delete;
  response_cache& operator=(const response_cache&) = delete;

  /// @brief The body stored for `key` (now the most recently used), or nullptr. Counts a hit
  /// or a miss.
  std::shared_ptr<const std::string> find(std::string_view key);

  /// @brief Stores `body` for `key`, replacing an older one, evicting the least recently used
  /// until it fits. Returns false, storing nothing, when the cache is disabled or the charge
  /// is above max_entry_bytes() (counted as rejected). A null body is not stored.
  bool insert(std::string_view key, std::shared_ptr<const std::string> body);

  /// @brief Claims the right to render `key`'s body aside for insert(): false when the cache
  /// is disabled, the key is stored or claimed already, `body_bytes` (its size or a bound)
  /// would take the bytes of every claim past the capacity or be charged more than
  /// max_entry_bytes(), or the key was not asked for before (it is noted for next time; at
  /// most noted_keys_limit keys are noted, then the notes start again). A true claim must be
  /// given back with release_fill(), stored or not.
  bool claim_fill(std::string_view key, std::size_t body_bytes);

  /// @brief Gives back a claim of claim_fill() (after insert(), or when the render is
  /// abandoned: then the key stays noted, and the next claim_fill() of it may succeed).
  void release_fill(std::string_view key);

  /// @brief Drops every entry (counters stay).
  void clear();

  response_cache_stats stats() const;

  std::size_t capacity() const noexcept { return capacity_; }

  /// @brief The largest charge stored: capacity() / max_entry_share (8 by default).
  std::size_t max_entry_bytes() const noexcept { return capacity_ / max_entry_share_; }

  /// @brief What an entry with this key and body size is charged.
  static std::size_t charge(std::size_t key_size, std::size_t body_size) noexcept {
    return key_size + body_size + entry_overhead;
  }

 private:
  struct entry {
    std::string key;
    std::shared_ptr<const std::string> body;
    std::size_t charge;
  };
  using lru_list = std::list<entry>;

  // Moves an entry out of the cache into `dropped`, with mutex_ held.
  void unlink(lru_list::iterator it, lru_list& dropped);

  const std::size_t capacity_;
  const std::size_t max_entry_share_;
  mutable std::mutex mutex_;
  std::map<std::string, std::size_t, std::less<>> filling_;         // claim_fill()'s keys and bytes
  std::size_t filling_bytes_ = 0;                                   // their bytes, together
  std::set<std::string, std::less<>> noted_;                        // asked for once, not claimed
  lru_list lru_;                                                    // most recently used first
  std::unordered_map<std::string_view, lru_list::iterator> index_;  // views into lru_'s keys
  response_cache_stats stats_;
};

}  // namespace numsequence
