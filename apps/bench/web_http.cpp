#include "bench/web_http.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace numsequence::bench::web {

http_parser_settings http_response_reader::settings() {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_status = [](http_parser* p, const char*, std::size_t) {
    self(p).status_ = p->status_code;
    return 0;
  };
  s.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
    auto& r = self(p);
    if (r.in_value_) {  // a new field begins: the one before it is complete
      r.headers_[r.field_] += (r.headers_.contains(r.field_) ? ", " : "") + r.value_;
      r.field_.clear();
      r.value_.clear();
      r.in_value_ = false;
    }
    for (std::size_t i = 0; i < n; ++i)
      r.field_ += static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
    return 0;
  };
  s.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
    auto& r = self(p);
    r.value_.append(at, n);
    r.in_value_ = true;
    return 0;
  };
  s.on_headers_complete = [](http_parser* p) {
    auto& r = self(p);
    if (r.in_value_)
      r.headers_[r.field_] += (r.headers_.contains(r.field_) ? ", " : "") + r.value_;
    r.status_ = p->status_code;
    return 0;
  };
  s.on_body = [](http_parser* p, const char* at, std::size_t n) {
    auto& r = self(p);
    r.body_size_ += n;
    if (r.keep_body_)
      r.body_.append(at, n);
    return 0;
  };
  s.on_message_complete = [](http_parser* p) {
    auto& r = self(p);
    r.complete_ = true;
    r.upgraded_ = p->upgrade != 0;
    r.keep_alive_ = http_should_keep_alive(p) != 0;
    // Stop here: bytes after the response belong to the next one, or to the upgrade.
    http_parser_pause(p, 1);
    return 0;
  };
  return s;
}

http_response_reader::http_response_reader(bool keep_body) : keep_body_(keep_body) {
  reset();
}

std::size_t http_response_reader::feed(std::string_view bytes) {
  static const http_parser_settings s = settings();
  if (complete_)
    return 0;
  const std::size_t used = http_parser_execute(&parser_, &s, bytes.data(), bytes.size());
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED && complete_)
    return used;
  if (error != HPE_OK || (used != bytes.size() && !parser_.upgrade)) {
    throw std::runtime_error(std::string("malformed HTTP response: ") +
                             http_errno_description(error));
  }
  return upgraded_ ? used : bytes.size();
}

void http_response_reader::peer_closed() {
  static const http_parser_settings s = settings();
  if (!complete_)
    http_parser_execute(&parser_, &s, nullptr, 0);  // ends a close-delimited body
  if (!complete_)
    throw std::runtime_error("the server closed the connection before the response's end (" +
                             std::to_string(body_size_) + " body bytes read)");
}

std::string http_response_reader::header(const std::string& lower_case_name) const {
  const auto it = headers_.find(lower_case_name);
  return it == headers_.end() ? std::string() : it->second;
}

void http_response_reader::reset() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  complete_ = false;
  upgraded_ = false;
  keep_alive_ = false;
  in_value_ = false;
  status_ = 0;
  field_.clear();
  value_.clear();
  headers_.clear();
  body_.clear();
  body_size_ = 0;
}

std::string get_request(std::string_view host, std::string_view target) {
  std::string r = "GET ";
  r.append(target);
  r.append(" HTTP/1.1\r\nHost: ");
  r.append(host);
  r.append("\r\n\r\n");
  return r;
}

}  // namespace numsequence::bench::web
