#include "numsequence/client/client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "numsequence/client/client_session.hpp"
#include "numsequence/client/state_file.hpp"
#include "numsequence/net/tls.hpp"
#include "numsequence/protocol/framed_reader.hpp"

namespace numsequence {
namespace {

using asio::ip::tcp;
using clock = std::chrono::steady_clock;
using action = client_session::action;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Saving rewrites the whole file (up to ~700 KB for a random session; a Fibonacci session
// keeps only which batches it has), so it happens at milestones and at most this often while
// batches stream in. A client killed in between loses only batches it can fetch again.
constexpr auto save_interval = std::chrono::milliseconds(250);
// Room offered to each read: a whole window of small replies, or a good part of a large one.
constexpr std::size_t read_size = 64 * 1024;

bool is_certificate_failure(std::error_code ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

std::shared_ptr<asio::ssl::context> tls_context_for(const client_options& options) {
  return options.tls ? make_client_tls_context(options.tls_ca) : nullptr;
}

/// One connection attempt: its socket, and the deadline its watchdog enforces.
struct link {
  link(asio::io_context& io, asio::ssl::context* tls)
      : stream(tls ? connection_stream(tcp::socket(io), *tls) : connection_stream(tcp::socket(io))),
        watchdog(io) {}
  connection_stream stream;
  asio::steady_timer watchdog;
  clock::time_point deadline{};
  bool done = false;
  bool timed_out = false;
};

/// Every wait gets a fresh deadline (session_driver::arm()); if one passes, the watchdog
/// closes the socket, which fails the pending operation.
asio::awaitable<void> watch(std::shared_ptr<link> l) {
  while (!l->done) {
    l->watchdog.expires_at(l->deadline);
    co_await l->watchdog.async_wait(use_nothrow);
    if (!l->done && clock::now() >= l->deadline) {
      l->timed_out = true;
      l->stream.close();
    }
  }
}

/// Ends a link's watchdog when the attempt that owns the link ends, however it ends.
struct stop_watch {
  std::shared_ptr<link> l;
  ~stop_watch() {
    l->done = true;
    l->watchdog.cancel();
  }
};

/// How opening a connection ended.
enum class open_end {
  open,       ///< connected (and TLS handshake done): the session may speak
  lost,       ///< failed; the session was told (on_connection_lost)
  untrusted,  ///< the server's TLS certificate failed verification: retrying will not help
};

/// Runs one session over as many connections as it takes: the I/O around a client_session.
class session_driver {
 public:
  session_driver(client_state& state, const client_options& options, client_session::origin from,
                 std::shared_ptr<asio::ssl::context> tls)
      : state_(state), options_(options), session_(state, options, from), tls_(std::move(tls)) {}

  client_result run() {
    asio::io_context io(1);
    std::exception_ptr failure;
    asio::co_spawn(io, main_loop(io), [&](std::exception_ptr e) { failure = e; });
    io.run();
    link_.reset();  // its socket and timer belong to `io`: they must go first
    if (failure)
      std::rethrow_exception(failure);
    client_result result = session_.result();
    result.reconnects = reconnects_;
    if (gave_up_) {
      result.outcome = client_outcome::gave_up;
      result.error = *gave_up_;
    }
    return result;
  }

 private:
  /// Attempts until the session completes, is refused, or the client gives up.
  asio::awaitable<void> main_loop(asio::io_context& io) {
    unsigned failures = 0;
    std::size_t server_index = 0;
    asio::steady_timer backoff(io);
    for (bool first = true;; first = false) {
      if (!first)
        ++reconnects_;
      const auto& server = options_.servers[server_index % options_.servers.size()];
      const bool trusted = co_await attempt(io, server);
      save();
      if (!trusted)
        co_return;
      const auto& end = session_.last_attempt();
      if (end.outcome != client_session::attempt_outcome::lost)
        co_return;  // completed or refused: the session's result says which
      if (end.progressed) {
        failures = 0;  // the server dropped a working connection: resume at once
        note("Connection lost (" + end.error + "); resuming");
        continue;
      }
      if (++failures > options_.retries) {
        gave_up_ = "gave up after " + std::to_string(failures) +
                   " consecutive failed attempts (last: " + end.error + ")";
        co_return;
      }
      ++server_index;  // a server that fails us: try the next one, if there is one
      const auto delay = backoff_delay(failures);
      note("Attempt failed (" + end.error + "); retrying in " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()) +
           " ms");
      backoff.expires_after(delay);
      co_await backoff.async_wait(use_nothrow);
    }
  }

  clock::duration backoff_delay(unsigned failures) const {
    const auto delay = options_.first_backoff * (1u << std::min(failures - 1, 10u));
    return std::min<clock::duration>(delay, options_.max_backoff);
  }

  /// One connection attempt, under a watchdog. False if the server cannot be trusted.
  asio::awaitable<bool> attempt(asio::io_context& io, const server_address& server) {
    // The watchdog outlives this coroutine by one wake-up, so what it touches is shared.
    link_ = std::make_shared<link>(io, tls_.get());
    arm();
    asio::co_spawn(io, watch(link_), asio::detached);
    const stop_watch stop{link_};
    const open_end opened = co_await open(io, server);
    if (opened == open_end::open)
      co_await exchange();
    co_return opened != open_end::untrusted;
  }

  /// Resolves, connects and, with TLS, shakes hands.
  asio::awaitable<open_end> open(asio::io_context& io, const server_address& server) {
    connection_stream& stream = link_->stream;
    tcp::resolver resolver(io);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(server.host, std::to_string(server.port), use_nothrow);
    if (rec)
      co_return lost(describe(rec));
    auto [cec, endpoint] = co_await asio::async_connect(stream.socket(), endpoints, use_nothrow);
    if (cec)
      co_return lost(describe(cec));
    std::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    auto* tls = stream.tls();
    if (tls == nullptr)
      co_return open_end::open;
    expect_server_name(*tls, server.host);
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (!hec)
      co_return open_end::open;
    const std::string where = server.host + ":" + std::to_string(server.port);
    if (is_certificate_failure(hec)) {
      gave_up_ =
          "the TLS certificate of " + where + " is not trusted (" + hec.message() + "; see --ca)";
      co_return open_end::untrusted;
    }
    co_return lost("TLS handshake with " + where + " failed: " + describe(hec));
  }

  /// The session's steps on an open connection: write what it says, feed it what comes back.
  asio::awaitable<void> exchange() {
    framed_reader reader(session_.max_frame());
    std::string out;
    action step = session_.on_connected(out);
    for (;;) {
      if (step == action::save_then_send)
        save();
      if (!out.empty() && !co_await write(out))
        co_return;
      out.clear();
      step = co_await read_and_feed(reader, out);
      if (step == action::done)
        co_return;
      save_if_due();
    }
  }

  asio::awaitable<bool> write(const std::string& bytes) {
    arm();
    auto [ec, n] = co_await asio::async_write(link_->stream, asio::buffer(bytes), use_nothrow);
    if (ec) {
      session_.on_connection_lost(describe(ec));
      co_return false;
    }
    co_return true;
  }

  /// Reads until the next frame (or error, or loss) and feeds it to the session.
  asio::awaitable<action> read_and_feed(framed_reader& reader, std::string& out) {
    arm();
    for (;;) {
      const frame_result frame = reader.next();
      if (frame.what == frame_result::kind::frame)
        co_return session_.on_frame(frame.frame, out);
      if (frame.what == frame_result::kind::error)
        co_return session_.on_frame_error(frame.error);
      const std::span<char> room = reader.prepare(read_size);
      auto [ec, n] = co_await link_->stream.async_read_some(asio::buffer(room.data(), room.size()),
                                                            use_nothrow);
      reader.commit(n);
      if (ec)
        co_return session_.on_connection_lost(describe(ec));
      arm();
    }
  }

  open_end lost(std::string reason) {
    session_.on_connection_lost(std::move(reason));
    return open_end::lost;
  }

  std::string describe(std::error_code ec) const {
    if (link_ && link_->timed_out)
      return "no answer within the I/O timeout";
    // A TLS server that closes without close_notify is the same event as a TCP close.
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      return "connection closed by the server";
    return ec.message();
  }

  void arm() { link_->deadline = clock::now() + options_.io_timeout; }

  void note(const std::string& line) {
    if (options_.on_note)
      options_.on_note(line);
  }

  /// Writes the state file if the session changed it since (or this run never wrote it).
  void save() {
    if (written_ && !session_.unsaved())
      return;
    save_state(options_.state_file, state_);
    session_.saved();
    written_ = true;
    last_save_ = clock::now();
  }

  void save_if_due() {
    if (session_.unsaved() && clock::now() - last_save_ >= save_interval)
      save();
  }

  client_state& state_;
  const client_options& options_;
  client_session session_;
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain TCP
  std::shared_ptr<link> link_;
  unsigned reconnects_ = 0;
  std::optional<std::string> gave_up_;  // why the client gave up, once it has
  bool written_ = false;
  clock::time_point last_save_{};
};

}  // namespace

client_result run_new_session(const client_id& id, std::uint32_t n, std::uint32_t batch,
                              const client_options& options, sequence_kind kind) {
  // The file may hold another session's progress; if the server refuses this one,
  // that file is put back, so a mistaken NEW costs nothing.
  auto tls = tls_context_for(options);  // a bad --ca fails before the state file is touched
  std::optional<std::string> previous = read_file_if_present(options.state_file);
  client_state state = client_state::fresh(id, n, batch, kind);
  // Written before INIT goes out: a client killed before the ACK can still CONTINUE.
  save_state(options.state_file, state);
  session_driver driver(state, options, client_session::origin::new_session, std::move(tls));
  client_result result = driver.run();
  if (result.outcome == client_outcome::refused && !state.acknowledged) {
    if (previous) {
      write_file_atomically(options.state_file, *previous);
    } else {
      std::error_code ignored;
      std::filesystem::remove(options.state_file, ignored);
    }
  }
  return result;
}

client_result run_continue_session(const client_options& options) {
  auto tls = tls_context_for(options);
  client_state state = load_state(options.state_file);
  session_driver driver(state, options, client_session::origin::resumed, std::move(tls));
  return driver.run();
}

}  // namespace numsequence
