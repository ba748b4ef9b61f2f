#pragma once
/// @brief The embedded session store: one process, expiry by one timer over a deadline heap.

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

#include "numsequence/session_store.hpp"

namespace numsequence {

/// @brief In-memory session_store.
///
/// Expiry is driven by a single steady_timer armed for the earliest deadline in a
/// min-heap of (deadline, id, generation). A record parked again, unparked or
/// completed gets a new generation, so stale heap entries are skipped when they
/// come due instead of being searched for. Nothing scans every session.
/// Safe to call from several threads; the timer runs on the given executor.
class memory_session_store final : public session_store {
 public:
  using clock = std::chrono::steady_clock;

  /// @param purge_after how long parked sessions and completion records are kept.
  /// @param on_purge called with each id whose record expires (for logs); may be empty.
  memory_session_store(asio::any_io_executor executor, clock::duration purge_after,
                       std::function<void(const client_id&)> on_purge = {});
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

 private:
  struct entry {
    session_record record;
    lease_id lease = 0;  // the attachment the session is live on
    bool live = false;   // live sessions never expire
    clock::time_point expires{};
    std::uint32_t generation = 0;
  };
  struct deadline {
    clock::time_point when;
    client_id id;
    std::uint32_t generation;
    bool operator>(const deadline& o) const noexcept { return when > o.when; }
  };

  bool expired(const entry& e, clock::time_point now) const noexcept;
  void start_clock(const client_id& id, entry& e, clock::time_point now);  // mutex held
  void arm_timer();                                                        // mutex held
  void collect_expired();

  clock::duration purge_after_;
  std::function<void(const client_id&)> on_purge_;
  mutable std::mutex mutex_;
  std::unordered_map<client_id, entry> sessions_;
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
  asio::steady_timer timer_;
  clock::time_point armed_for_ = clock::time_point::max();
};

}  // namespace numsequence
