#pragma once
/// @brief One WebSocket connection of the server (`/v1/stream`), without I/O.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "numsequence/protocol/input_buffer.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/server/connection_lifetime.hpp"
#include "numsequence/server/io_step.hpp"
#include "numsequence/websocket/endpoint.hpp"
#include "numsequence/websocket/stream_answer.hpp"

namespace numsequence {

/// @brief What a websocket_connection needs from the server's configuration.
struct websocket_connection_config {
  endpoint_limits endpoint;
  std::uint64_t max_fibonacci = default_max_fibonacci;
  std::size_t frame_budget = default_frame_budget;
  /// idle: a socket on which the client sends no request for this long is closed. A person
  /// decides when to ask for the next computation, so this is long (minutes), unlike HTTP's.
  connection_timeouts timeouts;
  /// Test only: drop the socket (no close frame, as a network failure would) once this many
  /// answer frames have been written on it; 0, the default, never. Lets tests cut a stream
  /// mid-way.
  std::size_t drop_after_frames = 0;
};

/// @brief A WebSocket connection as a state machine that does no I/O, in the shape of
/// session_connection and http_connection (io_step: read, write, close).
///
/// Requests are answered one after another, each a sequence of numbers frames and a `done`
/// frame (stream_answer); a bad request gets an error frame and the socket stays open.
/// Backpressure: the next answer frame is produced only while the endpoint's unwritten output
/// is below its low-water mark, so a reader that stops reading stops the answer and the
/// connection holds a bounded amount whatever n is. Requests that arrive during an answer wait
/// in the endpoint (a bounded number of them). Protocol violations close with the RFC's codes
/// (websocket_endpoint). A close asked for by the server (it stops) lets the answer in progress
/// finish, then sends 1001 (going away).
class websocket_connection {
 public:
  using clock = std::chrono::steady_clock;

  /// @brief `config` is the server's and must outlive the connection.
  websocket_connection(const websocket_connection_config& config, clock::time_point now);
  websocket_connection(const websocket_connection&) = delete;
  websocket_connection& operator=(const websocket_connection&) = delete;

  /// @brief Processes what it holds until the I/O side has to act.
  io_step next(clock::time_point now);

  /// @brief Bytes just read: the endpoint takes them all at once.
  void feed(std::string_view bytes) { endpoint_.feed(bytes); }
  /// @brief For reading into the connection (TLS): prepare(), read, commit().
  std::span<char> prepare(std::size_t n) { return input_.prepare(n); }
  void commit(std::size_t n);
  /// @brief With io_step::read: nothing to give back (the endpoint keeps no read buffer).
  void idle() noexcept { input_.release_if_empty(); }

  /// @brief With io_step::write: the bytes to write.
  std::string_view output() const noexcept { return endpoint_.output(); }
  /// @brief The output was written, all of it.
  void written() noexcept { endpoint_.consume_output(writing_); }

  connection_lifetime& lifetime() noexcept { return lifetime_; }
  const connection_lifetime& lifetime() const noexcept { return lifetime_; }

  /// @brief The server goes away (it stops) while the socket waits for a request: queues the
  /// 1001 close frame in output(). Once at most; nothing if the socket is closing already.
  void going_away();

  /// @brief Requests answered so far (errors included).
  std::uint64_t requests() const noexcept { return requests_; }

  /// @brief Once the endpoint closes: the event that says how (the code sent or received,
  /// by whom, why); nullopt while it is open.
  const std::optional<endpoint_event>& close_event() const noexcept { return close_event_; }
  /// @brief True when this side closed because the peer broke the protocol or a limit (any
  /// code it sent but 1000 and 1001): numsequence_errors_total{reason="websocket_close"}.
  bool closed_by_error() const noexcept;

 private:
  void take_request(clock::time_point now);
  void take_close_event();
  void produce_frames();
  io_step write_step(clock::time_point now);
  bool dropping() const noexcept {
    return config_.drop_after_frames != 0 && frames_ >= config_.drop_after_frames;
  }

  const websocket_connection_config& config_;
  websocket_endpoint endpoint_;
  input_buffer input_;  // only for reads into the connection (prepare/commit)
  connection_lifetime lifetime_;
  std::optional<stream_answer> answer_;  // the request being answered
  std::string frame_;                    // the answer's frame being queued
  std::size_t writing_ = 0;              // bytes of output() handed to the I/O side
  std::size_t frames_ = 0;               // answer frames queued on this socket
  std::uint64_t requests_ = 0;
  std::optional<endpoint_event> close_event_;
  bool going_away_sent_ = false;
};

}  // namespace numsequence
