#include "numsequence/http/header_values.hpp"

#include <optional>

namespace numsequence {
namespace {

constexpr unsigned full_quality = 1000;

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

/// The end of the member starting at `from`: the next comma outside a quoted-string.
std::size_t member_end(std::string_view list, std::size_t from) noexcept {
  bool quoted = false;
  for (std::size_t i = from; i < list.size(); ++i) {
    const char c = list[i];
    if (quoted && c == '\\') {
      ++i;  // quoted-pair: the next byte is literal
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      return i;
    }
  }
  return list.size();
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<unsigned> parse_qvalue(std::string_view q) noexcept {
  if (q.empty() || (q[0] != '0' && q[0] != '1') || q.size() > 5)
    return std::nullopt;
  unsigned value = q[0] == '1' ? full_quality : 0;
  if (q.size() == 1)
    return value;
  if (q[1] != '.')
    return std::nullopt;
  unsigned scale = 100;
  for (char c : q.substr(2)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value += static_cast<unsigned>(c - '0') * scale;
    scale /= 10;
  }
  return value <= full_quality ? std::optional<unsigned>(value) : std::nullopt;
}

/// One Accept member: its range and q; nullopt when malformed.
struct media_range {
  std::string_view type;
  std::string_view subtype;
  unsigned quality = full_quality;
};

std::optional<media_range> parse_media_range(std::string_view member) noexcept {
  media_range out;
  const std::size_t semicolon = member.find(';');
  const std::string_view range = trim(member.substr(0, semicolon));
  const std::size_t slash = range.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == range.size())
    return std::nullopt;
  out.type = range.substr(0, slash);
  out.subtype = range.substr(slash + 1);
  if (out.type == "*" && out.subtype != "*")
    return std::nullopt;
  std::string_view params =
      semicolon == std::string_view::npos ? std::string_view{} : member.substr(semicolon + 1);
  // The first `q` parameter is the weight; parameters after it are accept-ext (ignored).
  while (!params.empty()) {
    const std::size_t next = params.find(';');
    const std::string_view param = trim(params.substr(0, next));
    if (param.size() >= 2 && lower(param[0]) == 'q' && param[1] == '=') {
      const auto q = parse_qvalue(param.substr(2));
      if (!q)
        return std::nullopt;
      out.quality = *q;
      break;
    }
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
  }
  return out;
}

}  // namespace

unsigned accept_quality(std::string_view accept, std::string_view type, std::string_view subtype) {
  if (trim(accept).empty())
    return full_quality;
  int best_specificity = -1;  // 0: */*, 1: type/*, 2: type/subtype
  unsigned best = 0;
  for (std::size_t from = 0; from <= accept.size();) {
    const std::size_t end = member_end(accept, from);
    const auto range = parse_media_range(accept.substr(from, end - from));
    from = end + 1;
    if (!range)
      continue;
    int specificity = -1;
    if (range->type == "*")
      specificity = 0;
    else if (iequals(range->type, type) && range->subtype == "*")
      specificity = 1;
    else if (iequals(range->type, type) && iequals(range->subtype, subtype))
      specificity = 2;
    if (specificity < 0 || specificity < best_specificity)
      continue;
    if (specificity > best_specificity || range->quality > best)
      best = range->quality;
    best_specificity = specificity;
  }
  return best;
}

negotiated_type negotiate_json_or_text(std::string_view accept) {
  const unsigned text = accept_quality(accept, "text", "plain");
  const unsigned json = accept_quality(accept, "application", "json");
  return text > json ? negotiated_type::text : negotiated_type::json;
}

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  const std::string_view trimmed = trim(header);
  if (trimmed == "*")
    return true;
  std::size_t i = 0;
  for (;;) {
    while (i < trimmed.size() && (is_ows(trimmed[i]) || trimmed[i] == ','))
      ++i;
    if (i == trimmed.size())
      return false;
    if (trimmed.substr(i, 2) == "W/")
      i += 2;
    if (i == trimmed.size() || trimmed[i] != '"')
      return false;
    const std::size_t close = trimmed.find('"', i + 1);
    if (close == std::string_view::npos)
      return false;
    if (trimmed.substr(i, close + 1 - i) == etag)
      return true;
    i = close + 1;
  }
}

bool list_has_token(std::string_view list, std::string_view token) {
  for (std::size_t from = 0; from <= list.size();) {
    std::size_t end = list.find(',', from);
    if (end == std::string_view::npos)
      end = list.size();
    if (iequals(trim(list.substr(from, end - from)), token))
      return true;
    from = end + 1;
  }
  return false;
}

}  // namespace numsequence
