#include "tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

namespace numsequence::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int remaining_ms(steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
  return static_cast<int>(std::clamp<milliseconds::rep>(left.count(), 0, 60'000));
}

}  // namespace

std::vector<std::string> split_replies(std::string_view bytes) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < bytes.size()) {
    const auto end = bytes.find(';', start);
    if (end == std::string_view::npos) {
      break;
    }
    out.emplace_back(bytes.substr(start, end + 1 - start));
    start = end + 1;
  }
  return out;
}

std::optional<tcp_client> tcp_client::connect(std::uint16_t port, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  tcp_client client(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto* raw = reinterpret_cast<const sockaddr*>(&addr);
  if (::connect(fd, raw, sizeof addr) == 0) {
    return client;
  }
  if (errno != EINPROGRESS) {
    return std::nullopt;
  }
  pollfd p{fd, POLLOUT, 0};
  const auto deadline = steady_clock::now() + timeout;
  for (int attempts = 0; attempts < 1000; ++attempts) {
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready > 0) {
      int error = 0;
      socklen_t len = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) {
        return std::nullopt;
      }
      return client;
    }
    if (ready == 0 || errno != EINTR) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

tcp_client::tcp_client(tcp_client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      eof_(other.eof_),
      reset_(other.reset_) {}

tcp_client& tcp_client::operator=(tcp_client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
    reset_ = other.reset_;
  }
  return *this;
}

tcp_client::~tcp_client() {
  close();
}

void tcp_client::close() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool tcp_client::send(std::string_view bytes, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  std::size_t sent = 0;
  while (sent < bytes.size() && fd_ >= 0) {
    // MSG_NOSIGNAL: a server that has already closed must fail the send, not kill the test.
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0 && steady_clock::now() >= deadline) {
        return false;
      }
      continue;
    }
    return false;
  }
  return sent == bytes.size();
}

bool tcp_client::fill(steady_clock::time_point deadline) {
  if (closed() || fd_ < 0) {
    return false;
  }
  std::array<char, 16384> chunk{};
  // Bounded by the deadline: each pass either reads, sees the end, or waits out the time.
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n > 0) {
      buffer_.append(chunk.data(), static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return true;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      reset_ = true;
      return true;
    }
    const int wait_ms = remaining_ms(deadline);
    if (wait_ms <= 0) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) == 0) {
      return false;
    }
  }
}

std::size_t tcp_client::complete_replies() const {
  return static_cast<std::size_t>(std::count(buffer_.begin(), buffer_.end(), ';'));
}

std::string tcp_client::read_until_closed(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!closed() && fill(deadline)) {
  }
  return std::exchange(buffer_, {});
}

std::vector<std::string> tcp_client::read_replies(std::size_t count, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (complete_replies() < count && !closed() && fill(deadline)) {
  }
  std::vector<std::string> out;
  std::size_t start = 0;
  while (out.size() < count) {
    const auto end = buffer_.find(';', start);
    if (end == std::string::npos) {
      break;
    }
    out.push_back(buffer_.substr(start, end + 1 - start));
    start = end + 1;
  }
  buffer_.erase(0, start);
  return out;
}

std::optional<std::string> tcp_client::read_reply(milliseconds timeout) {
  auto replies = read_replies(1, timeout);
  if (replies.empty()) {
    return std::nullopt;
  }
  return std::move(replies.front());
}

bool tcp_client::wait_closed_silently(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!closed() && buffer_.empty() && fill(deadline)) {
  }
  return closed() && buffer_.empty();
}

}  // namespace numsequence::integration
