#include "bench/echo_server.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <system_error>
#include <utility>

namespace numsequence::bench {
namespace {

using asio::ip::tcp;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

echo_server::echo_server() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

echo_server::~echo_server() {
  asio::post(io_, [this] {
    std::error_code ignored;
    acceptor_.close(ignored);
    io_.stop();
  });
  thread_.join();
}

asio::awaitable<void> echo_server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec)
      co_return;
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io_, echo(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> echo_server::echo(tcp::socket socket) {
  std::array<char, 4096> buf{};
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_nothrow);
    if (ec)
      co_return;
    auto [wec, written] =
        co_await asio::async_write(socket, asio::buffer(buf.data(), n), use_nothrow);
    if (wec)
      co_return;
  }
}

}  // namespace numsequence::bench
