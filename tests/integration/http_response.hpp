#pragma once
/// @file
/// @brief HTTP/1.1 responses read back by the tests with http_parser (the parser the server
/// itself uses for requests, here in its response mode): status, header fields, the body with
/// chunks decoded, each chunk's size. No I/O: the unit tests feed it what a connection wrote,
/// the integration tests what a socket received.

#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace numsequence::integration {

/// @brief One response as a client sees it.
struct http_response {
  unsigned status = 0;
  /// Header fields in the order received, names in lower case, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The body, chunks decoded.
  std::string body;
  /// The size of every chunk with data, in order (empty unless the body was chunked).
  std::vector<std::uint64_t> chunk_sizes;
  /// The head said `Transfer-Encoding: chunked`.
  bool chunked = false;
  /// What the response lets the client do next (http_should_keep_alive()).
  bool keep_alive = true;

  /// @brief The first value of the field `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == lower(name))
        return v;
    }
    return std::nullopt;
  }
  /// @brief How many times the field `name` (any case) was sent.
  std::size_t count(std::string_view name) const {
    return static_cast<std::size_t>(std::count_if(
        headers.begin(), headers.end(), [&](const auto& h) { return h.first == lower(name); }));
  }

  static std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
};

/// @brief Reads the responses of one connection, in order, from bytes fed in any pieces.
///
/// A response to HEAD has no body whatever its head says, and only the client knows which
/// request it sent: expect_head() says so for the next response not yet begun. After a 101
/// the connection is no longer HTTP: reading stops, and upgrade_rest() holds what followed.
/// Not movable (http_parser keeps a pointer to it during feed()).
class http_response_reader {
 public:
  http_response_reader() { http_parser_init(&parser_, HTTP_RESPONSE); }
  http_response_reader(const http_response_reader&) = delete;
  http_response_reader& operator=(const http_response_reader&) = delete;

  /// @brief The next response begun answers a HEAD request (requests are answered in order:
  /// call it once per request, false for GET).
  void expect(bool head_request) { head_requests_.push_back(head_request); }

  /// @brief Parses `bytes`; false once the stream is not valid HTTP (error() says why).
  bool feed(std::string_view bytes) {
    if (failed_)
      return false;
    if (upgraded_) {
      upgrade_rest_.append(bytes);
      return true;
    }
    parser_.data = this;
    const std::size_t used = http_parser_execute(&parser_, &settings(), bytes.data(), bytes.size());
    if (parser_.upgrade != 0) {
      upgraded_ = true;
      upgrade_rest_.append(bytes.substr(used));
      return true;
    }
    if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || used != bytes.size()) {
      failed_ = true;
      return false;
    }
    return true;
  }

  /// @brief The peer closed the connection: ends a body delimited by the close.
  bool finish() {
    if (failed_ || upgraded_)
      return !failed_;
    parser_.data = this;
    http_parser_execute(&parser_, &settings(), nullptr, 0);
    failed_ = HTTP_PARSER_ERRNO(&parser_) != HPE_OK;
    return !failed_;
  }

  /// @brief The complete responses so far, oldest first (take them as they come).
  std::vector<http_response>& responses() noexcept { return done_; }
  /// @brief A response has begun and is not complete.
  bool in_response() const noexcept { return in_message_; }
  /// @brief The stream is not valid HTTP.
  bool failed() const noexcept { return failed_; }
  std::string error() const {
    return failed_ ? http_errno_description(HTTP_PARSER_ERRNO(&parser_)) : "";
  }
  /// @brief A 101 ended HTTP on this connection.
  bool upgraded() const noexcept { return upgraded_; }
  /// @brief The bytes after the 101's head.
  std::string& upgrade_rest() noexcept { return upgrade_rest_; }

 private:
  static http_response_reader& self(http_parser* p) {
    return *static_cast<http_response_reader*>(p->data);
  }

  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings x{};
      http_parser_settings_init(&x);
      x.on_message_begin = [](http_parser* p) {
        auto& r = self(p);
        r.current_ = http_response{};
        r.in_message_ = true;
        r.value_next_ = false;
        return 0;
      };
      x.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
        auto& r = self(p);
        if (r.value_next_ || r.current_.headers.empty())
          r.current_.headers.emplace_back();
        r.value_next_ = false;
        r.current_.headers.back().first += http_response::lower(std::string_view(at, n));
        return 0;
      };
      x.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
        auto& r = self(p);
        r.value_next_ = true;
        r.current_.headers.back().second.append(at, n);
        return 0;
      };
      x.on_headers_complete = [](http_parser* p) {
        auto& r = self(p);
        r.current_.status = p->status_code;
        r.current_.chunked = (p->flags & F_CHUNKED) != 0;
        bool head = false;
        if (!r.head_requests_.empty()) {
          head = r.head_requests_.front();
          r.head_requests_.pop_front();
        }
        return head ? 1 : 0;  // 1: this response has no body
      };
      x.on_body = [](http_parser* p, const char* at, std::size_t n) {
        self(p).current_.body.append(at, n);
        return 0;
      };
      x.on_chunk_header = [](http_parser* p) {
        if (p->content_length > 0)
          self(p).current_.chunk_sizes.push_back(p->content_length);
        return 0;
      };
      x.on_message_complete = [](http_parser* p) {
        auto& r = self(p);
        r.current_.keep_alive = http_should_keep_alive(p) != 0;
        r.done_.push_back(std::move(r.current_));
        r.in_message_ = false;
        return 0;
      };
      return x;
    }();
    return s;
  }

  http_parser parser_{};
  http_response current_;
  std::vector<http_response> done_;
  std::deque<bool> head_requests_;
  std::string upgrade_rest_;
  bool value_next_ = false;  // the last header callback was a value: a new field begins
  bool in_message_ = false;
  bool failed_ = false;
  bool upgraded_ = false;
};

/// @brief Every response in `bytes` (a whole connection's output); `closed`: the connection
/// ended after them. Fails nothing itself: compare what it returns.
inline std::vector<http_response> parse_responses(std::string_view bytes,
                                                  std::vector<bool> head_requests = {},
                                                  bool closed = false) {
  http_response_reader r;
  for (const bool h : head_requests)
    r.expect(h);
  if (!r.feed(bytes) || (closed && !r.finish()))
    return {};
  return std::move(r.responses());
}

}  // namespace numsequence::integration
