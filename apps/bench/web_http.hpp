#pragma once
// numsequence-bench-web: reading HTTP/1.1 responses (http_parser does the parsing, chunked
// bodies included) and writing the requests the bench sends.

#include <http_parser.h>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace numsequence::bench::web {

/// @brief One HTTP/1.1 response at a time, read from the bytes a client receives.
///
/// feed() takes bytes until complete(); the body arrives without its chunk framing. After a
/// 101 the response ends with its head, and the bytes after it are the upgraded protocol's
/// (feed() returns how many it used). reset() readies it for the next response on the same
/// connection. Not thread-safe; one per connection.
class http_response_reader {
 public:
  /// @brief `keep_body`: keep the body's bytes (else only count them).
  explicit http_response_reader(bool keep_body);
  http_response_reader(const http_response_reader&) = delete;
  http_response_reader& operator=(const http_response_reader&) = delete;

  /// @brief Parses bytes; returns how many belong to the response (all of them, unless it
  /// completed before their end). Throws std::runtime_error for a malformed response.
  std::size_t feed(std::string_view bytes);
  /// @brief The peer closed the connection: ends a close-delimited body. Throws if the
  /// response was cut short.
  void peer_closed();

  /// @brief The whole response (head and body) has been read.
  bool complete() const noexcept { return complete_; }
  unsigned status() const noexcept { return status_; }
  /// @brief The response asked for an upgrade (a 101 whose head is complete).
  bool upgraded() const noexcept { return upgraded_; }
  /// @brief The connection may carry another request after this response.
  bool keep_alive() const noexcept { return keep_alive_; }
  /// @brief A header's value (its name in lower case), several instances joined by ", ";
  /// empty when absent.
  std::string header(const std::string& lower_case_name) const;
  /// @brief The body's bytes (keep_body) and their count (always).
  const std::string& body() const noexcept { return body_; }
  std::size_t body_size() const noexcept { return body_size_; }

  /// @brief Room for a body of `bytes` before the first one arrives.
  void reserve(std::size_t bytes) { body_.reserve(bytes); }
  /// @brief Forgets the response read, for the next one (keeps the body's capacity).
  void reset();

 private:
  static http_parser_settings settings();
  static http_response_reader& self(http_parser* p) noexcept {
    return *static_cast<http_response_reader*>(p->data);
  }

  http_parser parser_{};
  bool keep_body_;
  bool complete_ = false;
  bool upgraded_ = false;
  bool keep_alive_ = false;
  bool in_value_ = false;  // the last header callback was a value
  unsigned status_ = 0;
  std::string field_;
  std::string value_;
  std::map<std::string, std::string> headers_;
  std::string body_;
  std::size_t body_size_ = 0;
};

/// @brief `GET target HTTP/1.1` with Host, for a keep-alive connection.
std::string get_request(std::string_view host, std::string_view target);

}  // namespace numsequence::bench::web
