#include "connection_registry.hpp"

#include "numsequence/server/server.hpp"

namespace numsequence {

void connection_registry::add(lease_id lease, const std::shared_ptr<detail::connection_base>& c) {
  std::lock_guard lock(mutex_);
  by_lease_[lease] = c;
}

void connection_registry::remove(lease_id lease) {
  std::lock_guard lock(mutex_);
  by_lease_.erase(lease);
}

std::shared_ptr<detail::connection_base> connection_registry::find(lease_id lease) {
  std::lock_guard lock(mutex_);
  auto it = by_lease_.find(lease);
  return it == by_lease_.end() ? nullptr : it->second.lock();
}

bool connection_registry::try_admit(std::size_t limit) noexcept {
  if (open_.fetch_add(1, std::memory_order_relaxed) < limit || limit == 0)
    return true;
  open_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

std::shared_ptr<connection_registry> make_connection_registry() {
  return std::make_shared<connection_registry>();
}

}  // namespace numsequence
