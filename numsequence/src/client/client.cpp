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
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/frame_decoder.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/client/state_file.hpp"
#include "numsequence/net/tls.hpp"

namespace numsequence {
namespace {

using asio::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Saving rewrites the whole file (up to ~700 KB), so it happens at milestones and
// at most this often while batches stream in. A client killed in between loses
// only batches it can fetch again.
constexpr auto save_interval = std::chrono::milliseconds(250);

bool is_does_not_exist(std::string_view err) {
  return err.starts_with("Client-id: ") && err.ends_with(" does not exist");
}
bool is_already_exist(std::string_view err) {
  return err.ends_with(" already exist");
}

/// Refusals that say "not now" rather than "no": the client backs off and tries again.
bool is_transient(std::string_view err) {
  return err == "session store unavailable" || err == "server busy";
}

/// How one connection attempt ended.
enum class attempt_end {
  completed,  ///< FAC received
  refused,    ///< ERR that retrying will not change
  untrusted,  ///< the server's TLS certificate failed verification: retrying will not help
  lost,       ///< connection failed or dropped; resume
};

bool is_certificate_failure(std::error_code ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

std::shared_ptr<asio::ssl::context> tls_context_for(const client_options& options) {
  return options.tls ? make_client_tls_context(options.tls_ca) : nullptr;
}

/// Runs one session over as many connections as it takes.
class session_runner {
 public:
  session_runner(client_state& state, const client_options& options, bool init_maybe_sent,
                 std::shared_ptr<asio::ssl::context> tls)
      : state_(state),
        options_(options),
        init_maybe_sent_(init_maybe_sent),
        init_ever_sent_(init_maybe_sent),
        tls_(std::move(tls)) {
    result_.id = state.id;
    result_.n = state.n;
    result_.batch = state.batch;
  }

  client_result run() {
    asio::io_context io(1);
    std::exception_ptr failure;
    asio::co_spawn(io, main_loop(io), [&](std::exception_ptr e) { failure = e; });
    io.run();
    link_.reset();  // its socket and timer belong to `io`: they must go first
    if (failure)
      std::rethrow_exception(failure);
    return result_;
  }

 private:
  asio::awaitable<void> main_loop(asio::io_context& io) {
    unsigned failures = 0;
    std::size_t server_index = 0;
    bool first = true;
    asio::steady_timer backoff(io);
    for (;;) {
      if (!first)
        ++result_.reconnects;
      first = false;
      progressed_ = false;
      const auto& server = options_.servers[server_index % options_.servers.size()];
      const attempt_end end = co_await attempt(io, server);
      save();
      if (end == attempt_end::completed) {
        finish_result();
        co_return;
      }
      if (end == attempt_end::refused) {
        result_.outcome = client_outcome::refused;
        co_return;
      }
      if (end == attempt_end::untrusted) {
        result_.outcome = client_outcome::gave_up;
        result_.error = last_error_;
        co_return;
      }
      if (progressed_) {
        failures = 0;  // the server dropped a working connection: resume at once
        note("Connection lost (" + last_error_ + "); resuming");
        continue;
      }
      if (++failures > options_.retries) {
        result_.outcome = client_outcome::gave_up;
        result_.error = "gave up after " + std::to_string(failures) +
                        " consecutive failed attempts (last: " + last_error_ + ")";
        co_return;
      }
      ++server_index;  // a server that fails us: try the next one, if there is one
      auto delay = options_.first_backoff * (1u << std::min(failures - 1, 10u));
      delay = std::min<clock::duration>(delay, options_.max_backoff);
      note("Attempt failed (" + last_error_ + "); retrying in " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()) +
           " ms");
      backoff.expires_after(delay);
      co_await backoff.async_wait(use_nothrow);
    }
  }

  asio::awaitable<attempt_end> attempt(asio::io_context& io, const server_address& server) {
    // The watchdog outlives this coroutine by one wake-up, so what it touches is shared.
    link_ = std::make_shared<link>(io, tls_.get());
    arm();
    asio::co_spawn(io, watch(link_), asio::detached);
    struct stop_watch {
      std::shared_ptr<link> l;
      ~stop_watch() {
        l->done = true;
        l->watchdog.cancel();
      }
    } stop{link_};
    connection_stream& socket = link_->stream;

    decoder_.emplace(std::max<std::size_t>(1024, std::size_t{state_.batch} * 11 + 64));
    input_.clear();
    begin_ = 0;

    tcp::resolver resolver(io);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(server.host, std::to_string(server.port), use_nothrow);
    if (rec)
      co_return lost(rec);
    auto [cec, endpoint] = co_await asio::async_connect(socket.socket(), endpoints, use_nothrow);
    if (cec)
      co_return lost(cec);
    std::error_code ignored;
    socket.socket().set_option(tcp::no_delay(true), ignored);
    if (auto* tls = socket.tls()) {
      expect_server_name(*tls, server.host);
      auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_nothrow);
      if (hec) {
        const std::string where = server.host + ":" + std::to_string(server.port);
        if (is_certificate_failure(hec)) {
          last_error_ = "the TLS certificate of " + where + " is not trusted (" + hec.message() +
                        "; see --ca)";
          co_return attempt_end::untrusted;
        }
        lost(hec);
        last_error_ = "TLS handshake with " + where + " failed: " + last_error_;
        co_return attempt_end::lost;
      }
    }

    // Batches: keep up to `pipeline` RECVs in flight; replies come back in order.
    std::deque<std::uint32_t> in_flight;
    std::uint32_t next = 0;
    const std::uint32_t total = state_.batch_count();
    const unsigned window = std::max(1u, options_.pipeline);
    auto fill_window = [&](std::string& out) {
      while (in_flight.size() < window && next < total) {
        if (state_.have[next]) {
          transcript("Skipping chunk-nr: " + std::to_string(next));
        } else {
          const auto start = out.size();
          append_recv(out, next);
          transcript_sent(std::string_view(out).substr(start));
          in_flight.push_back(next);
        }
        ++next;
      }
    };

    // Hello: INIT for a session never sent, CONT for one the server has (or may have).
    const bool send_init = !state_.acknowledged && !init_maybe_sent_;
    const bool earlier_init = init_ever_sent_;
    std::string out;
    if (send_init) {
      init_ever_sent_ = true;
      append_init(out, init_message{state_.id, state_.n, state_.batch});
      // Until a reply says what became of it: if the connection drops first, the
      // next attempt asks with CONT instead of creating the session twice.
      init_maybe_sent_ = true;
    } else {
      append_cont(out, cont_message{state_.id});
    }
    transcript_sent(out);
    // Pipelining: the first RECVs go with the hello, saving a round trip, so even a
    // connection that the session timer cuts soon after its hello yields batches.
    if (window > 1)
      fill_window(out);
    if (!co_await send(socket, out, false))
      co_return attempt_end::lost;
    server_message reply;
    if (!co_await receive(socket, reply))
      co_return attempt_end::lost;
    if (auto* err = std::get_if<err_message>(&reply)) {
      if (!send_init && !state_.acknowledged && is_does_not_exist(err->text)) {
        // Our earlier INIT never reached the server: send it on the next attempt. Not
        // progress: a server that keeps losing INITs must not keep the client forever.
        init_maybe_sent_ = false;
        last_error_ = "session not created yet";
        co_return attempt_end::lost;
      }
      if (send_init && earlier_init && is_already_exist(err->text)) {
        // An earlier INIT of ours, held up on an abandoned connection, reached the server
        // after the CONT that found nothing: the session is ours, so ask with CONT again.
        // Not progress: --retries bounds a server that keeps answering this way.
        init_maybe_sent_ = true;
        last_error_ = "session created by an earlier INIT";
        co_return attempt_end::lost;
      }
      co_return refusal(err->text);
    }
    if (!std::holds_alternative<ack_message>(reply))
      co_return bad_reply("ACK");
    init_maybe_sent_ = false;
    if (!state_.acknowledged) {
      state_.acknowledged = true;
      dirty_ = true;
      save();
    }
    transcript("Requesting numbers");

    for (;;) {
      out.clear();
      // Refill when half the window has come back: one write then carries many RECVs,
      // instead of one write (and one system call) per reply.
      if (in_flight.size() * 2 <= window)
        fill_window(out);
      if (!out.empty() && !co_await send(socket, out, false))
        co_return attempt_end::lost;
      if (in_flight.empty())
        break;
      if (!co_await receive(socket, reply))
        co_return attempt_end::lost;
      if (auto* err = std::get_if<err_message>(&reply))
        co_return refusal(err->text);
      auto* num = std::get_if<num_message>(&reply);
      if (num == nullptr)
        co_return bad_reply("NUM");
      const std::uint32_t k = in_flight.front();
      in_flight.pop_front();
      if (num->numbers.size() != state_.batch_size(k))
        co_return bad_reply("NUM of the right size");
      std::copy(num->numbers.begin(), num->numbers.end(),
                state_.numbers.begin() + state_.batch_begin(k));
      state_.have[k] = true;
      dirty_ = true;
      progressed_ = true;
      if (options_.on_progress)
        options_.on_progress(state_.batches_received(), total);
      if (clock::now() - last_save_ >= save_interval)
        save();
    }

    // Saved before FIN: once the server completes the session it refuses RECV, so a
    // client killed after FIN must find every batch in its state file.
    save();
    out.clear();
    append_fin(out);
    if (!co_await send(socket, out))
      co_return attempt_end::lost;
    if (!co_await receive(socket, reply))
      co_return attempt_end::lost;
    if (auto* err = std::get_if<err_message>(&reply))
      co_return refusal(err->text);
    auto* fac = std::get_if<fac_message>(&reply);
    if (fac == nullptr)
      co_return bad_reply("FAC");
    state_.server_checksum = fac->checksum;
    dirty_ = true;
    transcript("Closing the connection");
    co_return attempt_end::completed;
  }

  /// One connection attempt: its socket, and the deadline its watchdog enforces.
  struct link {
    link(asio::io_context& io, asio::ssl::context* tls)
        : stream(tls ? connection_stream(tcp::socket(io), *tls)
                     : connection_stream(tcp::socket(io))),
          watchdog(io) {}
    connection_stream stream;
    asio::steady_timer watchdog;
    clock::time_point deadline{};
    bool done = false;
    bool timed_out = false;
  };

  /// Every wait gets a fresh deadline (arm()); if one passes, the watchdog closes the
  /// socket, which fails the pending operation.
  static asio::awaitable<void> watch(std::shared_ptr<link> l) {
    while (!l->done) {
      l->watchdog.expires_at(l->deadline);
      co_await l->watchdog.async_wait(use_nothrow);
      if (!l->done && clock::now() >= l->deadline) {
        l->timed_out = true;
        l->stream.close();
      }
    }
  }

  void arm() { link_->deadline = clock::now() + options_.io_timeout; }

  /// Writes `bytes`; logs them as one transcript line unless the caller already did.
  asio::awaitable<bool> send(connection_stream& socket, const std::string& bytes,
                             bool log_line = true) {
    if (log_line)
      transcript_sent(bytes);
    arm();
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), use_nothrow);
    if (ec) {
      lost(ec);
      co_return false;
    }
    co_return true;
  }

  /// Reads the next message from the server into `out`.
  asio::awaitable<bool> receive(connection_stream& socket, server_message& out) {
    arm();
    for (;;) {
      const std::string_view pending(input_.data() + begin_, input_.size() - begin_);
      const frame_result frame = decoder_->consume(pending);
      if (frame.what == frame_result::kind::frame) {
        begin_ += frame.consumed;
        if (options_.on_transcript) {
          options_.on_transcript("Received: " + std::string(frame.frame) + ";");
        }
        if (auto ec = parse_server_message(frame.frame, out)) {
          last_error_ = "unreadable reply from the server: " + ec.message();
          co_return false;
        }
        co_return true;
      }
      if (frame.what == frame_result::kind::error) {
        last_error_ = "unreadable reply from the server: " + frame.error.message();
        co_return false;
      }
      begin_ += frame.consumed;
      // Drop what was consumed before growing the buffer.
      input_.erase(0, begin_);
      begin_ = 0;
      const auto old_size = input_.size();
      input_.resize(old_size + 64 * 1024);
      auto [ec, n] = co_await socket.async_read_some(
          asio::buffer(input_.data() + old_size, input_.size() - old_size), use_nothrow);
      input_.resize(old_size + n);
      if (ec) {
        lost(ec);
        co_return false;
      }
      arm();
    }
  }

  attempt_end lost(std::error_code ec) {
    if (link_ && link_->timed_out) {
      last_error_ = "no answer within the I/O timeout";
    } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      // A TLS server that closes without close_notify is the same event as a TCP close.
      last_error_ = "connection closed by the server";
    } else {
      last_error_ = ec.message();
    }
    return attempt_end::lost;
  }

  attempt_end bad_reply(std::string_view expected) {
    last_error_ = "unexpected reply from the server (expected " + std::string(expected) + ")";
    return attempt_end::lost;
  }

  attempt_end refusal(const std::string& text) {
    if (is_transient(text)) {
      last_error_ = "server said: " + text;
      return attempt_end::lost;
    }
    result_.error = text;
    return attempt_end::refused;
  }

  void transcript(const std::string& line) {
    if (options_.on_transcript)
      options_.on_transcript(line);
  }
  void transcript_sent(std::string_view bytes) {
    if (options_.on_transcript) {
      options_.on_transcript("Sending message: '" + std::string(bytes) + "'");
    }
  }
  void note(const std::string& line) {
    if (options_.on_note)
      options_.on_note(line);
  }

  /// Writes the state file if anything changed since it was last written.
  void save() {
    if (!dirty_)
      return;
    save_state(options_.state_file, state_);
    last_save_ = clock::now();
    dirty_ = false;
  }

  void finish_result() {
    result_.checksum = checksum_of(state_.numbers);
    result_.server_checksum = state_.server_checksum;
    result_.sum = 0;
    for (auto v : state_.numbers)
      result_.sum += v;
    result_.outcome = *result_.checksum == *result_.server_checksum ? client_outcome::valid
                                                                    : client_outcome::mismatch;
  }

  client_state& state_;
  const client_options& options_;
  client_result result_;
  bool init_maybe_sent_;
  // An INIT may have left in this run or an earlier one: "already exist" can then be ours.
  bool init_ever_sent_;
  bool progressed_ = false;
  bool dirty_ = true;  // the state differs from the file (true: never written by this run)
  std::string last_error_;
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain TCP
  std::shared_ptr<link> link_;
  clock::time_point last_save_{};
  std::optional<frame_decoder> decoder_;
  std::string input_;
  std::size_t begin_ = 0;
};

}  // namespace

client_result run_new_session(const client_id& id, std::uint32_t n, std::uint32_t batch,
                              const client_options& options) {
  // The file may hold another session's progress; if the server refuses this one,
  // that file is put back, so a mistaken NEW costs nothing.
  auto tls = tls_context_for(options);  // a bad --ca fails before the state file is touched
  std::optional<std::string> previous = read_file_if_present(options.state_file);
  client_state state = client_state::fresh(id, n, batch);
  // Written before INIT goes out: a client killed before the ACK can still CONTINUE.
  save_state(options.state_file, state);
  session_runner runner(state, options, false, std::move(tls));
  client_result result = runner.run();
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
  // Without an ACK on record, the INIT may or may not have reached the server.
  session_runner runner(state, options, !state.acknowledged, std::move(tls));
  return runner.run();
}

}  // namespace numsequence
