#pragma once
/// @file
/// @brief An in-process loopback listener that plays a scripted server, for harness
/// self-tests and for client behaviour the real server never shows (a wrong checksum).

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace numsequence::integration {

/// @brief Writes all of `bytes` to a blocking socket (gives up if the peer has gone).
inline void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// @brief A socket listening on 127.0.0.1:0 whose thread serves up to `connections`
/// connections, one after the other, with `serve(fd)`.
class loopback_listener {
 public:
  explicit loopback_listener(std::function<void(int)> serve, int connections = 1)
      : serve_(std::move(serve)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) {
        const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) {
          return;  // shut down by the destructor
        }
        serve_(conn);
        ::close(conn);
      }
    });
  }
  ~loopback_listener() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept() if fewer connections came
    thread_.join();
    ::close(fd_);
  }
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string port_text() const { return std::to_string(port_); }

 private:
  std::function<void(int)> serve_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// @brief What a scripted server does with one message: the bytes to send back, and
/// whether to close the connection after them.
struct scripted_reply {
  std::string bytes;
  bool close = false;
};

/// @brief Serves one connection: each `;`-terminated message (without its `;`) is
/// answered by `script`. Stops when the script closes, the peer closes, or after 20 s.
inline void serve_script(int fd, const std::function<scripted_reply(std::string_view)>& script) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string pending;
  std::array<char, 4096> chunk{};
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n <= 0) {
      return;
    }
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    for (auto end = pending.find(';'); end != std::string::npos; end = pending.find(';')) {
      const std::string message = pending.substr(0, end);
      pending.erase(0, end + 1);
      const auto reply = script(message);
      write_all(fd, reply.bytes);
      if (reply.close) {
        return;
      }
    }
  }
}

}  // namespace numsequence::integration
