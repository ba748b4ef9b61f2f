/// @file
/// @brief numsequence-fault-proxy: a TCP proxy for the chaos soak that forwards loopback
/// connections to a server and breaks some of them on purpose.
///
/// Every accepted connection gets a fault plan drawn from a generator seeded with
/// (--seed, the connection's accept number), so a run's k-th connection always gets the same
/// plan; which client that is depends on the scheduling. A plan is one of:
///   - none: bytes flow untouched until a peer closes;
///   - byte cut: after a random number of bytes in one direction (often inside a message),
///     the part of the chunk up to the budget is forwarded and both sides are closed;
///   - delay: every chunk in one direction is held for a fixed random time before it is
///     forwarded (a slow path: bytes may arrive after the client gave the connection up);
///   - time cut: both sides are closed a random time after the upstream connect;
///   - stall: after a byte budget, nothing more is forwarded in either direction (bytes are
///     read and dropped, so a peer's close is still seen) until a peer gives up, or the stall
///     cap passes and both sides are closed.
/// A cut closes with a reset (SO_LINGER 0) or with an orderly FIN, drawn per plan.
/// Independently, a connection may be "split": the first bytes of each direction are written
/// in pieces of 1-8 bytes, so the peers see partial frames.
///
/// stdout: "listening on 127.0.0.1:PORT" once accepting; on SIGINT/SIGTERM one line of
/// counters ("fault-proxy: connections=... cuts=..."), then exit 0.

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cxxopts.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace {

using asio::awaitable;
using asio::ip::tcp;
using std::chrono::milliseconds;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

struct proxy_options {
  std::uint16_t target_port = 0;
  std::uint64_t seed = 1;
  double fault_rate = 0.5;    ///< share of connections with a cut or a stall
  double stall_share = 0.05;  ///< share of the faulty connections that stall instead of cutting
  double delay_share = 0.05;  ///< share of the faulty connections that are slow instead
  double split_rate = 0.15;   ///< share of connections whose first bytes go out in pieces
  std::uint64_t max_cut_bytes = 65536;
  unsigned max_cut_ms = 400;
  unsigned stall_cap_ms = 20000;
  unsigned max_delay_ms = 3000;
  bool hold_first_hello = false;
};

struct counters {
  std::uint64_t connections = 0;
  std::uint64_t byte_cuts = 0;
  std::uint64_t time_cuts = 0;
  std::uint64_t stall_cuts = 0;  ///< stalls ended by the cap (not by a peer)
  std::uint64_t stalls = 0;
  std::uint64_t delayed = 0;
  std::uint64_t mid_message = 0;  ///< cuts whose last forwarded byte ended no message
  std::uint64_t resets = 0;
  std::uint64_t split = 0;
  std::uint64_t upstream_failures = 0;
  std::uint64_t late_hellos = 0;

  std::uint64_t cuts() const noexcept { return byte_cuts + time_cuts + stall_cuts; }
};

enum class fault_kind { none, byte_cut, time_cut, stall, delay };

struct fault_plan {
  fault_kind kind = fault_kind::none;
  std::size_t direction = 1;  ///< 0: client to server, 1: server to client
  std::uint64_t byte_budget = 0;
  std::chrono::microseconds delay{0};
  bool reset = false;
  bool split = false;
  bool hold = false;  ///< this connection's client bytes wait for a later connection's ERR
  std::uint64_t piece_seed = 0;
};

class proxied;

/// @brief --hold-first-hello: the first connection's client bytes (its INIT) are held until
/// a later connection carries "does not exist" back to the client; then they are delivered,
/// and that reply is passed on only once the server has answered them. The client thus
/// learns "does not exist" after its earlier INIT has created the session: a late INIT,
/// made deterministic.
struct hello_hold {
  explicit hello_hold(const asio::any_io_executor& executor) : answered_event(executor) {}
  std::shared_ptr<proxied> first;
  std::string bytes;
  bool released = false;
  bool answered = false;
  asio::steady_timer answered_event;  // cancelled when the server answers the late hello
};

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

fault_plan make_plan(const proxy_options& o, std::uint64_t connection_number) {
  std::mt19937_64 rng(splitmix64(o.seed ^ splitmix64(connection_number)));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  fault_plan p;
  p.split = unit(rng) < o.split_rate;
  p.piece_seed = rng();
  if (unit(rng) >= o.fault_rate) {
    return p;
  }
  p.reset = unit(rng) < 0.5;
  // Replies carry nearly all the bytes, so most budgets count the server's side; a
  // log-uniform budget puts cuts both inside the hello and deep into the transfer.
  p.direction = unit(rng) < 0.25 ? 0U : 1U;
  const auto bits = std::uniform_int_distribution<int>(0, 16)(rng);
  p.byte_budget = std::uniform_int_distribution<std::uint64_t>(0, std::uint64_t{1} << bits)(rng) %
                  (o.max_cut_bytes + 1);
  if (unit(rng) < o.stall_share) {
    p.kind = fault_kind::stall;
  } else if (unit(rng) < o.delay_share) {
    // A slow path: bytes still arrive, in order, but possibly after the client has given
    // the connection up and resumed on another one.
    p.kind = fault_kind::delay;
    const double max_ms = std::max(1.0, static_cast<double>(o.max_delay_ms));
    p.delay = std::chrono::microseconds(
        static_cast<std::int64_t>(1000.0 * std::exp(unit(rng) * std::log(max_ms))));
  } else if (unit(rng) < 0.5) {
    p.kind = fault_kind::byte_cut;
  } else {
    p.kind = fault_kind::time_cut;
    // Log-uniform from 0.1 ms: most sessions are short, and a cut must land inside them.
    const double max_us = std::max(100.0, 1000.0 * o.max_cut_ms);
    const double us = 100.0 * std::exp(unit(rng) * std::log(max_us / 100.0));
    p.delay = std::chrono::microseconds(static_cast<std::int64_t>(us));
  }
  return p;
}

/// @brief Both halves of one proxied connection. Lives as long as one of its pumps.
class proxied : public std::enable_shared_from_this<proxied> {
 public:
  proxied(tcp::socket client, fault_plan plan, counters& stats, const proxy_options& options,
          hello_hold& hold)
      : down_(std::move(client)),
        up_(down_.get_executor()),
        timer_(down_.get_executor()),
        plan_(plan),
        stats_(stats),
        options_(options),
        hold_(hold) {}

  static awaitable<void> run(std::shared_ptr<proxied> self, tcp::endpoint target) {
    auto [ec] = co_await self->up_.async_connect(target, use_nothrow);
    if (ec) {
      ++self->stats_.upstream_failures;
      self->close(false);
      co_return;
    }
    asio::error_code ignored;
    self->down_.set_option(tcp::no_delay(true), ignored);
    self->up_.set_option(tcp::no_delay(true), ignored);
    if (self->plan_.split) {
      ++self->stats_.split;
    }
    if (self->plan_.kind == fault_kind::delay) {
      ++self->stats_.delayed;
    }
    if (self->plan_.hold) {
      self->hold_.first = self;
    }
    if (self->plan_.kind == fault_kind::time_cut) {
      asio::co_spawn(self->down_.get_executor(), time_cut(self), asio::detached);
    }
    asio::co_spawn(self->down_.get_executor(), pump(self, 0), asio::detached);
    co_await pump(self, 1);
  }

 private:
  static awaitable<void> time_cut(std::shared_ptr<proxied> self) {
    self->timer_.expires_after(self->plan_.delay);
    auto [ec] = co_await self->timer_.async_wait(use_nothrow);
    if (!ec && !self->closed_) {
      ++self->stats_.time_cuts;
      self->cut();
    }
  }

  static awaitable<void> stall_cap(std::shared_ptr<proxied> self) {
    self->timer_.expires_after(milliseconds(self->options_.stall_cap_ms));
    auto [ec] = co_await self->timer_.async_wait(use_nothrow);
    if (!ec && !self->closed_) {
      ++self->stats_.stall_cuts;
      self->cut();
    }
  }

  /// @brief Forwards one direction (0: client to server, 1: server to client).
  static awaitable<void> pump(std::shared_ptr<proxied> self, std::size_t dir) {
    tcp::socket& from = dir == 0 ? self->down_ : self->up_;
    tcp::socket& to = dir == 0 ? self->up_ : self->down_;
    const fault_plan& plan = self->plan_;
    std::mt19937_64 pieces(plan.piece_seed + dir);
    asio::steady_timer pause(from.get_executor());
    std::array<char, 16384> buffer{};
    // Ends when either socket fails or is closed (a cut closes both), or at end of file.
    while (!self->closed_) {
      auto [read_error, got] = co_await from.async_read_some(asio::buffer(buffer), use_nothrow);
      if (self->closed_) {
        co_return;
      }
      const bool holding = plan.hold && dir == 0 && !self->hold_.released;
      if (holding) {
        // Kept for later, even after the client has given the connection up.
        if (read_error) {
          self->eof_[0] = true;
          co_return;
        }
        self->hold_.bytes.append(buffer.data(), got);
        continue;
      }
      if (!read_error && plan.hold && dir == 1 && !self->hold_.answered) {
        self->hold_.answered = true;
        self->hold_.answered_event.cancel();
      }
      if (!read_error && dir == 1 && self->hold_.first && !self->hold_.released &&
          std::string_view(buffer.data(), got).find("does not exist;") != std::string_view::npos) {
        co_await release_held_hello(self->hold_, self->stats_);
      }
      if (read_error) {
        if (read_error == asio::error::eof) {
          // Pass the half-close on; the connection ends once both sides have closed.
          asio::error_code ignored;
          to.shutdown(tcp::socket::shutdown_send, ignored);
          self->eof_[dir] = true;
          if (self->eof_[0] && self->eof_[1]) {
            self->close(false);
          }
        } else {
          self->close(true);  // a reset from one peer becomes a reset to the other
        }
        co_return;
      }
      if (self->stalled_) {
        continue;  // read and dropped: only a peer's close still matters
      }
      std::size_t take = got;
      bool budget_reached = false;
      if ((plan.kind == fault_kind::byte_cut || plan.kind == fault_kind::stall) &&
          plan.direction == dir) {
        const std::uint64_t left = plan.byte_budget - self->sent_[dir];
        if (got >= left) {
          take = static_cast<std::size_t>(left);
          budget_reached = true;
        }
      }
      if (plan.kind == fault_kind::delay && plan.direction == dir) {
        pause.expires_after(plan.delay);
        co_await pause.async_wait(use_nothrow);
        if (self->closed_) {
          co_return;
        }
      }
      std::size_t done = 0;
      while (done < take) {
        std::size_t piece = take - done;
        // Split only the first 4 KiB of a direction: enough for partial frames everywhere
        // in the hello and the first batches, without crawling through long transfers.
        if (plan.split && self->sent_[dir] + done < 4096) {
          piece = std::min(piece, std::uniform_int_distribution<std::size_t>(1, 8)(pieces));
        }
        auto [write_error, written] =
            co_await asio::async_write(to, asio::buffer(buffer.data() + done, piece), use_nothrow);
        if (write_error || self->closed_) {
          self->close(true);
          co_return;
        }
        done += written;
        if (plan.split && pieces() % 16 == 0) {
          pause.expires_after(milliseconds(1));
          co_await pause.async_wait(use_nothrow);
          if (self->closed_) {
            co_return;
          }
        }
      }
      self->sent_[dir] += take;
      if (take > 0) {
        self->last_[dir] = buffer[take - 1];
      }
      if (budget_reached) {
        if (plan.kind == fault_kind::byte_cut) {
          ++self->stats_.byte_cuts;
          self->cut();
          co_return;
        }
        ++self->stats_.stalls;
        self->stalled_ = true;
        asio::co_spawn(from.get_executor(), stall_cap(self), asio::detached);
      }
    }
  }

  static awaitable<void> release_held_hello(hello_hold& hold, counters& stats) {
    hold.released = true;
    const auto first = hold.first;
    auto [ec, written] =
        co_await asio::async_write(first->up_, asio::buffer(hold.bytes), use_nothrow);
    if (ec) {
      co_return;
    }
    if (first->eof_[0]) {
      asio::error_code ignored;
      first->up_.shutdown(tcp::socket::shutdown_send, ignored);
    }
    if (!hold.answered) {
      // Bounded: a server that never answers lets the reply through after 10 s.
      hold.answered_event.expires_after(std::chrono::seconds(10));
      co_await hold.answered_event.async_wait(use_nothrow);
    }
    if (hold.answered) {
      ++stats.late_hellos;
    }
  }

  /// @brief Ends the connection on purpose, as the plan says (reset or orderly close).
  void cut() {
    if (closed_) {
      return;
    }
    const std::size_t dir = plan_.direction;
    // ';' ends every message: any other last byte means the peer got part of one.
    if (sent_[dir] > 0 && last_[dir] != ';') {
      ++stats_.mid_message;
    }
    if (plan_.reset) {
      ++stats_.resets;
    }
    close(plan_.reset);
  }

  void close(bool reset) {
    if (closed_) {
      return;
    }
    closed_ = true;
    timer_.cancel();
    for (tcp::socket* s : {&down_, &up_}) {
      asio::error_code ignored;
      if (reset && s->is_open()) {
        s->set_option(asio::socket_base::linger(true, 0), ignored);
      }
      s->close(ignored);
    }
  }

  tcp::socket down_;  // the client's side
  tcp::socket up_;    // the server's side
  asio::steady_timer timer_;
  fault_plan plan_;
  counters& stats_;
  const proxy_options& options_;
  hello_hold& hold_;
  bool closed_ = false;
  bool stalled_ = false;
  std::array<bool, 2> eof_{};
  std::array<std::uint64_t, 2> sent_{};
  std::array<char, 2> last_{};
};

awaitable<void> accept_loop(tcp::acceptor& acceptor, tcp::endpoint target,
                            const proxy_options& options, counters& stats, hello_hold& hold) {
  asio::steady_timer backoff(acceptor.get_executor());
  // Ends when the acceptor is closed at shutdown.
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of descriptors, for example: wait a little instead of spinning.
      backoff.expires_after(milliseconds(10));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    const std::uint64_t number = stats.connections++;
    fault_plan plan = make_plan(options, number);
    if (options.hold_first_hello && number == 0) {
      plan = fault_plan{};
      plan.hold = true;
    }
    auto connection = std::make_shared<proxied>(std::move(socket), plan, stats, options, hold);
    asio::co_spawn(acceptor.get_executor(), proxied::run(std::move(connection), target),
                   asio::detached);
  }
}

void print_counters(const counters& c) {
  std::cout << "fault-proxy: connections=" << c.connections << " cuts=" << c.cuts()
            << " byte-cuts=" << c.byte_cuts << " time-cuts=" << c.time_cuts
            << " stalls=" << c.stalls << " delayed=" << c.delayed << " stall-cuts=" << c.stall_cuts
            << " mid-message=" << c.mid_message << " resets=" << c.resets << " split=" << c.split
            << " upstream-failures=" << c.upstream_failures << " late-hellos=" << c.late_hellos
            << std::endl;
}

proxy_options parse(int argc, char** argv) {
  cxxopts::Options spec("numsequence-fault-proxy",
                        "TCP proxy for the chaos soak: forwards 127.0.0.1:PORT (PORT printed on "
                        "stdout) to the target and cuts connections at random");
  auto add = spec.add_options();
  add("target-port", "the server's port on 127.0.0.1", cxxopts::value<unsigned>());
  add("seed", "seed of the fault plans", cxxopts::value<std::uint64_t>()->default_value("1"));
  add("fault-rate", "share of connections cut or stalled",
      cxxopts::value<double>()->default_value("0.5"));
  add("stall-share", "share of the faulty connections that stall instead",
      cxxopts::value<double>()->default_value("0.05"));
  add("delay-share", "share of the faulty connections whose bytes in one direction are each held",
      cxxopts::value<double>()->default_value("0.05"));
  add("max-delay-ms", "longest hold of a delayed connection (log-uniform from 1 ms)",
      cxxopts::value<unsigned>()->default_value("3000"));
  add("split-rate", "share of connections whose first bytes go out in 1-8 byte pieces",
      cxxopts::value<double>()->default_value("0.15"));
  add("max-cut-bytes", "largest byte budget before a cut",
      cxxopts::value<std::uint64_t>()->default_value("65536"));
  add("max-cut-ms", "latest time cut, in ms after connecting",
      cxxopts::value<unsigned>()->default_value("400"));
  add("stall-cap-ms", "a stalled connection is cut after this long",
      cxxopts::value<unsigned>()->default_value("20000"));
  add("hold-first-hello",
      "hold the first connection's client bytes until a later connection gets \"does not "
      "exist\", deliver them, and pass that reply on once the server has answered them");
  add("h,help", "this help");
  const auto args = spec.parse(argc, argv);
  if (args.count("help") > 0) {
    std::cout << spec.help();
    std::exit(0);
  }
  if (args.count("target-port") == 0 || args["target-port"].as<unsigned>() == 0 ||
      args["target-port"].as<unsigned>() > 65535) {
    throw std::invalid_argument("--target-port (1-65535) is required");
  }
  proxy_options o;
  o.target_port = static_cast<std::uint16_t>(args["target-port"].as<unsigned>());
  o.seed = args["seed"].as<std::uint64_t>();
  o.fault_rate = args["fault-rate"].as<double>();
  o.stall_share = args["stall-share"].as<double>();
  o.split_rate = args["split-rate"].as<double>();
  o.delay_share = args["delay-share"].as<double>();
  o.max_delay_ms = args["max-delay-ms"].as<unsigned>();
  o.hold_first_hello = args.count("hold-first-hello") > 0;
  o.max_cut_bytes = args["max-cut-bytes"].as<std::uint64_t>();
  o.max_cut_ms = args["max-cut-ms"].as<unsigned>();
  o.stall_cap_ms = args["stall-cap-ms"].as<unsigned>();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  proxy_options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "numsequence-fault-proxy: " << e.what() << '\n';
    return 2;
  }
  try {
    asio::io_context io(1);
    const auto loopback = asio::ip::make_address_v4("127.0.0.1");
    tcp::acceptor acceptor(io, tcp::endpoint(loopback, 0));
    const tcp::endpoint target(loopback, options.target_port);
    counters stats;
    hello_hold hold(io.get_executor());
    asio::co_spawn(io, accept_loop(acceptor, target, options, stats, hold), asio::detached);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const asio::error_code& ec, int) {
      if (ec) {
        return;
      }
      print_counters(stats);
      asio::error_code ignored;
      acceptor.close(ignored);
      io.stop();
    });
    std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "numsequence-fault-proxy: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
