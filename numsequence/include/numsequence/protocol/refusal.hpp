#pragma once
/// @brief Refusals: the server's answers that end or limit a session, as codes.
///
/// A refusal is what the server decides about a well-formed request (the session exists
/// already, does not exist, the store is down, the server is full); a protocol_errc is what
/// is wrong with the bytes. Both travel as `ERR,<text>;`. The texts are contract (the
/// reference prints the first three), so they are written in one place, here, and a client
/// turns a received text back into its code with classify_err() instead of matching text.

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace numsequence {

enum class refusal {
  already_exists = 1,   ///< `<id> already exist` (INIT for an id that has a session); closes
  does_not_exist,       ///< `Client-id: <id> does not exist` (CONT for no session); closes
  invalid_batch_index,  ///< `Invalid batch index requested: <k>`; the connection stays open
  store_unavailable,    ///< `session store unavailable`: not now, try again; closes
  too_many_sessions,    ///< the server's session limit is reached; closes
  server_busy,          ///< `server busy`: the connection limit is reached; closes
  /// `n too large for fibonacci (at most <limit> on this server)`: INIT of a Fibonacci
  /// session above `--max-fibonacci`; closes
  fibonacci_too_large,
};

/// @brief The last refusal, for code that walks every value.
inline constexpr refusal last_refusal = refusal::fibonacci_too_large;

/// @brief The category of refusal codes. Its message() is the wire text; where the wire text
/// names the session or the batch index, message() leaves that out (refusal_text() puts it in).
const std::error_category& refusal_category() noexcept;

inline std::error_code make_error_code(refusal r) noexcept {
  return {static_cast<int>(r), refusal_category()};
}

/// @brief The text sent in `ERR,<text>;`. `subject` is the client id (already_exists,
/// does_not_exist), the batch index as sent (invalid_batch_index) or the server's limit in
/// decimal (fibonacci_too_large); ignored otherwise.
std::string refusal_text(refusal r, std::string_view subject = {});

/// @brief Appends `ERR,<refusal_text(r, subject)>;`.
void append_refusal(std::string& out, refusal r, std::string_view subject = {});

/// @brief True for refusals that say "not now" rather than "no": a client backs off and
/// tries again (the store is down, the server is full of connections).
bool is_transient(refusal r) noexcept;

/// @brief The code of a received ERR text: a refusal, a protocol_errc (the server's
/// complaint about our bytes), or an empty code for a text this version does not know.
std::error_code classify_err(std::string_view text);

}  // namespace numsequence

template <>
struct std::is_error_code_enum<numsequence::refusal> : std::true_type {};
