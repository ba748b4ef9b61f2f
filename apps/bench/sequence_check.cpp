#include "bench/sequence_check.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "numsequence/sequence/sequence.hpp"

namespace numsequence::bench {

sequence_check::sequence_check(std::uint32_t n, std::uint32_t batch,
                               std::optional<std::vector<std::uint32_t>> expected)
    : n_(n),
      batch_(batch),
      total_(static_cast<std::uint32_t>((std::uint64_t{n} + batch - 1) / batch)),
      numbers_(n),
      have_(total_, false),
      missing_(total_),
      expected_(std::move(expected)) {}

std::string sequence_check::accept(std::uint32_t k, std::span<const std::uint32_t> got, stats& st) {
  const std::size_t begin = std::size_t{k} * batch_;
  const std::size_t size = std::min<std::size_t>(n_, begin + batch_) - begin;
  if (got.size() != size) {
    return "NUM for batch " + std::to_string(k) + " has " + std::to_string(got.size()) +
           " numbers, expected " + std::to_string(size);
  }
  const auto at = numbers_.begin() + static_cast<std::ptrdiff_t>(begin);
  if (expected_) {
    if (!std::equal(got.begin(), got.end(),
                    expected_->begin() + static_cast<std::ptrdiff_t>(begin))) {
      return "NUM for batch " + std::to_string(k) + " differs from the test-mode generator";
    }
    st.numbers_checked += size;
  }
  if (have_[k]) {
    if (!std::equal(got.begin(), got.end(), at))
      return "NUM for batch " + std::to_string(k) + " differs from the first time it was sent";
    return {};
  }
  std::copy(got.begin(), got.end(), at);
  have_[k] = true;
  --missing_;
  return {};
}

std::vector<std::uint32_t> test_sequence(const client_id& id, std::uint32_t n,
                                         std::uint32_t batch) {
  sequence_params p;
  p.mode = sequence_mode::test;
  p.id = id;
  p.n = n;
  p.batch = batch;
  return whole_sequence(p);
}

}  // namespace numsequence::bench
