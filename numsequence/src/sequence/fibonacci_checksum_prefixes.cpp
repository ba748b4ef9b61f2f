#include "numsequence/sequence/fibonacci_checksum_prefixes.hpp"

#include <algorithm>
#include <utility>

namespace numsequence {

fibonacci_checksum_prefixes& fibonacci_checksum_prefixes::shared() {
  static fibonacci_checksum_prefixes table;
  return table;
}

std::optional<fibonacci_checksum_prefixes::prefix> fibonacci_checksum_prefixes::at_most(
    std::uint64_t n) const {
  const std::lock_guard lock(mutex_);
  const std::uint64_t usable = std::min<std::uint64_t>(n / spacing, states_.size());
  if (usable == 0)
    return std::nullopt;
  return prefix{usable * spacing, states_[usable - 1]};
}

bool fibonacci_checksum_prefixes::wants(std::uint64_t count) const noexcept {
  const std::size_t have = size_.load(std::memory_order_acquire);
  return count % spacing == 0 && have < max_entries && count / spacing == have + 1;
}

void fibonacci_checksum_prefixes::offer(std::uint64_t count,
                                        std::shared_ptr<const list_checksum_state> state) {
  const std::lock_guard lock(mutex_);
  if (!state || !wants(count))
    return;
  states_.push_back(std::move(state));
  size_.store(states_.size(), std::memory_order_release);
}

}  // namespace numsequence
