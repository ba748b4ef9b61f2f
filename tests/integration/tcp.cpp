#include "tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <utility>

#include "tls_support.hpp"

namespace numsequence::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int remaining_ms(steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
  return static_cast<int>(std::clamp<milliseconds::rep>(left.count(), 0, 60'000));
}

/// Waits until `fd` can do what OpenSSL asked for (SSL_ERROR_WANT_READ/WRITE); false at
/// the deadline or on any other error.
bool wait_for_ssl(int fd, int ssl_error, steady_clock::time_point deadline) {
  if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE)
    return false;
  const int wait_ms = remaining_ms(deadline);
  if (wait_ms <= 0)
    return false;
  pollfd p{fd, static_cast<short>(ssl_error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
  return ::poll(&p, 1, wait_ms) >= 0 || errno == EINTR;
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

std::optional<tcp_client> tcp_client::connect(std::uint16_t port, milliseconds timeout,
                                              const tls_trust* tls) {
  auto client = connect_tcp(port, timeout);
  if (!client || tls == nullptr)
    return client;
  if (!client->handshake(*tls, steady_clock::now() + timeout))
    return std::nullopt;
  return client;
}

bool tcp_client::handshake(const tls_trust& tls, steady_clock::time_point deadline) {
  // OpenSSL writes with write(), not send(MSG_NOSIGNAL): a server that has closed must fail
  // the write, not kill the test with SIGPIPE. (Children get the default back at exec.)
  static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  (void)sigpipe_ignored;
  ssl_ = SSL_new(tls.context());
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1)
    return false;
  for (int attempts = 0; attempts < 10'000; ++attempts) {
    const int r = SSL_connect(ssl_);
    if (r == 1)
      return true;
    if (!wait_for_ssl(fd_, SSL_get_error(ssl_, r), deadline)) {
      ERR_clear_error();
      return false;
    }
  }
  return false;
}

std::optional<tcp_client> tcp_client::connect_tcp(std::uint16_t port, milliseconds timeout) {
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
      ssl_(std::exchange(other.ssl_, nullptr)),
      buffer_(std::move(other.buffer_)),
      eof_(other.eof_),
      write_failed_(other.write_failed_),
      reset_(other.reset_) {}

tcp_client& tcp_client::operator=(tcp_client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    ssl_ = std::exchange(other.ssl_, nullptr);
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
    write_failed_ = other.write_failed_;
    reset_ = other.reset_;
  }
  return *this;
}

tcp_client::~tcp_client() {
  close();
}

void tcp_client::close() noexcept {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);  // no close_notify, like the server: a hang-up is a hang-up
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool tcp_client::send(std::string_view bytes, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  std::size_t sent = 0;
  if (ssl_ != nullptr) {
    for (int attempts = 0; attempts < 100'000 && sent < bytes.size(); ++attempts) {
      std::size_t n = 0;
      const int r = SSL_write_ex(ssl_, bytes.data() + sent, bytes.size() - sent, &n);
      if (r == 1) {
        sent += n;
        continue;
      }
      const int error = SSL_get_error(ssl_, r);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        write_failed_ = true;  // the peer is gone (EPIPE, ECONNRESET); replies may still be read
        ERR_clear_error();
        return false;
      }
      if (!wait_for_ssl(fd_, error, deadline))
        return false;
    }
    return sent == bytes.size();
  }
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
  if (ssl_ != nullptr)
    return fill_tls(deadline);
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

bool tcp_client::fill_tls(steady_clock::time_point deadline) {
  std::array<char, 16384> chunk{};
  // SSL_read before poll: OpenSSL may hold decrypted bytes the socket no longer shows.
  for (int attempts = 0; attempts < 100'000; ++attempts) {
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl_, chunk.data(), chunk.size(), &n);
    if (r == 1) {
      buffer_.append(chunk.data(), n);
      return true;
    }
    const int error = SSL_get_error(ssl_, r);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (remaining_ms(deadline) <= 0 || !wait_for_ssl(fd_, error, deadline))
        return false;
      continue;
    }
    // close_notify, a close without it (the server sends none), or a reset.
    reset_ = error == SSL_ERROR_SYSCALL && errno == ECONNRESET;
    eof_ = !reset_;
    ERR_clear_error();
    return true;
  }
  return false;
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

std::string tcp_client::read_some(milliseconds timeout) {
  if (buffer_.empty())
    fill(steady_clock::now() + timeout);
  return std::exchange(buffer_, {});
}

std::vector<std::string> tcp_client::read_replies(std::size_t count, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  // Counted as bytes arrive: recounting the whole buffer per read is quadratic in a
  // long pipelined burst.
  std::size_t complete = complete_replies();
  while (complete < count && !closed()) {
    const auto before = buffer_.size();
    if (!fill(deadline))
      break;
    complete += static_cast<std::size_t>(
        std::count(buffer_.begin() + static_cast<std::ptrdiff_t>(before), buffer_.end(), ';'));
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

std::vector<kernel_tcp_socket> kernel_tcp_sockets() {
  std::vector<kernel_tcp_socket> sockets;
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  // Rows: "sl local_address rem_address st tx_queue:rx_queue ...", addresses as
  // HEXIP:HEXPORT, the other fields in hex too.
  for (int row = 0; row < 1'000'000 && std::getline(table, line); ++row) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    const auto lc = local.find(':');
    const auto rc = remote.find(':');
    const auto qc = queues.find(':');
    if (lc == std::string::npos || rc == std::string::npos || qc == std::string::npos)
      continue;
    kernel_tcp_socket s;
    s.local_port = static_cast<std::uint16_t>(std::stoul(local.substr(lc + 1), nullptr, 16));
    s.remote_port = static_cast<std::uint16_t>(std::stoul(remote.substr(rc + 1), nullptr, 16));
    s.established = state == "01";
    s.send_queue = static_cast<std::size_t>(std::stoul(queues.substr(0, qc), nullptr, 16));
    sockets.push_back(s);
  }
  return sockets;
}

}  // namespace numsequence::integration
