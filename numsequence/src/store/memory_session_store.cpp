#include "numsequence/store/memory_session_store.hpp"

#include <utility>

#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"

namespace numsequence {

memory_session_store::memory_session_store(asio::any_io_executor executor,
                                           clock::duration purge_after,
                                           std::function<void(const client_id&)> on_purge,
                                           std::size_t max_sessions)
    : purge_after_(purge_after),
      on_purge_(std::move(on_purge)),
      max_sessions_(max_sessions),
      timer_(std::move(executor)) {}

memory_session_store::~memory_session_store() {
  timer_.cancel();
}

session_record memory_session_store::record_of(const client_id& id, const entry& e) {
  session_record r;
  r.sequence.mode = e.mode;
  r.sequence.seed = e.seed;
  r.sequence.id = id;
  r.sequence.n = e.n;
  r.sequence.batch = e.batch;
  r.completed_checksum = e.completed_checksum;
  return r;
}

std::size_t& memory_session_store::count_of(const entry& e) noexcept {
  if (e.live)
    return counts_.live;
  return e.completed() ? counts_.completed : counts_.parked;
}

bool memory_session_store::expired(const entry& e, clock::time_point now) const noexcept {
  return !e.live && e.expires <= now;
}

asio::awaitable<store_status> memory_session_store::async_create(const session_record& record,
                                                                 lease_id lease) {
  std::vector<client_id> purged;
  std::unique_lock lock(mutex_);
  const auto now = clock::now();
  auto it = sessions_.find(record.sequence.id);
  if (it != sessions_.end()) {
    // An expired record the timer has not collected yet is as good as gone; replacing
    // it does not change the count, so the limit does not apply.
    if (!expired(it->second, now))
      co_return store_status::already_exists;
    ++it->second.generation;  // its heap entry is now stale
    --count_of(it->second);
  } else {
    if (max_sessions_ != 0 && sessions_.size() >= max_sessions_) {
      // Records past their deadline count as gone: collect them before refusing, as the
      // timer would a moment later (only due deadlines are popped, no scan).
      erase_expired(now, purged);
      if (sessions_.size() >= max_sessions_) {
        // Once per episode, not per refused INIT: a full store under load would flood the log.
        const bool report_full = !full_reported_;
        full_reported_ = true;
        lock.unlock();
        report_purged(purged);
        if (report_full) {
          log(log_level::warning,
              "session limit reached: new sessions are refused until records expire",
              log_field("max_sessions", max_sessions_));
        }
        co_return store_status::full;
      }
    }
    it = sessions_.try_emplace(record.sequence.id).first;
    full_reported_ = false;
  }
  entry& e = it->second;
  e.mode = record.sequence.mode;
  e.seed = record.sequence.seed;
  e.n = record.sequence.n;
  e.batch = record.sequence.batch;
  e.completed_checksum.reset();
  e.lease = lease;
  e.live = true;
  ++counts_.live;
  lock.unlock();
  report_purged(purged);
  co_return store_status::ok;
}

asio::awaitable<attach_result> memory_session_store::async_attach(const client_id& id,
                                                                  lease_id lease) {
  std::lock_guard lock(mutex_);
  attach_result result;
  auto it = sessions_.find(id);
  if (it == sessions_.end() || expired(it->second, clock::now())) {
    result.status = store_status::not_found;
    co_return result;
  }
  entry& e = it->second;
  result.status = store_status::ok;
  result.record = record_of(it->first, e);
  // A completion record is immutable and keeps the expiry FIN gave it.
  if (!e.completed()) {
    if (e.live)
      result.previous_lease = e.lease;
    --count_of(e);
    e.lease = lease;
    e.live = true;
    ++counts_.live;
    ++e.generation;  // stops the purge clock: the pending deadline no longer matches
  }
  co_return result;
}

asio::awaitable<void> memory_session_store::async_park(const session_record& record,
                                                       lease_id lease) {
  const client_id& id = record.sequence.id;
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    co_return;
  entry& e = it->second;
  // Only the attachment that holds the session parks it: a connection that lost a
  // takeover must not start the clock under the connection that won it.
  if (!e.live || e.lease != lease || e.completed())
    co_return;
  e.live = false;
  --counts_.live;
  ++counts_.parked;
  start_clock(it->first, e, clock::now());
  co_return;
}

asio::awaitable<store_status> memory_session_store::async_complete(const client_id& id,
                                                                   lease_id /*lease*/,
                                                                   const md5_digest& checksum) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    co_return store_status::not_found;
  entry& e = it->second;
  // Completion is accepted from any attachment: the checksum is a pure function of
  // the session, so whoever computes it records the same value.
  if (e.completed())
    co_return store_status::ok;
  --count_of(e);
  e.completed_checksum = checksum;
  e.live = false;
  ++counts_.completed;
  start_clock(it->first, e, clock::now());
  co_return store_status::ok;
}

asio::awaitable<store_status> memory_session_store::async_keep_alive(const session_record& record,
                                                                     lease_id lease) {
  // Live sessions never expire here; this only tells whether the lease still holds.
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(record.sequence.id);
  const bool held = it != sessions_.end() && it->second.live && it->second.lease == lease &&
                    !it->second.completed();
  co_return held ? store_status::ok : store_status::not_found;
}

std::size_t memory_session_store::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::optional<session_counts> memory_session_store::count_sessions() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void memory_session_store::start_clock(const client_id& key, entry& e, clock::time_point now) {
  e.expires = now + purge_after_;
  ++e.generation;
  deadlines_.push({e.expires, &key, e.generation});
  arm_timer();
}

void memory_session_store::arm_timer() {
  if (deadlines_.empty())
    return;
  const auto next = deadlines_.top().when;
  // Deadlines only ever move later for a fixed purge window, so the timer is
  // re-armed only when a nearer deadline appears (or after it fires).
  if (next >= armed_for_)
    return;
  armed_for_ = next;
  timer_.expires_at(next);
  timer_.async_wait([this](std::error_code ec) {
    // Aborted waits come from re-arming or from the destructor: touch nothing.
    if (ec)
      return;
    collect_expired();
  });
}

void memory_session_store::collect_expired() {
  std::vector<client_id> purged;
  {
    std::lock_guard lock(mutex_);
    armed_for_ = clock::time_point::max();
    erase_expired(clock::now(), purged);
    arm_timer();
  }
  report_purged(purged);
}

void memory_session_store::erase_expired(clock::time_point now, std::vector<client_id>& purged) {
  while (!deadlines_.empty() && deadlines_.top().when <= now) {
    const deadline d = deadlines_.top();
    deadlines_.pop();
    auto it = sessions_.find(*d.id);
    // A stale deadline (the session was reattached, re-parked or replaced) is skipped.
    if (it == sessions_.end() || it->second.generation != d.generation ||
        !expired(it->second, now)) {
      continue;
    }
    purged.push_back(it->first);
    --count_of(it->second);
    sessions_.erase(it);
  }
}

void memory_session_store::report_purged(const std::vector<client_id>& purged) const {
  // Outside the mutex: the callback logs, and must not hold up other threads' operations.
  if (on_purge_) {
    for (const auto& id : purged)
      on_purge_(id);
  }
}

}  // namespace numsequence
