#pragma once
/// @brief One connection of the resumable protocol, without I/O: bytes in, steps out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/protocol/framed_reader.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/server/connection_lifetime.hpp"
#include "numsequence/server/io_step.hpp"
#include "numsequence/session/session_rules.hpp"

namespace numsequence {

class metrics_shard;

/// @brief What a session_connection needs from the server's configuration.
struct session_connection_config {
  std::size_t max_message = 256;                   ///< longest message accepted, without its `;`
  std::size_t output_buffer = 64 * 1024;           ///< replies gathered up to this, then written
  std::chrono::steady_clock::duration interval{};  ///< pause before each NUM (pacing)
  connection_timeouts timeouts;
};

/// @brief A connection of the resumable protocol as a state machine that does no I/O.
///
/// It owns everything about a connection but the socket and the clock: the framed reader,
/// the protocol rules (connection_rules), the gathered replies and their flush threshold,
/// the pieces of a large NUM, the pacing of NUM replies, and when to close
/// (connection_lifetime). The I/O side is a short loop: ask next(), carry out the step it
/// names, report the outcome, ask again. Every rule of a connection is so testable by
/// feeding bytes and results and asserting steps and bytes.
///
/// @code
/// for (;;) switch (c.next(now())) {
///   case step::read:  c.feed(bytes read); break;          // or reader().prepare/commit
///   case step::write: write c.output(); c.written(); break;
///   case step::store: run c.store_action(); c.on_created(...) / on_attached / on_completed;
///   case step::pause: wait the interval; c.paused(); break;
///   case step::close: close the socket; return;
/// }
/// @endcode
class session_connection {
 public:
  using clock = std::chrono::steady_clock;
  using action = connection_rules::action;

  /// @brief What the I/O side does next: read, write, store, pause or close.
  using step = io_step;

  session_connection(const session_connection_config& config, session_policy policy, lease_id lease,
                     clock::time_point now);

  /// @brief Processes what it holds until the I/O side has to act.
  step next(clock::time_point now);

  /// @brief Lends bytes just read (see framed_reader::feed); they are used or copied
  /// before next() returns, so the caller's buffer may then be reused.
  void feed(std::string_view bytes) { reader_.feed(bytes); }
  /// @brief For reading straight into the connection (TLS): prepare(), read, commit().
  std::span<char> prepare(std::size_t n) { return reader_.prepare(n); }
  void commit(std::size_t n) noexcept { reader_.commit(n); }
  /// @brief The framed reader (tests look at what it holds).
  const framed_reader& reader() const noexcept { return reader_; }
  /// @brief With step::read: the connection waits for its peer. Memory it does not need
  /// while waiting (an empty read buffer, a large reply buffer) is released.
  void idle() noexcept;

  /// @brief With step::write: the bytes to write.
  std::string_view output() const noexcept { return output_; }
  /// @brief The output was written, all of it.
  void written();

  /// @brief With step::store: create_session, attach_session or complete_session.
  action store_action() const noexcept { return pending_action_; }
  void on_created(store_status status);
  void on_attached(const attach_result& result);
  void on_completed(store_status status);

  /// @brief With step::pause: the interval has passed.
  void paused() noexcept;

  /// @brief Counts into `shard` from now on (null, the default: counts nothing): each message
  /// parsed (numsequence_messages_total), each ERR reply by its code (errors_total), and the
  /// time to answer one frame in metrics_shard::reply_sample_interval (reply_seconds: from
  /// the `now` of the next() that parsed it to the written() that completed its reply). The
  /// I/O side passes the shard of the thread it runs on; the shard must outlive the
  /// connection.
  void count_into(metrics_shard* shard) noexcept;

  /// @brief The protocol state (session, lease, ownership).
  const connection_rules& rules() const noexcept { return rules_; }
  /// @brief Timers and close policy: deadline(), on_deadline(), request_close().
  connection_lifetime& lifetime() noexcept { return lifetime_; }
  const connection_lifetime& lifetime() const noexcept { return lifetime_; }

 private:
  /// Where the connection is between two steps.
  enum class phase : std::uint8_t {
    reading,     ///< taking frames from the reader
    pause_due,   ///< a NUM must wait for the interval (after what is gathered is written)
    pausing,     ///< the I/O side is waiting the interval
    pause_done,  ///< the interval passed: the NUM can be produced
    storing,     ///< a store operation is in flight
    replying,    ///< a large NUM is produced a piece at a time
    closing,     ///< the last replies are gathered: write them, then close
  };

  std::optional<step> take_frame(clock::time_point now);
  void answer(action next);
  /// The reply appended at reply_at_, if it is an ERR, is counted by its code. Every reply but
  /// ERR starts with another letter (ACK, NUM, FAC): one byte tells, so a RECV's NUM costs a
  /// comparison here.
  void count_err_reply() {
    // reply_at_ <= size(), and data()[size()] is the terminating '\0': no bounds test needed.
    if (output_.data()[reply_at_] == 'E')
      count_err();
  }
  void count_err();
  void count_reply_time();
  step wait_for_bytes(clock::time_point now);
  step write_step(clock::time_point now);

  const session_connection_config& config_;  // the server's, shared by its connections
  framed_reader reader_;
  connection_rules rules_;
  connection_lifetime lifetime_;
  // One message for the connection's life, holding a RECV: the parser refills it in place
  // for RECV, the common case, instead of building a variant per frame.
  client_message message_{std::in_place_type<recv_message>};
  std::string output_;
  action pending_action_ = action::proceed;
  phase phase_ = phase::reading;
  metrics_shard* shard_;             // never null: without a shard, one that nobody reads
  std::size_t reply_at_ = 0;         // where the reply being produced starts in output_
  clock::time_point timed_since_{};  // the message being timed was parsed then; {}: none
};

}  // namespace numsequence
