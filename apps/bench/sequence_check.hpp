#pragma once
// The numbers of one session as the bench receives them, checked as they come.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/stats.hpp"
#include "numsequence/protocol/client_id.hpp"

namespace numsequence::bench {

/// @brief The numbers of one session as received: each NUM must have its batch's size, the
/// same numbers every time it is sent, and (in test mode) the generator's numbers.
class sequence_check {
 public:
  /// @param expected the test-mode sequence to compare with, if the server is in test mode.
  sequence_check(std::uint32_t n, std::uint32_t batch,
                 std::optional<std::vector<std::uint32_t>> expected);

  /// @brief Batches in the session.
  std::uint32_t total() const noexcept { return total_; }
  /// @brief Batches not received yet.
  std::uint32_t missing() const noexcept { return missing_; }
  /// @brief Whether batch k has been received.
  bool has(std::uint32_t k) const { return have_[k]; }
  /// @brief The session's numbers (zero where a batch is missing).
  const std::vector<std::uint32_t>& numbers() const noexcept { return numbers_; }

  /// @brief Checks NUM for batch k; an error text, or empty. Counts the numbers checked
  /// against the generator in `st`.
  std::string accept(std::uint32_t k, std::span<const std::uint32_t> got, stats& st);

 private:
  std::uint32_t n_;
  std::uint32_t batch_;
  std::uint32_t total_;
  std::vector<std::uint32_t> numbers_;
  std::vector<bool> have_;
  std::uint32_t missing_;
  std::optional<std::vector<std::uint32_t>> expected_;
};

/// @brief The numbers a test-mode server sends for this session (the reference generator).
std::vector<std::uint32_t> test_sequence(const client_id& id, std::uint32_t n, std::uint32_t batch);

}  // namespace numsequence::bench
