#pragma once
/// @file
/// @brief A real nginx running the project's example configuration (examples/nginx/nginx.conf)
/// on a free loopback port, in a directory of its own, started and stopped by the test.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "cluster_fixture.hpp"

#ifndef NUMSEQUENCE_NGINX_EXAMPLE
#error "NUMSEQUENCE_NGINX_EXAMPLE must name examples/nginx/nginx.conf"
#endif

namespace numsequence::cluster {

/// @brief nginx with examples/nginx/nginx.conf, its upstream set to 127.0.0.1:`upstream`.
///
/// The example's two addresses (listen 127.0.0.1:8000, upstream 127.0.0.1:8080) are replaced;
/// nothing else of it changes. nginx runs in the foreground (`-g "daemon off;"`) with a fresh
/// directory as its prefix (`-p`), where the example puts its logs, temporary files and cache.
/// The test listens on the port itself and nginx inherits the socket (the NGINX environment
/// variable, nginx's own mechanism for handing sockets to a new binary): connections made
/// before nginx is ready wait in the backlog, so nothing polls or sleeps.
class nginx_instance {
 public:
  explicit nginx_instance(std::uint16_t upstream) {
    bound_port listener(/*inheritable=*/true);
    listener.listen();
    port_ = listener.port();
    const std::filesystem::path prefix = dir_.path();
    std::filesystem::create_directories(prefix / "logs");
    std::filesystem::create_directories(prefix / "temp");
    // Started as root, nginx runs its workers as an unprivileged user, which must reach the
    // temporary files and the cache (nginx gives the directories it creates to that user).
    for (const auto& p : {prefix, prefix / "temp"})
      REQUIRE(::chmod(p.c_str(), 0755) == 0);
    std::string config = example();
    replace_once(config, "listen 127.0.0.1:8000;",
                 "listen 127.0.0.1:" + std::to_string(port_) + ";");
    replace_once(config, "server 127.0.0.1:8080;",
                 "server 127.0.0.1:" + std::to_string(upstream) + ";");
    std::ofstream(prefix / "nginx.conf") << config;

    process_options o;
    o.argv = {*find_program("nginx"),           "-p", prefix.string() + "/", "-c",
              (prefix / "nginx.conf").string(), "-g", "daemon off;"};
    o.set_env.emplace_back("NGINX", std::to_string(listener.fd()) + ";");
    process_ = std::make_unique<child_process>(o);
    listener.close();  // nginx holds its own copy now
  }
  ~nginx_instance() {
    process_->kill(SIGTERM);
    const auto status = process_->wait(seconds(10));
    INFO("nginx stderr: " << process_->stderr_text() << "\nerror.log: " << error_log());
    CHECK_MESSAGE(status.has_value(), "nginx did not exit within 10 s of SIGTERM");
  }
  nginx_instance(const nginx_instance&) = delete;
  nginx_instance& operator=(const nginx_instance&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// @brief What nginx wrote to its error log (logs/error.log under its prefix).
  std::string error_log() const {
    std::ifstream in(dir_.path() / "logs" / "error.log");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  static std::string example() {
    std::ifstream in(NUMSEQUENCE_NGINX_EXAMPLE);
    REQUIRE_MESSAGE(in.good(), "cannot read " << NUMSEQUENCE_NGINX_EXAMPLE);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static void replace_once(std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "the example has no \"" << from << "\"");
    REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos,
                    "the example has \"" << from << "\" twice");
    text.replace(at, from.size(), to);
  }

  temp_dir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace numsequence::cluster
