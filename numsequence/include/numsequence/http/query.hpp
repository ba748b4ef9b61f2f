#pragma once
/// @brief Query strings (`a=1&b=x+y`) decoded with uriparser.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace numsequence {

/// @brief One `key=value` pair of a query, percent-decoded, `+` read as a space.
struct query_parameter {
  std::string key;
  std::string value;
  /// False for a key without `=` (`?n`); value is then empty.
  bool has_value = false;

  friend bool operator==(const query_parameter&, const query_parameter&) = default;
};

/// @brief The pairs of a query in the order sent; a key given twice appears twice.
using query_parameters = std::vector<query_parameter>;

/// @brief Decodes a raw query (without its `?`).
///
/// Pairs are separated by `&`; empty pairs (`a=1&&b=2`) are skipped; a key without `=` has
/// no value; the first `=` splits key from value (`a=b=c` is key `a`, value `b=c`). `%XX`
/// escapes are decoded, an escape that is not two hex digits is kept as it was (`%zz`).
/// Returns nullopt when the query holds `%00`: the library hands out C strings, so a NUL
/// would silently cut the value short (`n=5%00x` would read as `n=5`).
std::optional<query_parameters> parse_query(std::string_view raw);

/// @brief How many times `key` appears.
std::size_t count_parameter(const query_parameters& parameters, std::string_view key) noexcept;

/// @brief The first pair with `key`, or nullptr.
const query_parameter* find_parameter(const query_parameters& parameters,
                                      std::string_view key) noexcept;

}  // namespace numsequence
