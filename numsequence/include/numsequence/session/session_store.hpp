#pragma once
/// @brief The abstract, asynchronous session store (spec §5).

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>

#include "numsequence/protocol/client_id.hpp"
#include "numsequence/session/session_record.hpp"

namespace numsequence {

/// @brief How many records a store holds, by state (for the sessions gauge).
struct session_counts {
  std::size_t live = 0;
  std::size_t parked = 0;
  std::size_t completed = 0;
  friend bool operator==(const session_counts&, const session_counts&) = default;
};

/// @brief Where sessions live between connections.
///
/// Lifecycle (spec §4): create makes a session live on the creating connection;
/// park starts its purge clock when that connection ends; attach makes it live
/// again (stopping the clock) or takes it over from another connection; complete
/// replaces it by a completion record that expires after the purge window. An
/// expired record is never returned. Implementations expire records with timers
/// or TTLs, never by scanning every session. A store whose live sessions carry a
/// TTL (so that a server that dies holding one does not keep it for ever) asks
/// for keep-alives through keep_alive_interval().
///
/// All operations are coroutines run on the caller's executor. They never throw
/// for store trouble: they report store_status::unavailable.
class session_store {
 public:
  virtual ~session_store() = default;

  /// @brief Creates the session live under `lease`, unless any record has its id.
  virtual asio::awaitable<store_status> async_create(const session_record& record,
                                                     lease_id lease) = 0;

  /// @brief Makes the session live under `lease` (from parked, live elsewhere, or completed).
  /// A completed record stays completed and keeps its expiry.
  virtual asio::awaitable<attach_result> async_attach(const client_id& id, lease_id lease) = 0;

  /// @brief Starts the purge clock, if `lease` still holds the session and it is not completed.
  /// A store that lost the session (a shared store restarted empty) keeps it, parked.
  virtual asio::awaitable<void> async_park(const session_record& record, lease_id lease) = 0;

  /// @brief Replaces the session by its completion record, expiring after the purge window.
  virtual asio::awaitable<store_status> async_complete(const client_id& id, lease_id lease,
                                                       const md5_digest& checksum) = 0;

  /// @brief How often a connection holding a live session must call async_keep_alive();
  /// nullopt for a store whose live sessions cannot expire (the in-memory store).
  virtual std::optional<std::chrono::steady_clock::duration> keep_alive_interval() const {
    return std::nullopt;
  }

  /// @brief Keeps a live session from expiring while `lease` holds it; a shared store
  /// rewrites a record it lost (restarted empty) from `record`.
  /// @return ok while `lease` holds the session; not_found once another attachment
  /// (on any server) took it over, or it completed; unavailable if the store is down.
  virtual asio::awaitable<store_status> async_keep_alive(const session_record& record,
                                                         lease_id lease) = 0;

  /// @brief The records held now, by state, if this store can tell without I/O; nullopt
  /// otherwise (the default). Thread-safe where the store is; called at metrics scrapes.
  virtual std::optional<session_counts> count_sessions() const { return std::nullopt; }
};

}  // namespace numsequence
