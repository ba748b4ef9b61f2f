#include "numsequence/http/response_cache.hpp"

namespace numsequence {

response_cache::response_cache(std::size_t capacity_bytes, std::size_t max_entry_share)
    : capacity_(capacity_bytes), max_entry_share_(max_entry_share == 0 ? 1 : max_entry_share) {
  stats_.capacity = capacity_bytes;
}

std::shared_ptr<const std::string> response_cache::find(std::string_view key) {
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  if (found == index_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, found->second);  // iterators (and the key view) stay valid
  return found->second->body;
}

bool response_cache::insert(std::string_view key, std::shared_ptr<const std::string> body) {
  if (body == nullptr)
    return false;
  const std::size_t cost = charge(key.size(), body->size());
  // The entry is built outside the lock: copying the key allocates.
  lru_list node;
  node.push_back(entry{std::string(key), std::move(body), cost});
  // Entries leaving the cache are freed after the lock is released (declared before it).
  lru_list dropped;
  const std::lock_guard lock(mutex_);
  if (capacity_ == 0 || cost > max_entry_bytes()) {
    ++stats_.rejected;
    return false;
  }
  if (const auto old = index_.find(key); old != index_.end())
    unlink(old->second, dropped);
  while (stats_.bytes + cost > capacity_ && !lru_.empty()) {
    unlink(std::prev(lru_.end()), dropped);
    ++stats_.evictions;
  }
  lru_.splice(lru_.begin(), node);
  index_.emplace(lru_.front().key, lru_.begin());
  stats_.bytes += cost;
  ++stats_.entries;
  ++stats_.insertions;
  return true;
}

void response_cache::unlink(lru_list::iterator it, lru_list& dropped) {
  index_.erase(it->key);
  stats_.bytes -= it->charge;
  --stats_.entries;
  dropped.splice(dropped.end(), lru_, it);
}

bool response_cache::claim_fill(std::string_view key, std::size_t body_bytes) {
  const std::size_t cost = charge(key.size(), body_bytes);
  const std::lock_guard lock(mutex_);
  if (capacity_ == 0 || cost > max_entry_bytes() || filling_bytes_ + body_bytes > capacity_)
    return false;
  if (index_.contains(key) || filling_.contains(key))
    return false;
  if (const auto noted = noted_.find(key); noted != noted_.end()) {
    noted_.erase(noted);
  } else {
    if (noted_.size() >= noted_keys_limit)
      noted_.clear();
    noted_.emplace(key);
    return false;
  }
  filling_.emplace(std::string(key), body_bytes);
  filling_bytes_ += body_bytes;
  return true;
}

void response_cache::release_fill(std::string_view key) {
  const std::lock_guard lock(mutex_);
  if (const auto it = filling_.find(key); it != filling_.end()) {
    filling_bytes_ -= it->second;
    filling_.erase(it);
    // An abandoned fill keeps its admission: the next reader may claim the key at once.
    if (!index_.contains(key) && noted_.size() < noted_keys_limit)
      noted_.emplace(key);
  }
}

void response_cache::clear() {
  lru_list dropped;  // bodies released after the lock
  const std::lock_guard lock(mutex_);
  index_.clear();
  dropped.swap(lru_);
  stats_.bytes = 0;
  stats_.entries = 0;
}

response_cache_stats response_cache::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace numsequence
