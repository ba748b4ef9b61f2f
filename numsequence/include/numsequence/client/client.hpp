#pragma once
/// @brief The resuming client: runs one session to completion across dropped connections.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/protocol/client_id.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

struct server_address {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

struct client_options {
  using duration = std::chrono::steady_clock::duration;

  /// Servers to use, tried in order; the client moves to the next when one fails.
  std::vector<server_address> servers;
  std::filesystem::path state_file = ".numsequence-client-state";
  /// TLS to every server, verifying its certificate against tls_ca (PEM), or against the
  /// system's trusted authorities when tls_ca is not set.
  bool tls = false;
  std::optional<std::filesystem::path> tls_ca;
  /// Consecutive failed attempts (no progress) before giving up.
  unsigned retries = 10;
  /// RECVs sent ahead of their replies. 1 = strict request/response.
  unsigned pipeline = 64;
  /// A connection that makes no progress for this long is dropped and resumed.
  duration io_timeout = std::chrono::seconds(10);
  /// First back-off after a failed attempt; doubles up to max_backoff.
  duration first_backoff = std::chrono::milliseconds(100);
  duration max_backoff = std::chrono::seconds(3);
  /// The reference's transcript: "Sending message: '...'", "Received: ...", and so on.
  std::function<void(std::string_view line)> on_transcript;
  /// Called as batches arrive (received, total); throttling is the callee's business.
  std::function<void(std::uint32_t received, std::uint32_t total)> on_progress;
  /// Notes for a person (connection lost, resuming, back-off); not part of the transcript.
  std::function<void(std::string_view line)> on_note;
};

/// @brief How a session run ended; the values are the client's exit statuses.
enum class client_outcome {
  valid = 0,     ///< checksum matches
  mismatch = 1,  ///< checksum differs
  usage = 2,     ///< bad arguments or state file
  refused = 3,   ///< the server answered ERR
  gave_up = 4,   ///< retries exhausted, or the server cannot be trusted (TLS); the state
                 ///< file is kept for CONTINUE
};

struct client_result {
  client_outcome outcome = client_outcome::gave_up;
  client_id id;
  std::uint32_t n = 0;
  std::uint32_t batch = 0;
  sequence_kind kind = sequence_kind::random;
  /// The exact sum of the numbers, in decimal, once completed: a Fibonacci sum has
  /// thousands of digits (F(n+1) - 1).
  std::string sum;
  /// Computed from the numbers received. A Fibonacci session keeps none of them: each was
  /// checked on arrival to equal the client's own, so this is the MD5 of its own numbers.
  std::optional<md5_digest> checksum;
  std::optional<md5_digest> server_checksum;  ///< from FAC
  unsigned reconnects = 0;                    ///< connections after the first
  std::string error;                          ///< ERR text, or why it gave up
};

/// @brief Starts a session (INIT) of `n` numbers of `kind` and runs it to the end.
/// Replaces the state file. Never throws for network trouble; see client_result.
/// @throws tls_error if options.tls_ca cannot be used (before anything is written).
client_result run_new_session(const client_id& id, std::uint32_t n, std::uint32_t batch,
                              const client_options& options,
                              sequence_kind kind = sequence_kind::random);

/// @brief Continues the session in the state file (CONT), skipping batches it has;
/// a completed session is checked again with FIN.
/// @throws state_file_error if the state file is missing or damaged.
/// @throws tls_error if options.tls_ca cannot be used.
client_result run_continue_session(const client_options& options);

}  // namespace numsequence
