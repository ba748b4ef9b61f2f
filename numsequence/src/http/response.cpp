#include "numsequence/http/response.hpp"

#include <array>
#include <charconv>

#include "numsequence/http/header_values.hpp"

namespace numsequence {
namespace {

std::string_view content_type_text(content_type t) noexcept {
  switch (t) {
    case content_type::json:
      return "application/json";
    case content_type::text:
      return "text/plain; charset=utf-8";
    case content_type::prometheus:
      return "text/plain; version=0.0.4; charset=utf-8";
    case content_type::html:
      return "text/html; charset=utf-8";
    case content_type::none:
      break;
  }
  return {};
}

std::string_view cache_control_text(cache_policy c) noexcept {
  switch (c) {
    case cache_policy::immutable:
      return "public, max-age=31536000, immutable";
    case cache_policy::revalidate:
      return "no-cache";
    case cache_policy::no_store:
      break;
  }
  return "no-store";
}

/// 1xx, 204 and 304 never have a body, whatever the request (RFC 9112 6.3).
bool status_has_body(unsigned status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

void append_number(std::string& out, std::uint64_t value, int base = 10) {
  std::array<char, 24> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value, base);
  out.append(digits.data(), end);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

/// Content-Length or Transfer-Encoding, and what the caller writes after the head.
head_written append_framing(std::string& out, const response_head& h) {
  head_written w;
  w.keep_alive = h.keep_alive;
  if (!status_has_body(h.status))
    return w;
  if (h.content_length) {
    out.append("Content-Length: ");
    append_number(out, *h.content_length);
    out.append("\r\n");
    w.framing = body_framing::content_length;
  } else if (h.version == http_version::http_1_1) {
    append_field(out, "Transfer-Encoding", "chunked");
    w.framing = body_framing::chunked;
  } else if (!h.head_request) {
    // HTTP/1.0 has no chunks: the end of the connection is the end of the body.
    w.framing = body_framing::close_delimited;
    w.keep_alive = false;
  }
  if (h.head_request)
    w.framing = body_framing::none;
  return w;
}

void append_connection(std::string& out, const response_head& h, bool keep_alive) {
  std::string_view persistence;
  if (!keep_alive)
    persistence = "close";
  else if (h.version == http_version::http_1_0)
    persistence = "keep-alive";
  if (persistence.empty() && !h.upgrade_websocket)
    return;
  out.append("Connection: ");
  out.append(persistence);
  if (h.upgrade_websocket)
    out.append(persistence.empty() ? "upgrade" : ", upgrade");
  out.append("\r\n");
}

}  // namespace

std::string_view reason_phrase(unsigned status) noexcept {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return {};
  }
}

head_written append_response_head(std::string& out, const response_head& h) {
  out.append("HTTP/1.1 ");
  append_number(out, h.status);
  out += ' ';
  out.append(reason_phrase(h.status));
  out.append("\r\n");
  append_field(out, "Date", h.date);
  append_field(out, "Server", "numsequence");
  if (h.type != content_type::none && h.status != 304)
    append_field(out, "Content-Type", content_type_text(h.type));
  const head_written w = append_framing(out, h);
  append_connection(out, h, w.keep_alive);
  if (!h.etag.empty())
    append_field(out, "ETag", h.etag);
  append_field(out, "Cache-Control", cache_control_text(h.cache));
  if (h.vary_accept)
    append_field(out, "Vary", "Accept");
  if (h.allow_get_head)
    append_field(out, "Allow", "GET, HEAD");
  if (h.upgrade_websocket)
    append_field(out, "Upgrade", "websocket");
  out.append("\r\n");
  return w;
}

std::string etag_for(std::string_view canonical_key) {
  std::string tag = "\"";
  tag.append(canonical_key);
  tag += '"';
  return tag;
}

content_type content_type_for(body_type body) noexcept {
  switch (body) {
    case body_type::json:
      return content_type::json;
    case body_type::page:
      return content_type::html;
    case body_type::text:
      break;
  }
  return content_type::text;
}

response_head answer_head(const route_result& route, const http_request& request,
                          std::string_view date) {
  response_head h;
  h.status = route.status;
  h.version = request.version;
  h.keep_alive = request.keep_alive;
  h.head_request = route.head;
  h.date = date;
  h.type = content_type_for(route.body);
  h.content_length = std::nullopt;
  h.cache = route.cache;
  h.vary_accept = route.vary_accept;
  if (route.status == 200 && route.cache == cache_policy::immutable &&
      !route.canonical_key.empty()) {
    h.etag = etag_for(route.canonical_key);
    if (!request.if_none_match.empty() && if_none_match_matches(request.if_none_match, h.etag))
      h.status = 304;
  }
  return h;
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out.append("\\u00");
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
}

std::string error_body(body_type type, std::string_view message) {
  std::string body;
  if (type == body_type::json) {
    body = R"({"error":")";
    append_json_escaped(body, message);
    body.append("\"}");
  } else {
    body.assign(message);
    body += '\n';
  }
  return body;
}

head_written append_error_response(std::string& out, const route_result& route,
                                   const http_request& request, std::string_view date) {
  const std::string body = error_body(route.body, route.message);
  response_head h;
  h.status = route.status;
  h.version = request.version;
  h.keep_alive = request.keep_alive;
  h.head_request = route.head;
  h.date = date;
  h.type = content_type_for(route.body);
  h.content_length = body.size();
  h.cache = cache_policy::no_store;
  h.vary_accept = route.vary_accept;
  h.allow_get_head = route.allow_get_head;
  h.upgrade_websocket = route.upgrade_websocket;
  const head_written w = append_response_head(out, h);
  if (w.framing == body_framing::content_length)
    out.append(body);
  return w;
}

void append_parse_error_response(std::string& out, const parse_result& error,
                                 std::string_view date) {
  const std::string body = error_body(body_type::text, error.message);
  response_head h;
  h.status = error.status;
  h.keep_alive = false;
  h.date = date;
  h.type = content_type::text;
  h.content_length = body.size();
  h.allow_get_head = error.status == 405;
  append_response_head(out, h);
  out.append(body);
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty())
    return;
  append_chunk_header(out, data.size());
  out.append(data);
  append_chunk_end(out);
}

void append_chunk_header(std::string& out, std::size_t size) {
  append_number(out, size, 16);
  out.append("\r\n");
}

void append_chunk_end(std::string& out) {
  out.append("\r\n");
}

void append_last_chunk(std::string& out) {
  out.append("0\r\n\r\n");
}

std::string format_http_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 7> weekdays = {"Sun", "Mon", "Tue", "Wed",
                                                               "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> time{floor<seconds>(t - day)};
  const auto two = [](std::string& s, long v) {
    s += static_cast<char>('0' + v / 10);
    s += static_cast<char>('0' + v % 10);
  };
  std::string out;
  out.reserve(29);
  out.append(weekdays[weekday{day}.c_encoding()]);
  out.append(", ");
  two(out, static_cast<long>(static_cast<unsigned>(ymd.day())));
  out += ' ';
  out.append(months[static_cast<unsigned>(ymd.month()) - 1]);
  out += ' ';
  const int y = static_cast<int>(ymd.year());
  two(out, y / 100 % 100);
  two(out, y % 100);
  out += ' ';
  two(out, time.hours().count());
  out += ':';
  two(out, time.minutes().count());
  out += ':';
  two(out, static_cast<long>(time.seconds().count()));
  out.append(" GMT");
  return out;
}

std::string_view http_date_cache::get(std::chrono::system_clock::time_point now) {
  const auto second = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  if (second != second_ || text_.empty()) {
    text_ = format_http_date(now);
    second_ = second;
  }
  return text_;
}

}  // namespace numsequence
