#pragma once
/// @brief What the store keeps of one session: a few dozen bytes, never the numbers.

#include <cstdint>
#include <optional>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/sequence.hpp"

namespace numsequence {

/// @brief Identifies one attachment of a session to one connection.
///
/// The store remembers the lease of the connection a session is live on; a
/// connection may park the session only while it still holds the current lease,
/// so a connection that lost a takeover cannot park a session now live elsewhere.
using lease_id = std::uint64_t;

/// @brief A session as the store keeps it.
struct session_record {
  sequence_params sequence;
  /// Set by FIN: the record is then only a completion record (id, n, batch, checksum).
  std::optional<md5_digest> completed_checksum;

  bool completed() const noexcept { return completed_checksum.has_value(); }
};

enum class store_status {
  ok,
  already_exists,  ///< create: a record (live, parked or completed) has this id
  not_found,       ///< no record, or it expired
  unavailable,     ///< the store cannot be reached
  full,            ///< create: the store holds its maximum number of sessions
};

/// @brief Result of session_store::async_attach.
struct attach_result {
  store_status status = store_status::not_found;
  session_record record;        ///< valid when status == ok
  lease_id previous_lease = 0;  ///< non-zero when the session was live: that attachment lost it
};

}  // namespace numsequence
