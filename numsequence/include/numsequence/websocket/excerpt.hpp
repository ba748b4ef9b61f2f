#pragma once
/// @brief A bounded, printable excerpt of a value a peer sent, for error messages.

#include <cstddef>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief How excerpt() treats bytes at or above 0x80.
enum class excerpt_bytes {
  utf8,   ///< kept (the text is UTF-8, e.g. a JSON request); never cut inside a sequence
  ascii,  ///< each one shown as `?` (an HTTP header value)
};

/// @brief `text` itself when it has at most `max` bytes, else its first `max` bytes, `...` and
/// ` (N characters)` with N the whole text's length (code points in UTF-8 mode, bytes in ASCII
/// mode), so a 100,000-digit number is quoted by its head and its size, never copied whole. Control
/// bytes (below 0x20, and 0x7f) are shown as `?`, so the excerpt fits in a log line.
///
/// @code
/// excerpt("1.5");                  // "1.5"
/// excerpt(std::string(50, '9'));   // 40 nines, then "... (50 characters)"
/// @endcode
std::string excerpt(std::string_view text, std::size_t max = 40,
                    excerpt_bytes high = excerpt_bytes::utf8);

}  // namespace numsequence
