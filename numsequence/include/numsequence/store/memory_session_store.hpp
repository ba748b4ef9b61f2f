#pragma once
/// @brief The embedded session store: one process, expiry by one timer over a deadline heap.

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "numsequence/session/session_store.hpp"

namespace numsequence {

/// @brief In-memory session_store.
///
/// Expiry is driven by a single steady_timer armed for the earliest deadline in a
/// min-heap of (deadline, id, generation). A record parked again, unparked or
/// completed gets a new generation, so stale heap entries are skipped when they
/// come due instead of being searched for. Nothing scans every session.
/// Safe to call from several threads; the timer runs on the given executor.
///
/// With a session limit, create answers store_status::full while the store holds that
/// many records: live, parked and completed alike, since each costs the same map node.
/// A slot frees when a record expires (a completion record one purge window after FIN).
class memory_session_store final : public session_store {
 public:
  using clock = std::chrono::steady_clock;

  /// @param purge_after how long parked sessions and completion records are kept.
  /// @param on_purge called with each id whose record expires (for logs); may be empty.
  /// @param max_sessions the most records held at once; 0 for no limit.
  memory_session_store(asio::any_io_executor executor, clock::duration purge_after,
                       std::function<void(const client_id&)> on_purge = {},
                       std::size_t max_sessions = 0);
  ~memory_session_store() override;

  asio::awaitable<store_status> async_create(const session_record& record, lease_id lease) override;
  asio::awaitable<attach_result> async_attach(const client_id& id, lease_id lease) override;
  asio::awaitable<void> async_park(const session_record& record, lease_id lease) override;
  asio::awaitable<store_status> async_complete(const client_id& id, lease_id lease,
                                               const md5_digest& checksum) override;
  asio::awaitable<store_status> async_keep_alive(const session_record& record,
                                                 lease_id lease) override;

  /// @brief Records held now, expired ones not yet collected included.
  std::size_t size() const;

  /// @brief Records held now by state, kept up to date as records change state (no scan);
  /// expired records not yet collected still count (the timer collects them when due).
  std::optional<session_counts> count_sessions() const override;

 private:
  // Everything of a session but its id, which is the map's key: a parked session costs
  // one map node (~128 bytes with the allocator's header) plus one 24-byte deadline.
  struct entry {
    std::uint64_t seed = 0;
    std::uint32_t n = 0;
    std::uint32_t batch = 1;
    sequence_mode mode = sequence_mode::normal;
    bool live = false;  // live sessions never expire
    std::optional<md5_digest> completed_checksum;
    std::uint32_t generation = 0;
    lease_id lease = 0;  // the attachment the session is live on
    clock::time_point expires{};

    bool completed() const noexcept { return completed_checksum.has_value(); }
  };
  // Points at the key inside the map: nodes never move, and an entry is erased only when
  // its newest deadline comes due, after every older one (same window, generation breaks ties).
  struct deadline {
    clock::time_point when;
    const client_id* id;
    std::uint32_t generation;
    bool operator>(const deadline& o) const noexcept {
      return when != o.when ? when > o.when : generation > o.generation;
    }
  };

  static session_record record_of(const client_id& id, const entry& e);
  // The count of e's state. Mutex held.
  std::size_t& count_of(const entry& e) noexcept;
  bool expired(const entry& e, clock::time_point now) const noexcept;
  // `key` must be the map's own key (deadlines point at it). Mutex held.
  void start_clock(const client_id& key, entry& e, clock::time_point now);
  void arm_timer();  // mutex held
  void collect_expired();
  // Erases the records whose newest deadline has passed, appending their ids. Mutex held.
  void erase_expired(clock::time_point now, std::vector<client_id>& purged);
  void report_purged(const std::vector<client_id>& purged) const;

  clock::duration purge_after_;
  std::function<void(const client_id&)> on_purge_;
  std::size_t max_sessions_;
  bool full_reported_ = false;  // mutex held
  session_counts counts_;       // mutex held
  mutable std::mutex mutex_;
  std::unordered_map<client_id, entry> sessions_;
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
  asio::steady_timer timer_;
  clock::time_point armed_for_ = clock::time_point::max();
};

}  // namespace numsequence
