#pragma once
/// @file
/// @brief Real redis-server and HAProxy instances for the shared-store tests, each on a free
/// loopback port, started and stopped by the tests themselves.

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../integration/process.hpp"
#include "../integration/server_fixture.hpp"

namespace numsequence::cluster {

using namespace numsequence::integration;

/// @brief Finds `name` on PATH (or in /usr/sbin, where Debian puts haproxy).
inline std::optional<std::string> find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = path.find(':', start);
    const auto dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      const auto candidate = std::filesystem::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate.string();
    }
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return std::nullopt;
}

/// @brief True if the program is there; otherwise the test is skipped with a warning, or fails
/// when NUMSEQUENCE_REQUIRE_CLUSTER_TOOLS is set (CI installs the tools and sets it).
inline bool have_program(const std::string& name) {
  if (find_program(name))
    return true;
  const bool required = std::getenv("NUMSEQUENCE_REQUIRE_CLUSTER_TOOLS") != nullptr;
  if (required) {
    FAIL(name << " is not installed (scripts/install-deps installs it)");
  } else {
    WARN_MESSAGE(false, name << " is not installed: test skipped");
  }
  return false;
}

/// @brief A socket bound to a free loopback port. Closing it frees the port for a program
/// that cannot inherit a socket (Redis); keeping it listening hands it over (HAProxy).
class bound_port {
 public:
  explicit bound_port(bool inheritable = false) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | (inheritable ? 0 : SOCK_CLOEXEC), 0);
    REQUIRE(fd_ >= 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~bound_port() { close(); }
  bound_port(const bound_port&) = delete;
  bound_port& operator=(const bound_port&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  int fd() const noexcept { return fd_; }
  void listen() { REQUIRE(::listen(fd_, 1024) == 0); }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// @brief A redis-server without persistence on a free port; ready once it says so.
class redis_instance {
 public:
  redis_instance() {
    bound_port probe;
    port_ = probe.port();
    probe.close();
    start();
  }
  ~redis_instance() { stop(); }

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  /// @brief Starts (again) on the same port, empty: no persistence.
  void start() {
    REQUIRE_FALSE(process_);
    process_options o;
    o.argv = {*find_program("redis-server"),
              "--port",
              std::to_string(port_),
              "--bind",
              "127.0.0.1",
              "--save",
              "",
              "--appendonly",
              "no",
              "--loglevel",
              "notice"};
    process_ = std::make_unique<child_process>(o);
    const bool ready =
        process_->wait_for_stdout_containing("Ready to accept connections", seconds(10));
    INFO("redis-server output: " << process_->stdout_text() << process_->stderr_text());
    REQUIRE_MESSAGE(ready, "redis-server did not become ready within 10 s");
  }

  /// @brief Stops it (SIGKILL: like a crash; SIGTERM: orderly) and waits for the exit.
  void stop(int sig = SIGTERM) {
    if (!process_)
      return;
    process_->kill(sig);
    process_->wait(seconds(10));
    process_.reset();
  }

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

/// @brief HAProxy in TCP mode, round-robin over `backends`, on a free port.
///
/// The test binds and listens on the port itself and HAProxy inherits the socket
/// (`bind fd@N`), so connections made before HAProxy runs wait in the backlog: no
/// readiness race, no polling.
class haproxy_instance {
 public:
  explicit haproxy_instance(const std::vector<std::uint16_t>& backends) {
    bound_port listener(/*inheritable=*/true);
    listener.listen();
    port_ = listener.port();
    config_ = dir_.path() / "haproxy.cfg";
    std::ofstream cfg(config_);
    cfg << "global\n  maxconn 4096\n"
        << "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 60s\n"
        << "  timeout server 60s\n  retries 0\n"
        << "frontend numsequence\n  bind fd@" << listener.fd() << "\n  default_backend servers\n"
        << "backend servers\n  balance roundrobin\n";
    for (std::size_t i = 0; i < backends.size(); ++i) {
      cfg << "  server s" << i << " 127.0.0.1:" << backends[i] << "\n";
    }
    cfg.close();
    process_options o;
    o.argv = {*find_program("haproxy"), "-db", "-f", config_.string()};
    process_ = std::make_unique<child_process>(o);
    listener.close();  // HAProxy holds its own copy now
  }
  ~haproxy_instance() {
    process_->kill(SIGTERM);
    process_->wait(seconds(10));
  }

  std::uint16_t port() const noexcept { return port_; }
  child_process& process() noexcept { return *process_; }

 private:
  temp_dir dir_;
  std::filesystem::path config_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace numsequence::cluster
