#include "numsequence/http/router.hpp"

#include <algorithm>
#include <charconv>

#include "numsequence/http/header_values.hpp"
#include "numsequence/http/query.hpp"

namespace numsequence {
namespace {

constexpr std::size_t quoted_prefix = 40;  // bytes of a long value quoted in a message
constexpr std::string_view malformed_query = "malformed query string: %00 is not allowed";

enum class endpoint {
  root,
  v1_fibonacci,
  v1_fibonacci_k,
  fib,
  fib_n,
  stream,
  metrics,
  healthz,
  readyz,
  unknown,
};

struct matched {
  endpoint where = endpoint::unknown;
  std::string_view segment;  // K or N of the routes that take one from the path
};

matched match_path(std::string_view path) {
  static constexpr std::pair<std::string_view, endpoint> exact[] = {
      {"/", endpoint::root},           {"/v1/fibonacci", endpoint::v1_fibonacci},
      {"/fib", endpoint::fib},         {"/v1/stream", endpoint::stream},
      {"/metrics", endpoint::metrics}, {"/healthz", endpoint::healthz},
      {"/readyz", endpoint::readyz},
  };
  for (const auto& [p, e] : exact) {
    if (path == p)
      return {e, {}};
  }
  static constexpr std::pair<std::string_view, endpoint> prefixed[] = {
      {"/v1/fibonacci/", endpoint::v1_fibonacci_k},
      {"/fib/", endpoint::fib_n},
  };
  for (const auto& [p, e] : prefixed) {
    if (path.size() > p.size() && path.substr(0, p.size()) == p) {
      const std::string_view segment = path.substr(p.size());
      if (segment.find('/') == std::string_view::npos)
        return {e, segment};
    }
  }
  return {};
}

/// `"value"`, escaped to printable ASCII, cut after quoted_prefix bytes.
std::string quote(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (const char c : value.substr(0, quoted_prefix)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  if (value.size() > quoted_prefix)
    return out + "...\" (" + std::to_string(value.size()) + " bytes)";
  return out + '"';
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// What a number is checked against: a count (at most max) or an index (below max).
enum class bound { count, index };

struct checked_number {
  std::uint64_t value = 0;
  std::string error;  // empty when value is valid
};

/// A parameter's digits, as a count or index within limits, or the message saying why not.
checked_number check_number(std::string_view subject, std::string_view given, bound b,
                            std::uint64_t max) {
  if (!all_digits(given)) {
    const bool negative = given.size() > 1 && given.front() == '-' && all_digits(given.substr(1)) &&
                          given.find_first_not_of('0', 1) != std::string_view::npos;
    return {0, std::string(subject) +
                   (negative ? " must not be negative, got "
                             : " must be a non-negative integer, got ") +
                   quote(given)};
  }
  // Leading zeros never count, so their number is no limit; what is left is at most 20 digits
  // for anything that fits in 64 bits.
  const std::string_view significant =
      given.substr(std::min(given.find_first_not_of('0'), given.size()));
  std::uint64_t value = 0;
  const char* const last = significant.data() + significant.size();
  const auto [end, ec] = std::from_chars(significant.data(), last, value);
  const bool fits = significant.empty() || (ec == std::errc{} && end == last);
  if (b == bound::count && (!fits || value > max))
    return {0, std::string(subject) + " must be at most " + std::to_string(max) + ", got " +
                   quote(given)};
  if (b == bound::index && (!fits || value >= max))
    return {0, std::string(subject) + " must be below " + std::to_string(max) + ", got " +
                   quote(given)};
  return {value, {}};
}

std::string parameter_subject(std::string_view name) {
  return "parameter \"" + std::string(name) + '"';
}

/// Fills in an error result; the caller has set body, vary_accept and head.
route_result& fail(route_result& r, unsigned status, std::string message) {
  r.kind = route_kind::error;
  r.status = status;
  r.message = std::move(message);
  r.cache = cache_policy::no_store;
  r.canonical_key.clear();
  return r;
}

/// The single value of a route's own parameter, or the message saying why there is none.
struct parameter_value {
  const query_parameter* found = nullptr;
  std::string error;
};

parameter_value single_parameter(const query_parameters& q, std::string_view name) {
  const std::size_t n = count_parameter(q, name);
  if (n > 1)
    return {nullptr, parameter_subject(name) + " is given more than once"};
  return {find_parameter(q, name), {}};
}

route_result& succeed_fibonacci(route_result& r, const fibonacci_query& q) {
  r.kind = route_kind::fibonacci;
  r.status = 200;
  r.fibonacci = q;
  r.canonical_key = fibonacci_key(q);
  r.cache = cache_policy::immutable;
  return r;
}

/// `/v1/fibonacci?n=` or `?from=&to=`; r.body and r.fibonacci.format are already negotiated.
route_result& route_v1_query(route_result& r, const query_parameters& q, std::uint64_t max) {
  const parameter_value n = single_parameter(q, "n");
  const parameter_value from = single_parameter(q, "from");
  const parameter_value to = single_parameter(q, "to");
  for (const auto* p : {&n, &from, &to}) {
    if (!p->error.empty())
      return fail(r, 400, p->error);
  }
  if (n.found != nullptr && (from.found != nullptr || to.found != nullptr))
    return fail(r, 400, R"(give either "n" or "from" and "to", not both)");
  if (n.found != nullptr) {
    const checked_number c =
        check_number(parameter_subject("n"), n.found->value, bound::count, max);
    if (!c.error.empty())
      return fail(r, 400, c.error);
    return succeed_fibonacci(r, {fibonacci_shape::first_n, r.fibonacci.format, 0, c.value});
  }
  if (from.found == nullptr && to.found == nullptr)
    return fail(r, 400, R"(missing parameter "n" (or "from" and "to"))");
  if (from.found == nullptr || to.found == nullptr)
    return fail(r, 400, std::string("missing parameter \"") + (from.found ? "to" : "from") + '"');
  const checked_number a =
      check_number(parameter_subject("from"), from.found->value, bound::index, max);
  if (!a.error.empty())
    return fail(r, 400, a.error);
  const checked_number b =
      check_number(parameter_subject("to"), to.found->value, bound::index, max);
  if (!b.error.empty())
    return fail(r, 400, b.error);
  if (a.value > b.value)
    return fail(r, 400,
                "parameter \"from\" (" + std::to_string(a.value) +
                    ") must not be greater than \"to\" (" + std::to_string(b.value) + ")");
  return succeed_fibonacci(
      r, {fibonacci_shape::range, r.fibonacci.format, a.value, b.value - a.value + 1});
}

/// `/fib?limit=N`, `/?num=N`: one parameter, `missing` says whether it must be there.
checked_number one_query_number(const query_parameters& q, std::string_view name, bound b,
                                std::uint64_t max) {
  const parameter_value p = single_parameter(q, name);
  if (!p.error.empty())
    return {0, p.error};
  if (p.found == nullptr)
    return {0, "missing parameter \"" + std::string(name) + '"'};
  return check_number(parameter_subject(name), p.found->value, b, max);
}

/// `/` and `/?num=N`: the page, also for its 400s (it shows the message).
route_result& route_page(route_result& r, const std::optional<query_parameters>& q,
                         std::uint64_t max) {
  r.kind = route_kind::page;
  r.body = body_type::page;
  if (q && find_parameter(*q, "num") == nullptr) {
    r.canonical_key = "page";
    r.cache = cache_policy::revalidate;
    return r;
  }
  const checked_number num = q ? one_query_number(*q, "num", bound::index, max)
                               : checked_number{0, std::string(malformed_query)};
  if (!num.error.empty()) {
    r.status = 400;
    r.message = num.error;
    return r;
  }
  r.page_num = num.value;
  r.canonical_key = "page/" + std::to_string(num.value);
  r.cache = cache_policy::revalidate;
  return r;
}

/// The body type of this endpoint's answers and errors, negotiated where the route does.
void set_body_type(route_result& r, endpoint e, const http_request& request) {
  switch (e) {
    case endpoint::v1_fibonacci:
    case endpoint::v1_fibonacci_k: {
      const bool text = negotiate_json_or_text(request.accept) == negotiated_type::text;
      r.body = text ? body_type::text : body_type::json;
      r.fibonacci.format = text ? fibonacci_format::text_spaces : fibonacci_format::json;
      r.vary_accept = true;
      return;
    }
    case endpoint::fib_n:
      r.body = body_type::json;
      r.fibonacci.format = fibonacci_format::compat_result;
      return;
    case endpoint::fib:
      r.fibonacci.format = fibonacci_format::text_lines;
      break;
    case endpoint::root:
    case endpoint::stream:
    case endpoint::metrics:
    case endpoint::healthz:
    case endpoint::readyz:
    case endpoint::unknown:
      break;
  }
  r.body = body_type::text;
}

route_result& route_stream(route_result& r, const http_request& request) {
  if (request.method == request_method::get && request.upgrade &&
      list_has_token(request.upgrade_protocols, "websocket")) {
    r.kind = route_kind::websocket;
    return r;
  }
  r.upgrade_websocket = true;
  return fail(r, 426, "/v1/stream speaks WebSocket only: send a WebSocket upgrade request");
}

route_result& route_fibonacci_endpoint(route_result& r, const matched& m, const query_parameters& q,
                                       std::uint64_t max) {
  if (m.where == endpoint::v1_fibonacci)
    return route_v1_query(r, q, max);
  if (m.where == endpoint::fib) {
    const checked_number c = one_query_number(q, "limit", bound::count, max);
    if (!c.error.empty())
      return fail(r, 400, c.error);
    return succeed_fibonacci(r, {fibonacci_shape::first_n, r.fibonacci.format, 0, c.value});
  }
  if (m.where == endpoint::fib_n) {
    const checked_number c = check_number("path parameter \"N\"", m.segment, bound::count, max);
    if (!c.error.empty())
      return fail(r, 400, c.error);
    return succeed_fibonacci(r, {fibonacci_shape::first_n, r.fibonacci.format, 0, c.value});
  }
  const checked_number c = check_number("path parameter \"k\"", m.segment, bound::index, max);
  if (!c.error.empty())
    return fail(r, 400, c.error);
  return succeed_fibonacci(r, {fibonacci_shape::single, r.fibonacci.format, c.value, 1});
}

}  // namespace

std::string fibonacci_key(const fibonacci_query& q) {
  std::string key = "fibonacci-v1/";
  switch (q.format) {
    case fibonacci_format::json:
      key += "json/";
      break;
    case fibonacci_format::text_spaces:
      key += "text/";
      break;
    case fibonacci_format::text_lines:
      key += "lines/";
      break;
    case fibonacci_format::compat_result:
      key += "compat/";
      break;
  }
  switch (q.shape) {
    case fibonacci_shape::first_n:
      key += "n/";
      break;
    case fibonacci_shape::range:
      key += "range/";
      break;
    case fibonacci_shape::single:
      key += "k/";
      break;
  }
  return key + std::to_string(q.from) + '/' + std::to_string(q.count);
}

route_result route(const http_request& request, const route_limits& limits) {
  route_result r;
  r.head = request.method == request_method::head;
  const std::uint64_t max = std::min(limits.max_fibonacci, max_fibonacci_index + 1);
  const matched m = match_path(request.path);
  if (m.where == endpoint::unknown) {
    r.body = request.path.starts_with("/v1/") ? body_type::json : body_type::text;
    return fail(r, 404, "no such resource: " + quote(request.path));
  }
  set_body_type(r, m.where, request);
  if (request.method == request_method::other) {
    r.allow_get_head = true;
    return fail(r, 405, "method not allowed: use GET or HEAD");
  }
  switch (m.where) {
    case endpoint::stream:
      return route_stream(r, request);
    case endpoint::metrics:
      r.kind = route_kind::metrics;
      return r;
    case endpoint::healthz:
      r.kind = route_kind::healthz;
      return r;
    case endpoint::readyz:
      r.kind = route_kind::readyz;
      return r;
    default:
      break;
  }
  const auto q = parse_query(request.query);
  if (m.where == endpoint::root)
    return route_page(r, q, max);
  if (!q)
    return fail(r, 400, std::string(malformed_query));
  return route_fibonacci_endpoint(r, m, *q, max);
}

}  // namespace numsequence
