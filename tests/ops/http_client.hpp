#pragma once
/// @file
/// @brief A loopback HTTP/1.1 client for the operations tests: requests on one kept-alive
/// connection, each response read back with http_parser (the parser the server uses for
/// requests, here in its response mode). Every call that waits takes a timeout.

#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace numsequence::ops_test {

using std::chrono::milliseconds;

/// @brief One response as a client sees it.
struct http_response {
  unsigned status = 0;
  /// Header fields in the order received, names in lower case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;

  /// @brief The first value of the field `name` (lower case), or nullopt.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name)
        return v;
    }
    return std::nullopt;
  }
};

/// @brief One TCP connection to 127.0.0.1 speaking HTTP/1.1; not movable once used (the
/// parser's callbacks find it through a pointer only during a call).
class http_client {
 public:
  explicit http_client(std::uint16_t port, milliseconds timeout = std::chrono::seconds(5)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0)
      return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      close();
      return;
    }
    int error = 0;
    socklen_t len = sizeof error;
    if (!wait_for(POLLOUT, deadline_after(timeout)) ||
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
      close();
  }
  ~http_client() { close(); }
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// @brief True once connected (and not closed by either side).
  bool connected() const noexcept { return fd_ >= 0 && !eof_; }

  /// @brief Sends `bytes` whole; false on a closed connection or timeout.
  bool send(std::string_view bytes, milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = deadline_after(timeout);
    while (!bytes.empty()) {
      if (fd_ < 0)
        return false;
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait_for(POLLOUT, deadline))
          return false;
      } else if (n < 0 && errno != EINTR) {
        return false;
      }
    }
    return true;
  }

  /// @brief A GET of `target` as curl sends it (Host, User-Agent, Accept), then its response.
  std::optional<http_response> get(std::string_view target,
                                   milliseconds timeout = std::chrono::seconds(10)) {
    const std::string request = "GET " + std::string(target) +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n"
                                "Accept: */*\r\n\r\n";
    if (!send(request, timeout))
      return std::nullopt;
    return read_response(timeout);
  }

  /// @brief The next response (bytes after it stay for the next call); nullopt on timeout,
  /// on a close before it is complete, or on bytes that are not HTTP.
  std::optional<http_response> read_response(milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = deadline_after(timeout);
    reading r;
    http_parser_init(&r.parser, HTTP_RESPONSE);
    r.parser.data = &r;
    const auto parse = [&](const char* data, std::size_t size) {
      const std::size_t used = http_parser_execute(&r.parser, &settings(), data, size);
      const auto err = HTTP_PARSER_ERRNO(&r.parser);
      return err == HPE_OK || err == HPE_PAUSED ? std::optional<std::size_t>(used) : std::nullopt;
    };
    for (;;) {
      if (!buffer_.empty()) {
        const auto used = parse(buffer_.data(), buffer_.size());
        if (!used)
          return std::nullopt;
        buffer_.erase(0, *used);
      }
      // End of file ends a body without a length (HTTP/1.0, Connection: close).
      if (!r.complete && eof_ && !parse(nullptr, 0))
        return std::nullopt;
      if (r.complete) {
        r.response.status = r.parser.status_code;
        return std::move(r.response);
      }
      if (eof_ || !fill(deadline))
        return std::nullopt;
    }
  }

  void close() noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  struct reading {
    http_parser parser{};
    http_response response;
    std::string field;
    bool in_value = false;
    bool complete = false;
  };

  static std::chrono::steady_clock::time_point deadline_after(milliseconds timeout) {
    return std::chrono::steady_clock::now() + timeout;
  }

  bool wait_for(short events, std::chrono::steady_clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
  }

  /// Reads what arrives; false on timeout. End of file sets eof_ (and returns true).
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0)
      return false;
    if (!wait_for(POLLIN, deadline))
      return false;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0)
      buffer_.append(chunk, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      eof_ = true;
    return true;
  }

  static reading& of(http_parser* p) { return *static_cast<reading*>(p->data); }

  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings x{};
      x.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
        auto& r = of(p);
        if (r.in_value) {
          r.field.clear();
          r.in_value = false;
        }
        for (std::size_t i = 0; i < n; ++i)
          r.field += static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
        return 0;
      };
      x.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
        auto& r = of(p);
        if (!r.in_value) {
          r.response.headers.emplace_back(r.field, std::string());
          r.in_value = true;
        }
        r.response.headers.back().second.append(at, n);
        return 0;
      };
      x.on_headers_complete = [](http_parser* p) {
        of(p).response.keep_alive = http_should_keep_alive(p) != 0;
        return 0;
      };
      x.on_body = [](http_parser* p, const char* at, std::size_t n) {
        of(p).response.body.append(at, n);
        return 0;
      };
      x.on_message_complete = [](http_parser* p) {
        of(p).complete = true;
        http_parser_pause(p, 1);  // the next response's bytes stay in the buffer
        return 0;
      };
      return x;
    }();
    return s;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

/// @brief The value of the sample `series` (its name and labels exactly as the server writes
/// them, e.g. `numsequence_messages_total{type="RECV"}`) in a /metrics text, or nullopt.
/// A lookup of one line, not a parser: promtool checks the format itself.
inline std::optional<double> sample_value(std::string_view text, std::string_view series) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ')
      return std::stod(std::string(line.substr(series.size() + 1)));
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace numsequence::ops_test
