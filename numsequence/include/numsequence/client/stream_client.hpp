#pragma once
/// @brief The interactive stream client: typed lines in, Fibonacci numbers out, over the
/// server's WebSocket stream (`/v1/stream`), resuming across dropped connections.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/websocket/client_endpoint.hpp"
#include "numsequence/websocket/client_handshake.hpp"

namespace numsequence {

/// @brief How the stream client runs: where to, how patiently, and its three streams.
struct stream_client_options {
  using duration = std::chrono::steady_clock::duration;

  /// The server's HTTP listener (`--http PORT`) and the stream's path.
  websocket_target target;
  /// Consecutive failed connection attempts (no number received) before giving up.
  unsigned retries = 10;
  /// A connection on which nothing moves for this long (connecting, the handshake, the next
  /// frame of an answer) counts as lost. Not applied while waiting for a line.
  duration io_timeout = std::chrono::seconds(10);
  /// First back-off after a failed attempt; doubles up to max_backoff.
  duration first_backoff = std::chrono::milliseconds(100);
  duration max_backoff = std::chrono::seconds(3);
  client_endpoint_limits limits;
  /// The next line typed, without its '\n'; nullopt at the end of the input. Called only
  /// between answers: it may block (a person thinking) while no connection is watched.
  std::function<std::optional<std::string>()> next_line;
  /// What to print on stdout: an answer's numbers as each frame brings them (one per line),
  /// then its summary line. Flushing each call is the callee's part.
  std::function<void(std::string_view text)> on_output;
  /// A line for a person (stderr): a refused line, the server's error, a failed answer, a
  /// dropped connection being resumed, the reason for giving up.
  std::function<void(std::string_view line)> on_message;
};

/// @brief How a run ended; the values are numsequence-client's exit statuses.
enum class stream_outcome {
  all_good = 0,  ///< every line was answered and every answer checked
  failed = 1,    ///< an answer failed its check (md5, count, a malformed frame) or was cut
  refused = 3,   ///< a line was refused (by the client, or by the server's error frame)
  gave_up = 4,   ///< the server could not be reached after `retries` attempts, or is no
                 ///< WebSocket stream (a refused handshake); the output stops there
};

/// @brief Connects, then answers each line from options.next_line() in turn until the end of
/// the input, reconnecting when a connection drops (at once when it had brought numbers,
/// else after a back-off) and asking for the numbers not yet printed. The result is the worst
/// of what happened (gave_up, failed, refused, all_good). Never throws for network trouble.
///
/// Each line: `N` asks for F(0) … F(N-1), `A B` for F(A) … F(B); see stream_session. The
/// connection opens once, before the first line (a server that is not there is reported at
/// once), and stays open between lines; at the end of the input it is closed with 1000.
stream_outcome run_stream_client(const stream_client_options& options);

}  // namespace numsequence
