#pragma once
/// @brief The client's progress on disk: versioned, checked on load, replaced atomically.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "numsequence/protocol/client_id.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// @brief Everything a client knows about its session.
struct client_state {
  client_id id;
  std::uint32_t n = 0;
  std::uint32_t batch = 1;
  sequence_kind kind = sequence_kind::random;
  /// The server acknowledged INIT: from now on the client resumes with CONT.
  bool acknowledged = false;
  /// Set once the server's FAC arrived.
  std::optional<md5_digest> server_checksum;
  /// Random sessions: n slots, meaningful where `have` says so. Fibonacci sessions: empty;
  /// the client checks each number on arrival against its own and keeps none (the largest
  /// session is 65 MB of text).
  std::vector<std::uint32_t> numbers;
  std::vector<bool> have;  ///< one flag per batch

  /// @brief A fresh state for a session of `n` numbers in batches of `batch`.
  static client_state fresh(const client_id& id, std::uint32_t n, std::uint32_t batch,
                            sequence_kind kind = sequence_kind::random);

  std::uint32_t batch_count() const noexcept;
  std::uint32_t batches_received() const noexcept;
  bool complete() const noexcept { return batches_received() == batch_count(); }
  /// @brief Index of batch k's first number and its count.
  std::uint32_t batch_begin(std::uint32_t k) const noexcept { return k * batch; }
  std::uint32_t batch_size(std::uint32_t k) const noexcept;
};

/// @brief A state file that is missing, unreadable or damaged. what() says which and where.
class state_file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief Text format, version 2 (see protocol.md, "Client state file"):
///
///     numsequence-client-state 2
///     id <uuid>
///     n <n>
///     batch-size <batch>
///     sequence <random|fibonacci>
///     acknowledged <0|1>
///     server-checksum <md5 hex|none>
///     data <k> <a>:<b>:...        (random: one line per batch received, any order)
///     have <k>[-<last>]           (fibonacci: batches k .. last received, any order)
///     digest <md5 hex of every byte before this line>
///
/// The digest catches truncation and edits; every field is range-checked.
std::string format_state(const client_state& state);
/// @brief Parses format_state() output, and version 1 (no `sequence` line: a random
/// session); throws state_file_error naming the problem.
client_state parse_state(std::string_view text);

/// @brief Writes to a temporary file beside `path`, fsyncs it, renames it over `path`:
/// a crash leaves either the old file or the new one, never a mix.
/// @throws state_file_error on I/O failure.
void save_state(const std::filesystem::path& path, const client_state& state);
/// @throws state_file_error if the file is missing, unreadable or damaged.
client_state load_state(const std::filesystem::path& path);

/// @brief The file's bytes, or nullopt if there is no file. @throws state_file_error if unreadable.
std::optional<std::string> read_file_if_present(const std::filesystem::path& path);
/// @brief Replaces `path` by `bytes` as save_state() does (temporary file, fsync, rename).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace numsequence
