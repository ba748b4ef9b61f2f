#include "numsequence/http/request_parser.hpp"

#include <http_parser.h>

#include <algorithm>
#include <array>
#include <climits>
#include <string>

#include "numsequence/http/request_target.hpp"

namespace numsequence {
namespace {

enum class phase {
  request_line,  // before the request line's LF
  headers,       // after it, before the head is complete
  ready,         // a head was handed out; the parser is paused
  failed,        // an error was reported; nothing more is parsed
};

/// The header fields a request keeps, and Transfer-Encoding, which only counts as present.
enum class field {
  other,
  host,
  accept,
  if_none_match,
  connection,
  upgrade,
  sec_websocket_key,
  sec_websocket_version,
  origin,
  transfer_encoding,
};

struct known_field {
  std::string_view lower_name;
  field id;
};

constexpr std::array<known_field, 9> known_fields{{
    {"host", field::host},
    {"accept", field::accept},
    {"if-none-match", field::if_none_match},
    {"connection", field::connection},
    {"upgrade", field::upgrade},
    {"sec-websocket-key", field::sec_websocket_key},
    {"sec-websocket-version", field::sec_websocket_version},
    {"origin", field::origin},
    {"transfer-encoding", field::transfer_encoding},
}};

// Longer names are none of the above: only their characters are checked.
constexpr std::size_t longest_known_name = 21;

/// tchar of RFC 9110 5.6.2: what a field name is made of. http_parser, built lenient, lets
/// a space through (`Bad Name: 1`); it does refuse control characters in values itself.
bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim_whitespace(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

struct request_parser::impl {
  explicit impl(request_limits l) : limits(l) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
  }

  http_parser parser{};
  request_limits limits;
  http_request request;
  phase state = phase::request_line;
  std::size_t line_bytes = 0;    // bytes of the request-line phase fed to the parser
  bool line_started = false;     // a byte other than CR/LF seen in that phase
  std::size_t header_bytes = 0;  // bytes of the header phase fed to the parser
  std::size_t fields = 0;
  bool in_value = false;  // the last callback was part of a field value
  std::string name;       // the current field's name, lower-cased (up to longest_known_name)
  bool name_too_long = false;
  field current = field::other;
  std::string value;  // the current value, when current is kept
  bool host_seen = false;
  bool transfer_encoding_seen = false;
  unsigned status = 0;
  std::string message;

  static impl& of(http_parser* p) noexcept { return *static_cast<impl*>(p->data); }

  /// Records the first problem a data callback finds; head_complete() refuses the request
  /// with it. Data callbacks fire wherever the reads happen to end, while the parser's own
  /// errors fire at the offending byte: acting on a problem at once would make which error
  /// a client gets depend on how its bytes were split. on_headers_complete fires at a fixed
  /// byte, and the head is bounded meanwhile by the block limit.
  void note_problem(unsigned s, std::string_view why) {
    if (status == 0) {
      status = s;
      message.assign(why);
    }
  }

  /// Refuses the request from a notify callback (a fixed byte); stops the parser.
  int refuse(unsigned s, std::string_view why) {
    status = s;
    message.assign(why);
    return -1;
  }

  void begin_next();
  std::size_t line_slice(std::string_view rest, bool& line_ends);
  parse_result finish(parse_result::kind what, std::size_t consumed);
  parse_result fail(std::size_t consumed, unsigned s, std::string_view why);
  parse_result fail_from_parser(std::size_t consumed);
  bool version_supported() const noexcept;

  void finish_field();
  void start_field();
  void field_name_piece(std::string_view piece);
  void field_value_piece(std::string_view piece);
  int head_complete();
  std::string* destination() noexcept;

  static int on_url(http_parser* p, const char* at, std::size_t length);
  static int on_header_field(http_parser* p, const char* at, std::size_t length);
  static int on_header_value(http_parser* p, const char* at, std::size_t length);
  static int on_headers_complete(http_parser* p);
  static int on_message_complete(http_parser* p);
  static const http_parser_settings& settings() noexcept;
};

// http_parser's callbacks: each finds its impl through parser->data.

int request_parser::impl::on_url(http_parser* p, const char* at, std::size_t length) {
  // Bounded: the request line is cut at limits.max_request_line before the parser sees more.
  of(p).request.target.append(at, length);
  return 0;
}

int request_parser::impl::on_header_field(http_parser* p, const char* at, std::size_t length) {
  impl& s = of(p);
  if (s.in_value || s.fields == 0)
    s.start_field();
  s.field_name_piece({at, length});
  return 0;
}

int request_parser::impl::on_header_value(http_parser* p, const char* at, std::size_t length) {
  of(p).field_value_piece({at, length});
  return 0;
}

int request_parser::impl::on_headers_complete(http_parser* p) {
  return of(p).head_complete();
}

int request_parser::impl::on_message_complete(http_parser* p) {
  of(p).state = phase::ready;
  // Stop right after this head: the caller answers it before the next one is parsed.
  http_parser_pause(p, 1);
  return 0;
}

const http_parser_settings& request_parser::impl::settings() noexcept {
  static const http_parser_settings table = [] {
    http_parser_settings t;
    http_parser_settings_init(&t);
    t.on_url = on_url;
    t.on_header_field = on_header_field;
    t.on_header_value = on_header_value;
    t.on_headers_complete = on_headers_complete;
    t.on_message_complete = on_message_complete;
    return t;
  }();
  return table;
}

void request_parser::impl::start_field() {
  finish_field();
  if (++fields > limits.max_header_fields)
    note_problem(431, "more than " + std::to_string(limits.max_header_fields) + " header fields");
  in_value = false;
  name.clear();
  name_too_long = false;
  current = field::other;
}

void request_parser::impl::field_name_piece(std::string_view piece) {
  if (!std::all_of(piece.begin(), piece.end(), is_token_char))
    note_problem(400, "malformed request: invalid character in a header field name");
  if (name_too_long || name.size() + piece.size() > longest_known_name) {
    name_too_long = true;
    return;
  }
  for (char c : piece)
    name += lower(c);
}

void request_parser::impl::field_value_piece(std::string_view piece) {
  if (!in_value) {
    in_value = true;
    value.clear();
    current = field::other;
    if (!name_too_long) {
      for (const known_field& k : known_fields) {
        if (k.lower_name == name)
          current = k.id;
      }
    }
    if (current == field::host) {
      if (host_seen)
        note_problem(400, "malformed request: more than one Host header");
      host_seen = true;
    }
    if (current == field::transfer_encoding)
      transfer_encoding_seen = true;
  }
  // Bounded: the header block is cut at limits.max_header_block.
  if (destination() != nullptr)
    value.append(piece);
}

std::string* request_parser::impl::destination() noexcept {
  switch (current) {
    case field::host:
      return &request.host;
    case field::accept:
      return &request.accept;
    case field::if_none_match:
      return &request.if_none_match;
    case field::connection:
      return &request.connection;
    case field::upgrade:
      return &request.upgrade_protocols;
    case field::sec_websocket_key:
      return &request.sec_websocket_key;
    case field::sec_websocket_version:
      return &request.sec_websocket_version;
    case field::origin:
      return &request.origin;
    case field::transfer_encoding:
    case field::other:
      break;
  }
  return nullptr;
}

void request_parser::impl::finish_field() {
  std::string* out = destination();
  if (out == nullptr)
    return;
  const std::string_view v = trim_whitespace(value);
  // A repeated list header is one list (RFC 9110 5.3); an empty member adds nothing.
  if (!out->empty() && !v.empty())
    out->append(", ");
  out->append(v);
  value.clear();
  current = field::other;
}

int request_parser::impl::head_complete() {
  finish_field();
  if (status != 0)
    return -1;  // a problem noted by a data callback
  switch (parser.method) {
    case HTTP_GET:
      request.method = request_method::get;
      break;
    case HTTP_HEAD:
      request.method = request_method::head;
      break;
    case HTTP_CONNECT:
      return refuse(405, "CONNECT is not supported: this server is not a proxy");
    default:
      request.method = request_method::other;
      break;
  }
  auto target = parse_request_target(request.target);
  if (!target)
    return refuse(400, "malformed request: invalid request target");
  request.path = std::move(target->path);
  request.query = std::move(target->query);
  if (request.version == http_version::http_1_1 && !host_seen)
    return refuse(400, "malformed request: HTTP/1.1 requires a Host header");
  // http_parser sets content_length to ULLONG_MAX when there is no Content-Length.
  const bool has_length = parser.content_length != ULLONG_MAX && parser.content_length > 0;
  if (transfer_encoding_seen || has_length)
    return refuse(413, "request bodies are not accepted");
  request.keep_alive = http_should_keep_alive(&parser) != 0;
  request.upgrade = parser.upgrade != 0;
  return 0;
}

void request_parser::impl::begin_next() {
  if (HTTP_PARSER_ERRNO(&parser) == HPE_PAUSED)
    http_parser_pause(&parser, 0);
  request = http_request{};
  state = phase::request_line;
  line_bytes = 0;
  line_started = false;
  header_bytes = 0;
  fields = 0;
  in_value = false;
  name.clear();
  name_too_long = false;
  current = field::other;
  value.clear();
  host_seen = false;
  transfer_encoding_seen = false;
  status = 0;
  message.clear();
}

// The bytes of `rest` that the request-line phase may feed: up to and including the line's
// LF, and never past the line limit. Empty lines before the line are skipped by the parser
// (RFC 9112 2.2) but count against the limit, so they cannot be sent forever either.
std::size_t request_parser::impl::line_slice(std::string_view rest, bool& line_ends) {
  line_ends = false;
  const std::size_t budget =
      limits.max_request_line - std::min(line_bytes, limits.max_request_line);
  const std::string_view window = rest.substr(0, budget);
  std::size_t from = 0;
  while (!line_started && from < window.size()) {
    if (window[from] != '\r' && window[from] != '\n')
      line_started = true;
    else
      ++from;
  }
  if (!line_started)
    return window.size();
  const std::size_t lf = window.find('\n', from);
  if (lf == std::string_view::npos)
    return window.size();
  line_ends = true;
  return lf + 1;
}

bool request_parser::impl::version_supported() const noexcept {
  return parser.http_major == 1 && (parser.http_minor == 0 || parser.http_minor == 1);
}

parse_result request_parser::impl::fail(std::size_t consumed, unsigned s, std::string_view why) {
  state = phase::failed;
  status = s;
  message.assign(why);
  return finish(parse_result::kind::error, consumed);
}

parse_result request_parser::impl::fail_from_parser(std::size_t consumed) {
  const auto code = HTTP_PARSER_ERRNO(&parser);
  if (code >= HPE_CB_message_begin && code <= HPE_CB_chunk_complete && status != 0) {
    state = phase::failed;  // a callback said why
    return finish(parse_result::kind::error, consumed);
  }
  if (code == HPE_HEADER_OVERFLOW)
    return fail(consumed, 431, "header block too large");
  if (code == HPE_INVALID_METHOD)
    return fail(consumed, 400, "malformed request: unknown or malformed method");
  return fail(consumed, 400, std::string("malformed request: ") + http_errno_description(code));
}

parse_result request_parser::impl::finish(parse_result::kind what, std::size_t consumed) {
  parse_result r;
  r.what = what;
  r.consumed = consumed;
  if (what == parse_result::kind::error) {
    r.status = status;
    r.message = message;
  }
  return r;
}

request_parser::request_parser(request_limits limits) : impl_(std::make_unique<impl>(limits)) {}
request_parser::~request_parser() = default;
request_parser::request_parser(request_parser&&) noexcept = default;
request_parser& request_parser::operator=(request_parser&&) noexcept = default;

const http_request& request_parser::request() const noexcept {
  return impl_->request;
}

bool request_parser::idle() const noexcept {
  return impl_->state == phase::ready ||
         (impl_->state == phase::request_line && !impl_->line_started);
}

const request_limits& request_parser::limits() const noexcept {
  return impl_->limits;
}

parse_result request_parser::consume(std::string_view bytes) {
  impl& s = *impl_;
  if (s.state == phase::failed)
    return s.finish(parse_result::kind::error, 0);
  if (s.state == phase::ready)
    s.begin_next();
  std::size_t used = 0;
  while (used < bytes.size()) {
    const std::string_view rest = bytes.substr(used);
    const bool in_line = s.state == phase::request_line;
    bool line_ends = false;
    const std::size_t take =
        in_line ? s.line_slice(rest, line_ends)
                : std::min(rest.size(), s.limits.max_header_block - s.header_bytes);
    if (take == 0 && in_line)
      return s.fail(
          used, 414,
          "request line longer than " + std::to_string(s.limits.max_request_line) + " bytes");
    if (take == 0)
      return s.fail(
          used, 431,
          "header block longer than " + std::to_string(s.limits.max_header_block) + " bytes");
    const std::size_t n = http_parser_execute(&s.parser, &impl::settings(), rest.data(), take);
    used += n;
    (in_line ? s.line_bytes : s.header_bytes) += n;
    if (s.state == phase::ready)
      return s.finish(parse_result::kind::request, used);
    if (HTTP_PARSER_ERRNO(&s.parser) != HPE_OK || n != take)
      return s.fail_from_parser(used);
    if (line_ends) {
      // The version is known once the request line is: refuse it before reading headers.
      if (!s.version_supported())
        return s.fail(used, 505,
                      "HTTP version " + std::to_string(s.parser.http_major) + "." +
                          std::to_string(s.parser.http_minor) +
                          " is not supported (1.0 and 1.1 are)");
      s.request.version =
          s.parser.http_minor == 0 ? http_version::http_1_0 : http_version::http_1_1;
      s.state = phase::headers;
    }
  }
  return s.finish(parse_result::kind::need_more, used);
}

}  // namespace numsequence
