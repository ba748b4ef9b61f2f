#pragma once
// Internal: the connections of a process by lease, and how many are open.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "connection_base.hpp"
#include "numsequence/session/session_record.hpp"

namespace numsequence {

/// Shared by every server (thread) of a process: a CONT served on one thread finds and
/// closes the connection it takes the session from on another, and the connection limit
/// counts every connection of the process, whatever its protocol.
class connection_registry {
 public:
  void add(lease_id lease, const std::shared_ptr<detail::connection_base>& c);
  void remove(lease_id lease);
  std::shared_ptr<detail::connection_base> find(lease_id lease);

  /// Counts a new connection in, unless `limit` (0: none) are open in the process already.
  bool try_admit(std::size_t limit) noexcept;
  void leave() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> open_{0};
  std::mutex mutex_;
  std::unordered_map<lease_id, std::weak_ptr<detail::connection_base>> by_lease_;
};

}  // namespace numsequence
