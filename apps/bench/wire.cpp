#include "bench/wire.hpp"

#include <algorithm>
#include <asio/buffer.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "numsequence/protocol/codec.hpp"

namespace numsequence::bench {
namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

wire::wire(asio::io_context& io, std::size_t max_frame, std::size_t in_flight)
    : socket_(io),
      reader_(max_frame),
      // Room for two frames at least, so a frame that straddles two reads fits.
      read_size_(std::max({std::size_t{4096}, 2 * max_frame + 2,
                           std::min<std::size_t>(in_flight * max_frame, 1 << 20)})) {}

asio::awaitable<std::error_code> wire::connect(const asio::ip::tcp::endpoint& endpoint) {
  auto [ec] = co_await socket_.async_connect(endpoint, use_nothrow);
  if (!ec)
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  co_return ec;
}

asio::awaitable<std::error_code> wire::write(std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_nothrow);
  co_return ec;
}

asio::awaitable<std::error_code> wire::fill() {
  // The socket reads straight into the reader's buffer: the replies are framed where they
  // landed, with no copy.
  const std::span<char> room = reader_.prepare(read_size_);
  auto [ec, n] =
      co_await socket_.async_read_some(asio::buffer(room.data(), room.size()), use_nothrow);
  reader_.commit(n);
  co_return ec;
}

std::optional<std::string_view> wire::next(std::error_code& ec) noexcept {
  const frame_result r = reader_.next();
  if (r.what == frame_result::kind::error)
    ec = r.error;
  if (r.what != frame_result::kind::frame)
    return std::nullopt;
  return r.frame;
}

asio::awaitable<std::string> wire::receive(server_message& reply) {
  for (;;) {
    std::error_code ec;
    const auto frame = next(ec);
    if (ec)
      co_return "unreadable reply: " + ec.message();
    if (frame) {
      if (auto pec = parse_server_message(*frame, reply))
        co_return "unreadable reply '" + std::string(frame->substr(0, 80)) + "': " + pec.message();
      co_return std::string();
    }
    if (auto rec = co_await fill())
      co_return "read: " + rec.message();
  }
}

asio::awaitable<std::error_code> wire::read_raw(std::span<char> into, std::size_t& got) {
  auto [ec, n] =
      co_await socket_.async_read_some(asio::buffer(into.data(), into.size()), use_nothrow);
  got = n;
  co_return ec;
}

std::size_t reply_limit(std::uint32_t batch) {
  return std::max<std::size_t>(1024, std::size_t{batch} * 11 + 64);
}

std::string describe(const server_message& m) {
  std::string text = encode(m);
  if (text.size() > 80)
    text = text.substr(0, 77) + "...";
  return text;
}

}  // namespace numsequence::bench
