#include "numsequence/sequence/fibonacci.hpp"

#include <gmp.h>

#include <cstring>
#include <stdexcept>
#include <utility>

#include "decimal_limbs.hpp"

namespace numsequence {
namespace {

// max_fibonacci_index + 2 (the largest index fibonacci_sum asks GMP for) fits in GMP's
// unsigned long even where that is 32 bits wide.
static_assert(max_fibonacci_index + 2 <= 0xffff'ffffULL);

// Forward steps up to this many are additions; a longer jump is cheaper by fast doubling.
constexpr std::uint64_t short_step = 32;

// One GMP integer, released with its owner.
class big_integer {
 public:
  big_integer() { mpz_init(value_); }
  ~big_integer() { mpz_clear(value_); }
  big_integer(const big_integer&) = delete;
  big_integer& operator=(const big_integer&) = delete;

  mpz_ptr get() noexcept { return value_; }

  /// GMP's own conversion: subquadratic, so F(10^6)'s 208,988 digits are quick.
  std::string decimal() const {
    // mpz_sizeinbase may count one digit too many; room for the terminating NUL too.
    std::string text(mpz_sizeinbase(value_, 10) + 1, '\0');
    mpz_get_str(text.data(), 10, value_);
    text.resize(std::strlen(text.c_str()));
    return text;
  }

 private:
  mpz_t value_;
};

void check_index(std::uint64_t k) {
  if (k > max_fibonacci_index) {
    throw std::out_of_range("Fibonacci index " + std::to_string(k) +
                            " is above the largest computed (" +
                            std::to_string(max_fibonacci_index) + ")");
  }
}

unsigned long gmp_index(std::uint64_t k) noexcept {
  return static_cast<unsigned long>(k);  // in range: see the static_assert above
}

}  // namespace

void check_fibonacci_range(std::uint64_t from, std::uint64_t count) {
  if (count == 0)
    return;
  check_index(from);
  if (count - 1 > max_fibonacci_index - from) {
    throw std::out_of_range("Fibonacci range from " + std::to_string(from) + " of " +
                            std::to_string(count) + " numbers passes the largest index (" +
                            std::to_string(max_fibonacci_index) + ")");
  }
}

std::string fibonacci_value(std::uint64_t k) {
  check_index(k);
  big_integer value;
  mpz_fib_ui(value.get(), gmp_index(k));
  return value.decimal();
}

fibonacci_cursor::fibonacci_cursor(std::uint64_t first) {
  check_index(first);
  big_integer current;
  big_integer next;
  mpz_fib2_ui(next.get(), current.get(), gmp_index(first + 1));  // F(first + 1), F(first)
  detail::parse_decimal(current.decimal(), current_);
  detail::parse_decimal(next.decimal(), next_);
  index_ = first;
}

void fibonacci_cursor::seek(std::uint64_t k) {
  if (k >= index_ && k - index_ <= short_step) {
    while (index_ < k)
      step();
    return;
  }
  // Built aside and swapped in: a failure (a bad index, no memory) leaves this cursor as it was.
  fibonacci_cursor moved{k};
  *this = std::move(moved);
}

std::size_t fibonacci_cursor::next_digits() const noexcept {
  return detail::decimal_width(current_);
}

void fibonacci_cursor::append_next(std::string& out) {
  const std::size_t at = out.size();
  out.resize(at + detail::decimal_width(current_));
  detail::write_decimal(out.data() + at, current_);
  step();
}

std::size_t fibonacci_cursor::append_joined(std::string& out, std::string_view separator,
                                            bool first_in_list, std::uint64_t max_count,
                                            std::size_t byte_budget) {
  std::size_t appended = 0;
  while (appended < max_count && (appended == 0 || out.size() < byte_budget)) {
    // Separator and digits in one resize: one size update per number.
    const std::size_t gap = appended == 0 && first_in_list ? 0 : separator.size();
    const std::size_t at = out.size();
    out.resize(at + gap + detail::decimal_width(current_));
    char* const p = out.data() + at;
    if (gap != 0)
      std::memcpy(p, separator.data(), gap);
    detail::write_decimal(p + gap, current_);
    step();
    ++appended;
  }
  return appended;
}

void fibonacci_cursor::step() {
  detail::add_into(current_, next_);  // current_ = F(index_ + 2)
  current_.swap(next_);
  ++index_;
}

md5_digest fibonacci_checksum(std::uint64_t from, std::uint64_t count) {
  check_fibonacci_range(from, count);
  list_checksum sum;
  if (count > 0) {
    fibonacci_cursor cursor{from};
    std::string digits;
    for (std::uint64_t i = 0; i < count; ++i) {
      digits.clear();
      cursor.append_next(digits);
      sum.add_decimal(digits);
    }
  }
  return sum.finish();
}

std::string fibonacci_sum(std::uint64_t from, std::uint64_t count) {
  check_fibonacci_range(from, count);
  if (count == 0)
    return "0";
  big_integer total;
  big_integer before;
  mpz_fib_ui(total.get(), gmp_index(from + count + 1));
  mpz_fib_ui(before.get(), gmp_index(from + 1));
  mpz_sub(total.get(), total.get(), before.get());
  return total.decimal();
}

}  // namespace numsequence
