#pragma once
/// @brief What each message does to a connection and its session, without any I/O.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>

#include "numsequence/protocol/message.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/sequence/sequence.hpp"
#include "numsequence/session/session_record.hpp"

namespace numsequence {

/// @brief How sessions are seeded and limited; the server's mode.
struct session_policy {
  bool test_mode = false;
  /// Seeds normal-mode sessions. Called once per INIT.
  std::function<std::uint64_t(const client_id&)> make_seed;
  /// A NUM reply with more numbers than this is produced in pieces of this many numbers
  /// (continue_reply()), so that a 65535-number batch never sits whole in memory. At
  /// least 1. Random sessions only: Fibonacci numbers vary in size, see below.
  std::uint32_t numbers_per_piece = 4096;
  /// The largest n of a Fibonacci session (`--max-fibonacci`); a larger INIT is refused.
  std::uint64_t max_fibonacci = default_max_fibonacci;
  /// A Fibonacci NUM is produced in pieces of about this many bytes (a piece ends after the
  /// number that reaches it; a number is never split): one batch of 1,000 numbers near
  /// F(25,000) is 5 MB. At least 1.
  std::size_t fibonacci_bytes_per_piece = 32 * 1024;
};

/// @brief The protocol state machine of one connection (spec §2, §4).
///
/// The I/O layer feeds it what happened (a parsed message, a decode error, the
/// result of a store operation); it appends any reply bytes to `out` and answers
/// with the next action. Store operations are requested, not performed: the
/// caller runs them and feeds back the result. So every rule is testable by
/// feeding events and asserting actions and bytes.
///
/// Order on a connection: exactly one INIT or CONT, then RECV in any order, then
/// FIN. Anything else gets one `ERR,<reason>;` and the action close.
class connection_rules {
 public:
  enum class action {
    proceed,           ///< flush `out` if you like, then read the next message
    close,             ///< flush `out`, then close the connection
    create_session,    ///< run store.async_create(pending_record(), lease()), then on_created()
    attach_session,    ///< run store.async_attach(pending_id(), lease()), then on_attached()
    complete_session,  ///< run store.async_complete(id, lease(), checksum), then on_completed()
  };

  connection_rules(session_policy policy, lease_id lease);

  /// @brief Must not be called while reply_unfinished().
  action on_message(const client_message& message, std::string& out);

  /// @brief True while a NUM reply has numbers left that continue_reply() has to append
  /// (only for batches larger than the policy's numbers_per_piece, or Fibonacci batches of
  /// more than its fibonacci_bytes_per_piece). The caller may write `out` between pieces,
  /// but the reply is in progress until this is false.
  bool reply_unfinished() const noexcept { return reply_next_ < reply_end_; }
  /// @brief Appends the next piece of the unfinished NUM reply (the last one ends with `;`):
  /// numbers_per_piece numbers, or for a Fibonacci session numbers until `out` has grown by
  /// fibonacci_bytes_per_piece.
  void continue_reply(std::string& out);
  /// @brief The peer sent bytes that are not a message; always closes. Answers with one
  /// ERR, or with nothing when the connection is already closed.
  action on_decode_error(std::error_code error, std::string& out);

  action on_created(store_status status, std::string& out);
  action on_attached(const attach_result& result, std::string& out);
  action on_completed(store_status status, std::string& out);

  /// @brief True if `m` would be answered with NUM (not an error), so that the caller can
  /// pace NUM replies (--interval) without pacing errors.
  bool answers_with_numbers(const recv_message& m) const noexcept {
    return phase_ == phase::attached && !completed_ && m.index < pending_.sequence.batch_count();
  }

  lease_id lease() const noexcept { return lease_; }
  /// @brief With create_session: the record to create.
  const session_record& pending_record() const noexcept { return pending_; }
  /// @brief With attach_session or complete_session: the session's id.
  const client_id& pending_id() const noexcept { return pending_.sequence.id; }
  /// @brief With complete_session: the checksum to record.
  const md5_digest& pending_checksum() const noexcept { return checksum_; }

  /// @brief True once INIT or CONT succeeded on a session that is not completed: the
  /// session then belongs to this connection (until a takeover), and the caller parks
  /// it when the connection ends, however it ends.
  bool owns_session() const noexcept { return owns_session_; }
  /// @brief True once the session is completed (by this connection or before).
  bool completed() const noexcept { return completed_; }
  std::optional<client_id> session_id() const;

 private:
  enum class phase { expecting_hello, creating, attaching, attached, completing, closed };

  action on_hello(const client_message& message, std::string& out);
  action on_init(const init_message& m, std::string& out);
  action on_session_message(const client_message& message, std::string& out);
  action on_recv(const recv_message& m, std::string& out);
  action on_fin(std::string& out);
  void start_fibonacci_reply(std::uint32_t begin, std::uint32_t count, std::string& out);
  void append_fibonacci_piece(std::string& out, bool first);
  action refuse(std::error_code error, std::string& out);
  action refuse(std::string_view text, std::string& out);

  session_policy policy_;
  lease_id lease_;
  phase phase_ = phase::expecting_hello;
  session_record pending_;
  std::optional<sequence_generator> generator_;
  bool owns_session_ = false;
  bool completed_ = false;
  md5_digest checksum_{};
  // The unfinished NUM reply: numbers reply_next_ … reply_end_ - 1 are still to append.
  std::uint32_t reply_next_ = 0;
  std::uint32_t reply_end_ = 0;
};

}  // namespace numsequence
