#include "numsequence/sequence/checksum_cache.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "numsequence/sequence/fibonacci.hpp"

namespace numsequence {

checksum_cache::checksum_cache(std::size_t capacity, std::uint64_t min_cached, compute_fn compute)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      min_cached_(min_cached),
      compute_(std::move(compute)) {}

std::shared_future<md5_digest> checksum_cache::find_or_claim(std::uint64_t n,
                                                             std::promise<md5_digest>& claim,
                                                             bool& claimed) {
  std::lock_guard lock(mutex_);
  ++clock_;
  for (auto& e : entries_) {
    if (e.n == n) {
      e.last_use = clock_;
      claimed = false;
      return e.value;
    }
  }
  // Not held: this caller computes it; callers for the same n meanwhile wait on its future.
  if (entries_.size() >= capacity_) {
    const auto oldest =
        std::min_element(entries_.begin(), entries_.end(),
                         [](const entry& a, const entry& b) { return a.last_use < b.last_use; });
    entries_.erase(oldest);  // a caller still waiting on it holds its own copy of the future
  }
  entries_.push_back(entry{n, claim.get_future().share(), clock_});
  ++computations_;
  claimed = true;
  return entries_.back().value;
}

void checksum_cache::forget(std::uint64_t n) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [n](const entry& e) { return e.n == n; });
}

md5_digest checksum_cache::get(std::uint64_t n) {
  if (n < min_cached_) {
    {
      std::lock_guard lock(mutex_);
      ++computations_;
    }
    return compute_(n);
  }
  std::promise<md5_digest> claim;
  bool claimed = false;
  const std::shared_future<md5_digest> value = find_or_claim(n, claim, claimed);
  if (claimed) {
    // Outside the lock: other values of n are served while this one is computed.
    try {
      claim.set_value(compute_(n));
    } catch (...) {
      forget(n);
      claim.set_exception(std::current_exception());
    }
  }
  return value.get();
}

std::uint64_t checksum_cache::computations() const {
  std::lock_guard lock(mutex_);
  return computations_;
}

std::size_t checksum_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

checksum_cache& fibonacci_checksum_cache() {
  static checksum_cache cache(64, 1000, [](std::uint64_t n) { return fibonacci_checksum(0, n); });
  return cache;
}

}  // namespace numsequence
