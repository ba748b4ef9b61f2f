#pragma once
/// @brief JSON reading and writing for the WebSocket stream, over nlohmann/json (whose heavy
/// header only json_text.cpp includes): named members of an object as written, and strings.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace numsequence {

/// @brief One member's value, kept as its text so an error can quote it as the client wrote it.
struct json_value_text {
  enum class kind {
    unsigned_integer,  ///< digits that fit in 64 bits: `number` holds them
    negative_integer,  ///< a minus sign and digits, `-0` included
    large_integer,     ///< digits past 2^64 - 1 (any count: a 100,000-digit number too)
    other_number,      ///< a fraction or an exponent: `1.5`, `1e3`, `1.0`
    string,            ///< `string` holds it decoded
    boolean,
    null,
    array,
    object,
  };
  kind what = kind::null;
  /// The value as compact JSON. Numbers are exactly as written (no digit is lost, `1e3`
  /// stays `1e3`); strings are re-escaped; arrays and objects lose their spaces.
  std::string text;
  std::uint64_t number = 0;
  std::string string;
};

/// @brief What read_json_members() found.
struct json_members {
  enum class status {
    ok,                ///< one JSON object
    not_json,          ///< `detail`: the parser's message, its quote of the input cut short
    not_object,        ///< valid JSON, but an array, a string, a number ...
    duplicate_member,  ///< `detail`: the name (checked only for the names asked for)
  };
  status result = status::ok;
  std::string detail;
  /// For each name asked for, in the same order: its value, or nullopt when absent.
  std::vector<std::optional<json_value_text>> values;
  /// Set when the parser stopped at a number too large for a double (`1e400`, a 400-digit
  /// integer) that is the value of a member asked for: that member's index. The result is
  /// then ok, and members after it in the text are absent.
  std::optional<std::size_t> stopped_at;
};

/// @brief Parses `text` as one JSON object and returns the values of the top-level members
/// named in `names`; other members are parsed (they must be valid JSON) and dropped.
///
/// A number too large for a double stops the parser; when it is the value of a member asked
/// for, that member is returned (kind other_number or large_integer) with `stopped_at`, so
/// the caller complains about the number rather than the parser. Elsewhere it is not_json.
/// Nothing recurses, so any nesting depth is safe.
json_members read_json_members(std::string_view text, std::span<const std::string_view> names);

/// @brief Appends `s` as a JSON string literal: quoted, escaped, invalid UTF-8 replaced by
/// U+FFFD, so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace numsequence
