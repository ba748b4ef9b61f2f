#pragma once
/// @brief The bodies of the Fibonacci answers (JSON and text), produced a piece at a time so
/// memory stays bounded whatever n. Pure computation, no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "numsequence/sequence/fibonacci.hpp"

namespace numsequence {

/// @brief How the numbers are written. Integers are always exact and unquoted in JSON, except
/// compat_result's "result", which is a string as document 004's service writes it. JSON has
/// no spaces.
enum class fibonacci_format {
  /// first n: `{"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]}`;
  /// range: `{"sequence":"fibonacci","from":3,"to":6,"numbers":[2,3,5,8]}`;
  /// single: `{"k":7,"value":13}`
  json,
  /// Numbers separated by single spaces, then "\n": "0 1 1 2 3\n"; n = 0 gives "\n";
  /// single: "13\n".
  text_spaces,
  /// Each number followed by "\n": "0\n1\n1\n2\n3\n"; n = 0 gives "" (document 002's
  /// `/fib?limit=N`).
  text_lines,
  /// `{"N":5,"result":"0 1 1 2 3"}`; n = 0 gives `{"N":0,"result":""}` (document 004's
  /// `/fib/N`). First n only.
  compat_result,
};

/// @brief Which numbers an answer holds.
enum class fibonacci_shape {
  first_n,  ///< F(0) .. F(n-1)
  range,    ///< F(from) .. F(to), inclusive, at least one number
  single,   ///< F(k) alone
};

/// @brief One answer: its numbers and how they are written.
struct fibonacci_query {
  fibonacci_shape shape = fibonacci_shape::first_n;
  fibonacci_format format = fibonacci_format::json;
  std::uint64_t from = 0;   ///< first index: 0 for first_n, k for single
  std::uint64_t count = 0;  ///< n for first_n, to - from + 1 for range, 1 for single

  /// @brief The last index: `to` of a range, n - 1 of the first n (meaningless for n = 0).
  std::uint64_t last() const noexcept { return from + count - 1; }
};

/// @brief Produces one answer's body in pieces, byte-exact as fibonacci_format shows.
///
/// Positioning costs one fast doubling (in the constructor); after that each piece costs about
/// the writing of its bytes. Not thread-safe; one renderer per answer.
/// @code
/// fibonacci_renderer r{{fibonacci_shape::first_n, fibonacci_format::json, 0, 25'000}};
/// std::string piece;
/// while (r.render(piece, 64 * 1024)) {
///   send(piece);
///   piece.clear();
/// }
/// @endcode
class fibonacci_renderer {
 public:
  /// @brief Throws std::invalid_argument for a query no route asks (first_n from other than 0,
  /// an empty range, single with count other than 1, compat_result of a range or single), and
  /// std::out_of_range if its last index passes max_fibonacci_index.
  explicit fibonacci_renderer(const fibonacci_query& q);

  /// @brief Appends the next piece of the body to out, stopping once out.size() reaches about
  /// `budget`: a number is never split, so one long number may pass it. Every call that returns
  /// true appended something, even when out was already at the budget. Returns false once the
  /// body is complete and nothing was appended.
  bool render(std::string& out, std::size_t budget);

  /// @brief True once the whole body has been appended.
  bool done() const noexcept { return stage_ == stage::done; }

 private:
  enum class stage { opening, numbers, done };

  fibonacci_cursor cursor_;
  std::string opening_;  // before the first number
  std::string_view separator_;
  std::string_view closing_;  // after the last number
  std::uint64_t remaining_;   // numbers not yet appended
  bool first_ = true;         // the next number is the first of the list
  stage stage_ = stage::opening;
};

/// @brief The whole body in one string: for small answers, tests and caches.
std::string render_all(const fibonacci_query& q);

}  // namespace numsequence
