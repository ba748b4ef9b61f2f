#pragma once
/// @brief Which numbers a session holds, and computing any batch of them.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "numsequence/protocol/client_id.hpp"
#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// @brief How a session's numbers are made. normal and test are the two modes of the random
/// kind (the server's setting); fibonacci is the other kind, whatever the server's mode.
enum class sequence_mode : std::uint8_t {
  normal,     ///< uint32 numbers from Philox4x32-10 keyed by the session's 64-bit seed
  test,       ///< CPython's random.seed(client_id) + randint(0, 100), as the reference
  fibonacci,  ///< F(0) … F(n-1), exact, as decimal text (seed and id unused)
};

/// @brief Everything that determines a session's numbers.
struct sequence_params {
  sequence_mode mode = sequence_mode::normal;
  std::uint64_t seed = 0;  ///< normal mode only
  client_id id;            ///< test mode seeds from this text
  std::uint32_t n = 0;
  std::uint32_t batch = 1;

  /// @brief ceil(n / batch): valid RECV indices are 0 … batch_count() - 1.
  std::uint64_t batch_count() const noexcept { return (std::uint64_t{n} + batch - 1) / batch; }
};

/// @brief Number i of a normal-mode sequence: word i%4 of Philox block i/4 keyed by seed.
std::uint32_t normal_number(std::uint64_t seed, std::uint32_t i) noexcept;

/// @brief Produces a session's batches.
///
/// Normal mode computes any batch directly from (seed, index). Test mode must
/// replay CPython's generator from the start (randint rejects draws, so number i
/// has no fixed position in the MT stream); it keeps a cursor, so batches asked
/// in order cost O(batch) each and only a backwards jump replays from 0.
/// Fibonacci mode writes decimal text (append_fibonacci()): its numbers do not fit uint32.
class sequence_generator {
 public:
  explicit sequence_generator(const sequence_params& params);
  ~sequence_generator();
  sequence_generator(sequence_generator&&) noexcept;
  sequence_generator& operator=(sequence_generator&&) noexcept;

  const sequence_params& params() const noexcept { return params_; }

  /// @brief The numbers of batch k (k < batch_count()), valid until the next call.
  /// Throws std::logic_error in Fibonacci mode.
  std::span<const std::uint32_t> batch(std::uint32_t k);

  /// @brief Numbers `begin` … `begin + count - 1` (within n), valid until the next call.
  /// A large batch is sent as consecutive ranges, so the generator never holds more than
  /// one range: in test mode, a range that starts where the last one ended costs only its
  /// own draws.
  std::span<const std::uint32_t> numbers(std::uint32_t begin, std::uint32_t count);

  /// @brief Fibonacci mode: appends F(begin), F(begin + 1), … in decimal, separated by `:`
  /// (none before the first when `first_in_list`), while fewer than `max_count` are appended
  /// and out.size() is below `byte_budget`; a number is never split, and at least one is
  /// appended when max_count > 0. Returns how many were appended.
  ///
  /// A cursor is kept between calls: a call that starts where the last one ended (the
  /// pieces of one batch, batches asked in order) costs only its own digits; any other start
  /// re-positions with fast doubling, O(log begin) big multiplications. Throws
  /// std::out_of_range past n, std::logic_error in another mode.
  std::uint32_t append_fibonacci(std::string& out, std::uint32_t begin, std::uint32_t max_count,
                                 std::size_t byte_budget, bool first_in_list);

 private:
  struct test_cursor;
  struct fibonacci_state;
  sequence_params params_;
  std::unique_ptr<test_cursor> test_;           // only in test mode: ~2.5 KiB of MT state
  std::unique_ptr<fibonacci_state> fibonacci_;  // only in Fibonacci mode, from the first use
  std::vector<std::uint32_t> out_;
  // Normal mode: the last Philox block computed, and its index.
  std::optional<std::uint32_t> block_index_;
  std::array<std::uint32_t, 4> block_{};
};

/// @brief All n numbers in order (for tests and small sequences). Throws
/// std::invalid_argument in Fibonacci mode, whose numbers do not fit uint32.
std::vector<std::uint32_t> whole_sequence(const sequence_params& params);

/// @brief The checksum of the whole sequence, streamed batch-free. Fibonacci mode takes it
/// from fibonacci_checksum_cache(): the largest session hashes about 65 MB, paid once per n.
md5_digest sequence_checksum(const sequence_params& params);

}  // namespace numsequence
