#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: fixed buckets, constant
// memory, O(1) recording, percentiles within 1/128 (0.8%) of the true value. No sample is
// kept, so a run of any length costs the same memory.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace numsequence::bench {

class latency_histogram {
 public:
  latency_histogram() : counts_(bucket_count, 0) {}

  /// @brief Records one value (nanoseconds, or any unit: the histogram does not care).
  void record(std::uint64_t value) noexcept {
    ++counts_[index_of(value)];
    ++total_;
    sum_ += value;
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
  }

  void merge(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  double mean() const noexcept {
    return total_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(total_);
  }

  /// @brief The smallest recorded value v such that at least q (0..1) of the values are
  /// <= v, reported as the upper bound of v's bucket (never below the true percentile),
  /// clamped to the exact maximum.
  std::uint64_t percentile(double q) const noexcept {
    if (total_ == 0)
      return 0;
    const auto wanted = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.999999));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= wanted)
        return std::min(max_, upper_bound_of(i));
    }
    return max_;
  }

 private:
  // 2^sub_bits values per bucket group; each power of two above that is split into half of
  // them (128), so a bucket is at most 1/128 of its value wide.
  static constexpr unsigned sub_bits = 8;
  static constexpr std::uint64_t half = std::uint64_t{1} << (sub_bits - 1);
  static constexpr std::size_t bucket_count = (64 - sub_bits + 2) * half;

  static std::size_t index_of(std::uint64_t v) noexcept {
    const unsigned width = static_cast<unsigned>(std::bit_width(v));  // msb + 1, 0 for v == 0
    const unsigned shift = width > sub_bits ? width - sub_bits : 0;
    return static_cast<std::size_t>(shift * half + (v >> shift));
  }

  static std::uint64_t upper_bound_of(std::size_t index) noexcept {
    if (index < 2 * half)
      return index;
    const std::uint64_t shift = index / half - 1;
    const std::uint64_t top = index - shift * half;
    const std::uint64_t low = top << shift;
    return low + ((std::uint64_t{1} << shift) - 1);
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
};

}  // namespace numsequence::bench
