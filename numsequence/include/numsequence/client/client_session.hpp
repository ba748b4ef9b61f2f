#pragma once
/// @brief What the resuming client says and does on each connection, without any I/O.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "numsequence/client/client.hpp"
#include "numsequence/client/state_file.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/sequence/fibonacci.hpp"

namespace numsequence {

/// @brief The client's side of the protocol (protocol.md §10) for one session, over as
/// many connection attempts as it takes.
///
/// The I/O layer feeds it what happened on a connection (it connected, a frame or a parsed
/// message arrived, the bytes were not a message, the connection was lost); it appends the
/// bytes to send to `out` and answers with the next action. It owns every rule of the
/// exchange: the hello (INIT for a session never sent, CONT otherwise), the late-INIT rule,
/// which refusals are transient, the pipeline window, the NUM size check, storing numbers
/// into the client_state, and the checksum at the end. It writes the transcript and reports
/// progress through the callbacks of client_options. Sockets, deadlines, back-off, server
/// rotation and the state file are the caller's.
///
/// A Fibonacci session (state.kind) names its kind in INIT and takes each NUM as text:
/// the numbers must be byte for byte the client's own (computed with a fibonacci_cursor),
/// and only which batches arrived is kept. A NUM that differs is a bad reply, as a NUM of
/// the wrong size is.
///
/// What carries over between attempts: whether an INIT may have reached the server (then
/// the next hello is CONT), whether one was ever sent (then "already exist" may answer our
/// own INIT), and the batches in the state.
///
/// @code
/// client_session session(state, options, client_session::origin::new_session);
/// std::string out;
/// auto a = session.on_connected(out);        // out: "INIT,…;RECV,0;RECV,1;…"
/// // write out, read a frame:
/// out.clear();
/// a = session.on_frame("ACK", out);          // action::save_then_send: acknowledged
/// // save the state file, write out (empty: no refill is due yet), read a frame:
/// out.clear();
/// a = session.on_frame("NUM,6:41:81:68:68", out);  // action::send, maybe more RECVs
/// @endcode
///
/// Lifetime: `state` and `options` must outlive the session, which writes `state` as
/// batches arrive. Not thread-safe; one I/O coroutine drives it.
class client_session {
 public:
  /// @brief Where the state came from, which says whether an INIT may be on its way.
  enum class origin {
    new_session,  ///< a fresh state: no INIT has been sent for it
    resumed,      ///< a state file: unless acknowledged, an earlier run's INIT may have arrived
  };

  /// @brief What the caller does next.
  enum class action {
    send,            ///< write `out` (it may be empty), then read and feed the next message
    save_then_send,  ///< save the state file first (a milestone: the ACK, or FIN about to go,
                     ///< after which the server refuses RECV), then as send
    done,            ///< the attempt is over: close the connection, see last_attempt()
  };

  /// @brief How a connection attempt ended.
  enum class attempt_outcome {
    completed,  ///< FAC received; result() has the sum and the checksum check
    refused,    ///< an ERR that retrying will not change; result() has its text
    lost,       ///< lost, unreadable, unexpected or transient: resume on a new connection
  };

  /// @brief The end of one attempt, as the caller's retry policy needs it.
  struct attempt_end {
    attempt_outcome outcome = attempt_outcome::lost;
    /// At least one NUM was stored in this attempt: the server dropped a working
    /// connection, which is not a failure (resume at once).
    bool progressed = false;
    /// Why it was lost (for a note, or the give-up message); empty otherwise.
    std::string error;
  };

  /// @brief A session over `state` (fresh, or loaded from a state file), using the pipeline
  /// window and the transcript and progress callbacks of `options`.
  client_session(client_state& state, const client_options& options, origin from);

  /// @brief A connection is open: appends the hello and, with a pipeline window over 1,
  /// the first RECVs of the window. Starts a new attempt.
  action on_connected(std::string& out);
  /// @brief A frame (without its `;`) read from the server: writes `Received: <frame>;` to
  /// the transcript, parses it, and goes on as on_message() or on_frame_error().
  action on_frame(std::string_view frame, std::string& out);
  /// @brief A message from the server. Outside an attempt (before on_connected(), or after
  /// an event answered action::done) nothing was asked: it is ignored, answering done.
  action on_message(const server_message& message, std::string& out);
  /// @brief The server's bytes are not a message (too long, unreadable): the attempt is lost.
  action on_frame_error(std::error_code error);
  /// @brief The connection failed or dropped (`reason` says how). Also valid before
  /// on_connected(), for an attempt that never connected (it then made no progress).
  action on_connection_lost(std::string reason);

  /// @brief How the last attempt ended; meaningful once an event answered action::done.
  const attempt_end& last_attempt() const noexcept { return last_; }
  /// @brief The session's result so far: id, n and batch; sum, checksums and outcome once
  /// completed; the ERR text once refused. The caller adds reconnects, and gave_up.
  const client_result& result() const noexcept { return result_; }

  /// @brief The session changed the state since it was constructed or last saved().
  bool unsaved() const noexcept { return unsaved_; }
  /// @brief The caller wrote the state file.
  void saved() noexcept { unsaved_ = false; }

  /// @brief The longest frame a reply of this session can be: a NUM of a whole batch. For a
  /// Fibonacci session, every number of a batch counted as wide as the session's last, F(n-1).
  std::size_t max_frame() const noexcept { return max_frame_; }
  /// @brief The next hello would be INIT.
  bool next_hello_is_init() const noexcept { return !state_.acknowledged && !init_maybe_sent_; }

 private:
  enum class phase { disconnected, awaiting_ack, transferring, awaiting_fac };

  action on_ack_reply(const server_message& message, std::string& out);
  action on_num_reply(const server_message& message, std::string& out);
  action on_fibonacci_num(std::string_view numbers, std::string& out);
  bool is_fibonacci_batch(std::uint32_t k, std::string_view numbers);
  action batch_stored(std::uint32_t k, std::string& out);
  action on_fac_reply(const server_message& message);
  action on_hello_refused(const err_message& err);
  action refused_by(const err_message& err);
  action advance(std::string& out);
  void fill_window(std::string& out);
  action end(attempt_outcome outcome, std::string error = {});
  action unexpected(std::string_view expected);
  void finish();

  void transcript(std::string_view line) const;
  void transcript_sent(std::string_view bytes) const;

  client_state& state_;
  const client_options& options_;
  client_result result_;
  // Carried over between attempts.
  bool init_maybe_sent_;  // an INIT may have reached the server: the next hello is CONT
  bool init_ever_sent_;   // one may have left in this run or an earlier one
  bool unsaved_ = false;
  attempt_end last_;
  // This attempt.
  phase phase_ = phase::disconnected;
  bool sent_init_ = false;               // this attempt's hello was INIT
  bool earlier_init_ = false;            // init_ever_sent_ when this attempt began
  std::deque<std::uint32_t> in_flight_;  // RECVs sent, in order; replies come back in order
  std::uint32_t next_ = 0;               // next batch to request or skip
  bool progressed_ = false;
  server_message reply_;  // parsed into, so NUM replies reuse one vector
  std::size_t max_frame_;
  // Fibonacci sessions: the client's own numbers, positioned at the batch expected next.
  std::optional<fibonacci_cursor> expected_;
  std::string digits_;  // one expected number, reused
};

}  // namespace numsequence
