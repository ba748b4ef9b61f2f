#include "numsequence/sequence/sequence.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "numsequence/sequence/checksum_cache.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/sequence/philox.hpp"
#include "numsequence/sequence/python_random.hpp"

namespace numsequence {
namespace {

constexpr std::array<std::uint32_t, 2> philox_key(std::uint64_t seed) noexcept {
  return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}

// Numbers [begin, end) of a normal-mode sequence, handed to sink one at a time.
// One Philox block serves four consecutive numbers, so blocks are not recomputed.
template <typename Sink>
void for_each_normal(std::uint64_t seed, std::uint32_t begin, std::uint32_t end, Sink&& sink) {
  const auto key = philox_key(seed);
  std::uint32_t i = begin;
  while (i < end) {
    const auto block = philox4x32_10({i / 4, 0, 0, 0}, key);
    for (std::uint32_t w = i % 4; w < 4 && i < end; ++w, ++i)
      sink(block[w]);
  }
}

}  // namespace

std::uint32_t normal_number(std::uint64_t seed, std::uint32_t i) noexcept {
  return philox4x32_10({i / 4, 0, 0, 0}, philox_key(seed))[i % 4];
}

struct sequence_generator::test_cursor {
  explicit test_cursor(const client_id& id) : rng(id.view()) {}

  // The generator's state is saved every `spacing` numbers as the cursor passes, so a
  // backward jump replays at most `spacing` numbers instead of the whole sequence: a
  // client asking for batches backwards cannot make a thread redo 65535 draws per RECV.
  // At most 8 saved states (2.5 KiB each) for the longest sequence.
  static constexpr std::uint32_t spacing = 8192;

  /// Moves the generator to number `target`, from the nearest saved state at or before it.
  void seek(std::uint32_t target) {
    if (target < position) {
      const std::size_t slot = target / spacing;  // saved[slot] holds number slot * spacing
      rng = saved[std::min(slot, saved.size() - 1)];
      position = static_cast<std::uint32_t>(std::min(slot, saved.size() - 1)) * spacing;
    }
    // randint rejects draws, so the numbers before target must be drawn to get there.
    while (position < target)
      next();
  }

  std::uint32_t next() {
    const std::uint32_t v = rng.randint_0_100();
    ++position;
    if (position % spacing == 0 && position / spacing == saved.size())
      saved.push_back(rng);
    return v;
  }

  python_random rng;
  std::uint32_t position = 0;             // index of the number rng yields next
  std::vector<python_random> saved{rng};  // saved[i]: the state before number i * spacing
  // Where the range out_ holds begins, so a repeated RECV of a batch sent in one piece (a
  // client that lost the reply) costs nothing. A batch sent in pieces is regenerated.
  std::optional<std::uint32_t> held_begin;
};

struct sequence_generator::fibonacci_state {
  explicit fibonacci_state(std::uint32_t first) : cursor(first) {}
  fibonacci_cursor cursor;  // two numbers in decimal limbs: about 2 x 5.6 KB at n = 25,000
};

sequence_generator::sequence_generator(const sequence_params& params) : params_(params) {
  if (params_.batch == 0)
    throw std::invalid_argument("sequence batch size must be at least 1");
  if (params_.mode == sequence_mode::test)
    test_ = std::make_unique<test_cursor>(params_.id);
}

sequence_generator::~sequence_generator() = default;
sequence_generator::sequence_generator(sequence_generator&&) noexcept = default;
sequence_generator& sequence_generator::operator=(sequence_generator&&) noexcept = default;

std::span<const std::uint32_t> sequence_generator::batch(std::uint32_t k) {
  if (k >= params_.batch_count()) {
    throw std::out_of_range("batch index " + std::to_string(k) + " is not below " +
                            std::to_string(params_.batch_count()));
  }
  // k < batch_count() keeps both bounds within n, so they fit in uint32.
  const auto begin = static_cast<std::uint32_t>(std::uint64_t{k} * params_.batch);
  return numbers(begin, std::min(params_.batch, params_.n - begin));
}

namespace {

void check_within(const sequence_params& p, std::uint32_t begin, std::uint32_t count) {
  if (begin > p.n || count > p.n - begin) {
    throw std::out_of_range("numbers " + std::to_string(begin) + " + " + std::to_string(count) +
                            " are not within n = " + std::to_string(p.n));
  }
}

}  // namespace

std::uint32_t sequence_generator::append_fibonacci(std::string& out, std::uint32_t begin,
                                                   std::uint32_t max_count, std::size_t byte_budget,
                                                   bool first_in_list) {
  if (params_.mode != sequence_mode::fibonacci)
    throw std::logic_error("append_fibonacci on a sequence of another mode");
  check_within(params_, begin, max_count);
  if (!fibonacci_)
    fibonacci_ = std::make_unique<fibonacci_state>(begin);
  fibonacci_->cursor.seek(begin);  // free when the last call ended here
  // max_count <= n - begin, so the count appended fits uint32.
  return static_cast<std::uint32_t>(
      fibonacci_->cursor.append_joined(out, ":", first_in_list, max_count, byte_budget));
}

std::span<const std::uint32_t> sequence_generator::numbers(std::uint32_t begin,
                                                           std::uint32_t count) {
  check_within(params_, begin, count);
  const std::uint32_t end = begin + count;
  if (params_.mode == sequence_mode::fibonacci)
    throw std::logic_error("Fibonacci numbers do not fit uint32: use append_fibonacci()");

  if (params_.mode == sequence_mode::normal) {
    out_.resize(count);
    std::uint32_t* next = out_.data();
    const auto key = philox_key(params_.seed);
    // Batches asked in order share a Philox block at their boundary (a block is four
    // numbers): the last one computed is kept, so it is not computed twice.
    for (std::uint32_t i = begin; i < end;) {
      if (!block_index_ || *block_index_ != i / 4) {
        block_ = philox4x32_10({i / 4, 0, 0, 0}, key);
        block_index_ = i / 4;
      }
      for (std::uint32_t w = i % 4; w < 4 && i < end; ++w, ++i)
        *next++ = block_[w];
    }
    return out_;
  }

  // A moved-from generator has lost its cursor; rebuild it rather than crash.
  if (!test_)
    test_ = std::make_unique<test_cursor>(params_.id);
  test_cursor& cursor = *test_;
  if (cursor.held_begin == begin && out_.size() == count)
    return out_;

  cursor.held_begin.reset();  // out_ is being replaced; an exception must not leave it valid
  cursor.seek(begin);
  out_.clear();
  while (cursor.position < end)
    out_.push_back(cursor.next());
  cursor.held_begin = begin;
  return out_;
}

std::vector<std::uint32_t> whole_sequence(const sequence_params& params) {
  if (params.mode == sequence_mode::fibonacci)
    throw std::invalid_argument("Fibonacci numbers do not fit uint32");
  std::vector<std::uint32_t> numbers;
  numbers.reserve(params.n);
  if (params.mode == sequence_mode::normal) {
    for_each_normal(params.seed, 0, params.n, [&](std::uint32_t v) { numbers.push_back(v); });
  } else {
    python_random rng(params.id.view());
    for (std::uint32_t i = 0; i < params.n; ++i)
      numbers.push_back(rng.randint_0_100());
  }
  return numbers;
}

md5_digest sequence_checksum(const sequence_params& params) {
  // The FAC of a large Fibonacci session hashes tens of megabytes on the thread answering
  // FIN; it depends on n alone, so a process-wide cache pays it once per n.
  if (params.mode == sequence_mode::fibonacci)
    return fibonacci_checksum_cache().get(params.n);
  list_checksum sum;
  if (params.mode == sequence_mode::normal) {
    for_each_normal(params.seed, 0, params.n, [&](std::uint32_t v) { sum.add(v); });
  } else {
    // One forward pass: the generator is never rewound and no list is kept.
    python_random rng(params.id.view());
    for (std::uint32_t i = 0; i < params.n; ++i)
      sum.add(rng.randint_0_100());
  }
  return sum.finish();
}

}  // namespace numsequence
