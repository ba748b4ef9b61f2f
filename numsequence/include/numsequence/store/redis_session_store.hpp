#pragma once
/// @brief A session_store shared through Redis: several servers, one session, any server.

#include <asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "numsequence/session/session_store.hpp"
#include "numsequence/store/redis_client.hpp"

namespace numsequence {

/// @brief session_store on Redis, with the in-memory store's semantics (spec §4-5).
///
/// One hash per session under `<prefix><client-id>` holding only what regenerates
/// the numbers: format version, mode, seed, n, batch, state (live, parked,
/// completed), the lease that holds it, and the checksum once completed. Every
/// transition is one Lua script, so it is atomic across servers: create-if-absent,
/// attach (taking over from whoever held it), park, complete, keep-alive.
///
/// Expiry is Redis's own key TTL: parked sessions and completion records get the
/// purge window; live sessions get it too (at least 1 s), refreshed by their
/// connection every third of it (keep_alive_interval()), so a session outlives a
/// server that dies holding it by about one purge window, and never expires under
/// a connected client. No scans, no polling.
///
/// Session limit: a sorted set `<prefix>index` holds every session key scored by the
/// time its TTL ends, maintained by the same scripts. Create drops the entries whose
/// time has passed, then answers store_status::full if the rest number max_sessions or
/// more: live, parked and completed sessions of every server sharing this Redis count.
/// Give every server the same limit; each enforces its own at its creates. A session
/// written back after a restart (below) is not a new one and is never refused.
///
/// If Redis restarts empty, a live session's next keep-alive or park writes it back
/// from the connection's copy; parked sessions and completion records are lost.
/// While Redis is unreachable, every operation reports store_status::unavailable.
class redis_session_store final : public session_store {
 public:
  using duration = std::chrono::steady_clock::duration;

  static constexpr const char* default_key_prefix = "numsequence:session:";

  /// @param max_sessions the most sessions (records) in Redis at once; 0 for no limit.
  redis_session_store(std::shared_ptr<redis_client> redis, duration purge_after,
                      std::string key_prefix = default_key_prefix, std::size_t max_sessions = 0);

  asio::awaitable<store_status> async_create(const session_record& record, lease_id lease) override;
  asio::awaitable<attach_result> async_attach(const client_id& id, lease_id lease) override;
  asio::awaitable<void> async_park(const session_record& record, lease_id lease) override;
  asio::awaitable<store_status> async_complete(const client_id& id, lease_id lease,
                                               const md5_digest& checksum) override;
  std::optional<duration> keep_alive_interval() const override;
  asio::awaitable<store_status> async_keep_alive(const session_record& record,
                                                 lease_id lease) override;

  redis_client& client() noexcept { return *redis_; }

 private:
  std::string key(const client_id& id) const;
  std::string purge_ttl_ms() const;  // parked sessions and completion records
  duration live_ttl() const;         // live sessions, refreshed by keep-alives
  std::string live_ttl_ms() const;

  std::shared_ptr<redis_client> redis_;
  duration purge_after_;
  std::string prefix_;
  std::string index_;  // the sorted set that counts the sessions (see the class comment)
  std::size_t max_sessions_;
  bool full_reported_ = false;  // one thread per store: no lock
};

}  // namespace numsequence
