#include "numsequence/websocket/client_handshake.hpp"

#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "numsequence/websocket/excerpt.hpp"
#include "numsequence/websocket/handshake.hpp"

namespace numsequence {

namespace {

using status = upgrade_response_reader::status;

// The header fields of a 101 that the client checks.
enum class field { other, upgrade, connection, accept, extensions, protocol };

struct known_field {
  std::string_view lower_name;
  field id;
};

constexpr std::array<known_field, 5> known_fields{{
    {"upgrade", field::upgrade},
    {"connection", field::connection},
    {"sec-websocket-accept", field::accept},
    {"sec-websocket-extensions", field::extensions},
    {"sec-websocket-protocol", field::protocol},
}};

// Longer names are none of the above, so only this much of a name is kept.
constexpr std::size_t longest_known_name = 24;

constexpr char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view value) {
  return '"' + excerpt(value, 40, excerpt_bytes::ascii) + '"';
}

// RFC 3986 host: an IPv6 address goes in brackets.
std::string host_header(const websocket_target& target) {
  std::string host =
      target.host.find(':') == std::string::npos ? target.host : '[' + target.host + ']';
  if (target.port != 80)
    host += ':' + std::to_string(target.port);
  return host;
}

}  // namespace

std::string make_websocket_key() {
  std::array<unsigned char, 16> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
    throw std::runtime_error("the random source failed (RAND_bytes)");
  // base64 of 16 bytes: 24 characters and the terminating NUL EVP_EncodeBlock writes.
  std::array<unsigned char, 25> text{};
  const int n = EVP_EncodeBlock(text.data(), nonce.data(), static_cast<int>(nonce.size()));
  return {reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n)};
}

std::string upgrade_request_text(const websocket_target& target, std::string_view key) {
  std::string out = "GET ";
  out += target.path;
  out += " HTTP/1.1\r\nHost: ";
  out += host_header(target);
  out += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  out += key;
  out += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return out;
}

struct upgrade_response_reader::impl {
  explicit impl(std::string k) : key(std::move(k)) {
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = this;
  }

  http_parser parser{};
  std::string key;
  status state = status::incomplete;
  std::string reason;
  std::size_t head_bytes = 0;  // bytes fed before the head was complete
  bool head_done = false;
  bool upgrade_ok = false;  // the head was a valid 101: accepted at message complete
  // The status line's reason phrase and the body's start, for a refusal's message.
  std::string status_text;
  std::string body;
  // Header fields, as in request_parser: pieces of a name, then pieces of its value.
  bool in_value = false;
  std::string name;
  field current = field::other;
  std::array<std::string, 6> values;  // indexed by field

  static impl& of(http_parser* p) noexcept { return *static_cast<impl*>(p->data); }

  void refuse(std::string why) {
    if (state != status::incomplete)
      return;
    state = status::refused;
    reason = std::move(why);
  }

  void start_field() {
    in_value = false;
    name.clear();
    current = field::other;
  }

  void value_starts() {
    in_value = true;
    current = field::other;
    for (const known_field& k : known_fields) {
      if (k.lower_name == name)
        current = k.id;
    }
    auto& v = values[static_cast<std::size_t>(current)];
    // A repeated field is one list (RFC 9110 section 5.3).
    if (current != field::other && !v.empty())
      v += ", ";
  }

  std::string check_upgrade() const;
  std::string refusal_text() const;
  int headers_complete();

  static int on_status(http_parser* p, const char* at, std::size_t length);
  static int on_header_field(http_parser* p, const char* at, std::size_t length);
  static int on_header_value(http_parser* p, const char* at, std::size_t length);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, std::size_t length);
  static int on_message_complete(http_parser* p);
  static const http_parser_settings& settings() noexcept;
};

int upgrade_response_reader::impl::on_status(http_parser* p, const char* at, std::size_t length) {
  // Bounded by max_head, like every piece of the head.
  of(p).status_text.append(at, length);
  return 0;
}

int upgrade_response_reader::impl::on_header_field(http_parser* p, const char* at,
                                                   std::size_t length) {
  impl& s = of(p);
  if (s.in_value)
    s.start_field();
  for (std::size_t i = 0; i < length && s.name.size() <= longest_known_name; ++i)
    s.name += lower(at[i]);
  return 0;
}

int upgrade_response_reader::impl::on_header_value(http_parser* p, const char* at,
                                                   std::size_t length) {
  impl& s = of(p);
  if (!s.in_value)
    s.value_starts();
  if (s.current != field::other)
    s.values[static_cast<std::size_t>(s.current)].append(at, length);
  return 0;
}

int upgrade_response_reader::impl::on_headers_complete(http_parser* p) {
  return of(p).headers_complete();
}

int upgrade_response_reader::impl::on_body(http_parser* p, const char* at, std::size_t length) {
  impl& s = of(p);
  s.body.append(at, std::min(length, kept_body - s.body.size()));
  if (s.body.size() < kept_body)
    return 0;
  // Enough to say what the server meant: the rest of the body is not waited for.
  s.refuse(s.refusal_text());
  return -1;
}

int upgrade_response_reader::impl::on_message_complete(http_parser* p) {
  impl& s = of(p);
  if (s.upgrade_ok)
    s.state = status::accepted;
  else
    s.refuse(s.refusal_text());
  return 0;
}

const http_parser_settings& upgrade_response_reader::impl::settings() noexcept {
  static const http_parser_settings table = [] {
    http_parser_settings t;
    http_parser_settings_init(&t);
    t.on_status = on_status;
    t.on_header_field = on_header_field;
    t.on_header_value = on_header_value;
    t.on_headers_complete = on_headers_complete;
    t.on_body = on_body;
    t.on_message_complete = on_message_complete;
    return t;
  }();
  return table;
}

// RFC 6455 section 4.1, the client's checks of a 101, in its order; empty when all pass.
std::string upgrade_response_reader::impl::check_upgrade() const {
  const auto value = [this](field f) { return trim(values[static_cast<std::size_t>(f)]); };
  if (!header_has_token(value(field::upgrade), "websocket"))
    return "the server's 101 response has no \"Upgrade: websocket\" header (got " +
           quoted(value(field::upgrade)) + ")";
  if (!header_has_token(value(field::connection), "upgrade"))
    return "the server's 101 response has no \"Connection: Upgrade\" header (got " +
           quoted(value(field::connection)) + ")";
  const std::string expected = websocket_accept(key);
  if (value(field::accept) != expected)
    return "the server's Sec-WebSocket-Accept is " + quoted(value(field::accept)) +
           ", expected \"" + expected + "\" for the key sent";
  if (!value(field::extensions).empty())
    return "the server chose an extension that was not offered: " +
           quoted(value(field::extensions));
  if (!value(field::protocol).empty())
    return "the server chose a subprotocol that was not offered: " + quoted(value(field::protocol));
  return {};
}

std::string upgrade_response_reader::impl::refusal_text() const {
  std::string text = "the server answered " + std::to_string(parser.status_code);
  const std::string phrase = excerpt(trim(status_text), 40, excerpt_bytes::ascii);
  if (!phrase.empty())
    text += ' ' + phrase;
  text += " instead of switching to WebSocket";
  const std::string_view start = trim(body);
  if (!start.empty())
    text += ": " + excerpt(start, kept_body, excerpt_bytes::ascii);
  return text;
}

int upgrade_response_reader::impl::headers_complete() {
  head_done = true;
  if (parser.status_code != 101)
    return 0;  // read on: the body says why
  if (std::string problem = check_upgrade(); !problem.empty()) {
    refuse(std::move(problem));
    return -1;
  }
  upgrade_ok = true;
  return 2;  // no body, and what follows is not HTTP
}

upgrade_response_reader::upgrade_response_reader(std::string key)
    : impl_(std::make_unique<impl>(std::move(key))) {}
upgrade_response_reader::~upgrade_response_reader() = default;
upgrade_response_reader::upgrade_response_reader(upgrade_response_reader&&) noexcept = default;
upgrade_response_reader& upgrade_response_reader::operator=(upgrade_response_reader&&) noexcept =
    default;

std::size_t upgrade_response_reader::feed(std::string_view bytes) {
  impl& s = *impl_;
  std::size_t used = 0;
  while (used < bytes.size() && s.state == status::incomplete) {
    std::size_t take = bytes.size() - used;
    if (!s.head_done) {
      if (s.head_bytes == max_head) {
        s.refuse("the server's response head is longer than " + std::to_string(max_head) +
                 " bytes");
        break;
      }
      take = std::min(take, max_head - s.head_bytes);
    }
    const std::size_t n =
        http_parser_execute(&s.parser, &impl::settings(), bytes.data() + used, take);
    used += n;
    if (!s.head_done)
      s.head_bytes += n;
    if (s.state != status::incomplete)
      break;
    if (HTTP_PARSER_ERRNO(&s.parser) != HPE_OK || n != take) {
      s.refuse(std::string("malformed HTTP response from the server: ") +
               http_errno_description(HTTP_PARSER_ERRNO(&s.parser)));
      break;
    }
  }
  return used;
}

void upgrade_response_reader::end_of_stream() {
  impl& s = *impl_;
  if (s.state != status::incomplete)
    return;
  // A body delimited by the close is complete now (on_message_complete refuses with it).
  if (s.head_done && HTTP_PARSER_ERRNO(&s.parser) == HPE_OK)
    http_parser_execute(&s.parser, &impl::settings(), nullptr, 0);
  if (s.head_done)
    s.refuse(s.refusal_text());
  else
    s.refuse("the server closed the connection during the WebSocket handshake");
}

upgrade_response_reader::status upgrade_response_reader::state() const noexcept {
  return impl_->state;
}

int upgrade_response_reader::http_status() const noexcept {
  return static_cast<int>(impl_->parser.status_code);
}

const std::string& upgrade_response_reader::reason() const noexcept {
  return impl_->reason;
}

}  // namespace numsequence
