#pragma once
/// @brief The context fields of the library's log lines: one spelling of each key, and how a
/// client id and a lease are shown.
///
/// @code
/// log(log_level::info, "session created", log_field(log_key::client, redacted_client(id)),
///     log_field(log_key::session, hex64{lease}), log_field(log_key::remote, endpoint));
/// // text: ... info: session created client=123e4567 session=5f0c2a9e00000003
/// remote=127.0.0.1:40312
/// @endcode
/// Every key has one meaning wherever it appears, so that a query such as `client=123e4567`
/// finds every line of one session, whichever part of the server wrote it.

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string_view>

#include "numsequence/protocol/client_id.hpp"

namespace numsequence {

/// @brief The keys of the context fields.
namespace log_key {
/// The peer of a connection, `HOST:PORT` (`[v6]:PORT` for IPv6).
inline constexpr std::string_view remote = "remote";
/// A client id, shortened by redacted_client(): the full id is a session's only credential.
inline constexpr std::string_view client = "client";
/// A lease (hex64): one attachment of a session to a connection, unique per INIT or CONT, so
/// the lines of one connection's session share it and a takeover names both.
inline constexpr std::string_view session = "session";
/// What went wrong, as text (an error code's message, an exception's what()).
inline constexpr std::string_view error = "error";
/// The connection's protocol: tcp, http or websocket (name_of(metric_transport)).
inline constexpr std::string_view transport = "transport";
}  // namespace log_key

/// @brief A client id as log lines show it: its first 8 characters, nothing that would let a
/// reader of the log take the session over. Views `id`'s storage.
inline std::string_view redacted_client(const client_id& id) noexcept {
  return id.view().substr(0, 8);
}

/// @brief A 64-bit id written as 16 lower-case hex digits (a lease in the `session` field):
/// as text, not as a JSON number, which many readers hold in a double.
struct hex64 {
  std::uint64_t value = 0;

  friend std::ostream& operator<<(std::ostream& out, hex64 h) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h.value));
    return out << std::string_view(text, 16);
  }
};

}  // namespace numsequence
