#pragma once
/// @file
/// @brief A TCP relay in front of the server that counts the HTTP requests passing through
/// it: how the tests know what reached the server behind a cache.

#include <http_parser.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace numsequence::cluster {

/// @brief Listens on a free loopback port and relays every connection to 127.0.0.1:`target`,
/// both ways, untouched. What clients send is read with http_parser (request mode): each
/// complete request head is counted and its target kept, before its bytes are forwarded, so
/// a response read through the relay was preceded by its request's count.
///
/// One thread of its own runs the relay; the destructor stops it. requests() and targets()
/// may be called from any thread.
class counting_proxy {
 public:
  explicit counting_proxy(std::uint16_t target)
      : acceptor_(io_, {asio::ip::make_address_v4("127.0.0.1"), 0}),
        target_(asio::ip::make_address_v4("127.0.0.1"), target) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~counting_proxy() {
    io_.stop();
    thread_.join();
  }
  counting_proxy(const counting_proxy&) = delete;
  counting_proxy& operator=(const counting_proxy&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  /// @brief Requests relayed so far.
  std::size_t requests() const {
    std::lock_guard lock(mutex_);
    return targets_.size();
  }
  /// @brief Their targets, in the order they were relayed.
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  using tcp = asio::ip::tcp;
  static constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

  /// The requests of one connection.
  struct request_counter {
    counting_proxy* proxy = nullptr;
    http_parser parser{};
    std::string target;

    explicit request_counter(counting_proxy* p) : proxy(p) {
      http_parser_init(&parser, HTTP_REQUEST);
      parser.data = this;
    }
    bool feed(const char* data, std::size_t n) {
      // After an upgrade the bytes are WebSocket frames, not requests.
      if (parser.upgrade != 0)
        return true;
      const std::size_t used = http_parser_execute(&parser, &settings(), data, n);
      return parser.upgrade != 0 || (HTTP_PARSER_ERRNO(&parser) == HPE_OK && used == n);
    }
    static const http_parser_settings& settings() {
      static const http_parser_settings s = [] {
        http_parser_settings x{};
        http_parser_settings_init(&x);
        x.on_message_begin = [](http_parser* p) {
          static_cast<request_counter*>(p->data)->target.clear();
          return 0;
        };
        x.on_url = [](http_parser* p, const char* at, std::size_t n) {
          static_cast<request_counter*>(p->data)->target.append(at, n);
          return 0;
        };
        x.on_headers_complete = [](http_parser* p) {
          auto& c = *static_cast<request_counter*>(p->data);
          std::lock_guard lock(c.proxy->mutex_);
          c.proxy->targets_.push_back(c.target);
          return 0;
        };
        return x;
      }();
      return s;
    }
  };

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
      if (ec)
        co_return;
      asio::co_spawn(io_, relay(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> relay(tcp::socket client) {
    tcp::socket upstream(io_);
    auto [ec] = co_await upstream.async_connect(target_, use_nothrow);
    if (ec)
      co_return;
    auto counter = std::make_unique<request_counter>(this);
    using namespace asio::experimental::awaitable_operators;
    co_await (pump(client, upstream, counter.get()) && pump(upstream, client, nullptr));
  }

  static asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, request_counter* counter) {
    std::array<char, 16384> buffer{};
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer), use_nothrow);
      if (ec)
        break;
      if (counter != nullptr && !counter->feed(buffer.data(), n))
        counter = nullptr;  // not HTTP any more: relay without counting
      auto [write_ec, written] =
          co_await asio::async_write(to, asio::buffer(buffer.data(), n), use_nothrow);
      if (write_ec)
        break;
    }
    std::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  tcp::endpoint target_;
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::thread thread_;
};

}  // namespace numsequence::cluster
