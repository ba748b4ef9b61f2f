#include "numsequence/http/page.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "page_template.hpp"

namespace numsequence {
namespace {

/// The places the template leaves open, in the order they appear in it.
enum class slot { max_fibonacci, num, hint, error, result };

struct slot_marker {
  std::string_view marker;
  slot what;
};

constexpr std::array<slot_marker, 5> slots{{
    {"@@MAX_FIBONACCI@@", slot::max_fibonacci},
    {"@@NUM@@", slot::num},
    {"@@HINT@@", slot::hint},
    {"@@ERROR@@", slot::error},
    {"@@RESULT@@", slot::result},
}};

struct filled {
  std::uint64_t max_fibonacci = 0;
  std::string num;     // digits, or empty
  std::string result;  // `F(N) = value`, or empty
  std::string_view error;
};

void append_slot(std::string& out, slot what, const filled& f) {
  switch (what) {
    case slot::max_fibonacci:
      out += std::to_string(f.max_fibonacci);
      break;
    case slot::num:
      out += f.num;
      break;
    case slot::hint:
      // n is an index, as num is: the largest allowed is one below the limit.
      if (f.max_fibonacci == 0)
        out += "This server's limit allows no n.";
      else
        out += "A whole number from 0 to " + std::to_string(f.max_fibonacci - 1) + '.';
      break;
    case slot::error:
      append_html_escaped(out, f.error);
      break;
    case slot::result:
      out += f.result;  // digits, parentheses, spaces and '=': nothing to escape
      break;
  }
}

}  // namespace

std::string render_page(const page_content& content) {
  filled f;
  f.max_fibonacci = std::min(content.max_fibonacci, max_fibonacci_index + 1);
  f.error = content.error;
  if (f.error.empty() && content.num) {
    const std::uint64_t num = *content.num;
    if (num >= f.max_fibonacci)
      throw std::out_of_range("render_page: num " + std::to_string(num) +
                              " is not below max_fibonacci " + std::to_string(f.max_fibonacci));
    f.num = std::to_string(num);
    f.result = "F(" + f.num + ") = " + fibonacci_value(num);
  }

  const std::string_view page = detail::page_template();
  std::string out;
  out.reserve(page.size() + f.result.size() + 6 * f.error.size() + 64);
  std::size_t pos = 0;
  for (const slot_marker& s : slots) {
    const std::size_t at = page.find(s.marker, pos);
    if (at == std::string_view::npos)
      continue;  // the unit tests hold the template to every marker, in order
    out.append(page.substr(pos, at - pos));
    append_slot(out, s.what, f);
    pos = at + s.marker.size();
  }
  out.append(page.substr(pos));
  return out;
}

std::string render_page(const route_result& route, std::uint64_t max_fibonacci) {
  page_content content;
  content.max_fibonacci = max_fibonacci;
  if (route.status >= 400)
    content.error = route.message;
  else
    content.num = route.page_num;
  return render_page(content);
}

void append_html_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace numsequence
