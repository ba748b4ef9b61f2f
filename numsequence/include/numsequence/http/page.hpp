#pragma once
/// @brief The web page at `/`: the HTML the build embeds (web/page.html with its stylesheet and
/// scripts inlined, see cmake/embed_page.cmake), filled in for one answer: the server's limit,
/// and the result of `/?num=N` (`F(N) = <exact value>`) or the message of a 400. Builds a
/// string only; no I/O.
///
/// The page is self-contained (no other file is fetched) and under 64 KiB before a result is
/// filled in. Without JavaScript its form asks for `/?num=N` again; with JavaScript it checks
/// n against the limit itself and streams F(n) and the first n numbers over `/v1/stream`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/http/router.hpp"
#include "numsequence/sequence/fibonacci.hpp"

namespace numsequence {

/// @brief What one rendering of the page shows.
struct page_content {
  /// The server's `--max-fibonacci`: the page's script refuses an n that is not below it
  /// (n is an index, as `num` is), and its hint says so. Clamped to max_fibonacci_index + 1.
  std::uint64_t max_fibonacci = default_max_fibonacci;
  /// `/?num=N`: show `F(N) = <value>` and put N in the form. Must be below max_fibonacci.
  std::optional<std::uint64_t> num;
  /// A 400's message (the router's, printable ASCII; any text is HTML-escaped), shown in the
  /// page's alert instead of a result. When not empty, `num` is not shown.
  std::string_view error;
};

/// @brief The page for `content`, as the body of a `text/html; charset=utf-8` answer.
///
/// F(N) is computed here (fibonacci_value(), O(log N) multiplications), so the caller should
/// keep rendered pages in its response cache. Throws std::out_of_range if `num` is not below
/// the (clamped) max_fibonacci, and never otherwise (std::bad_alloc aside). Thread-safe.
///
/// @code
/// render_page({.max_fibonacci = 25000, .num = 19});  // ...<p id="value" ...>F(19) = 4181</p>...
/// @endcode
std::string render_page(const page_content& content);

/// @brief The page for a route_kind::page answer: its 400 message, or its page_num.
std::string render_page(const route_result& route, std::uint64_t max_fibonacci);

/// @brief Appends `text` escaped for HTML text and quoted attribute values: `&`, `<`, `>`,
/// `"` and `'` become character references; every other byte is kept as it is.
void append_html_escaped(std::string& out, std::string_view text);

}  // namespace numsequence
