#pragma once
/// @brief One HTTP/1.1 connection of the server, without I/O: bytes in, responses and steps out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "numsequence/http/request_parser.hpp"
#include "numsequence/http/response.hpp"
#include "numsequence/http/response_cache.hpp"
#include "numsequence/http/router.hpp"
#include "numsequence/protocol/input_buffer.hpp"
#include "numsequence/sequence/fibonacci_render.hpp"
#include "numsequence/server/connection_lifetime.hpp"
#include "numsequence/server/io_step.hpp"

namespace numsequence {

/// @brief What an http_connection needs from the server's configuration.
struct http_connection_config {
  request_limits requests;
  route_limits routes;
  /// Responses of pipelined requests are gathered up to this many bytes, then written; a
  /// streamed body is rendered and written a piece of about this size at a time, so a
  /// connection holds about twice this, however large the answer and slow the reader.
  std::size_t output_buffer = 64 * 1024;
  /// An answer whose body is at most this large (by an upper bound computed before rendering)
  /// is rendered whole, kept in the response cache and sent with a Content-Length; a larger
  /// one is streamed (chunked on HTTP/1.1, close-delimited on HTTP/1.0).
  std::size_t render_whole_limit = 1024 * 1024;
  /// idle: a connection that completes no request head (a slow one included), and takes no
  /// written byte, for this long is closed. No session timer.
  connection_timeouts timeouts;
};

/// @brief What an HTTP connection asks of the server: what is not the connection's own.
class http_services {
 public:
  virtual ~http_services() = default;
  /// @brief The Date value for a response now (IMF-fixdate).
  virtual std::string_view date() = 0;
  /// @brief Rendered answers shared by every connection of the process.
  virtual response_cache& cache() = 0;
  /// @brief Rendered answers too large to render whole, kept once streamed (one entry may
  /// take the whole budget; filled by claim_fill()).
  virtual response_cache& large_answers() = 0;
  /// @brief The page: route_kind::page, 200 (with `page_num` or without) or 400 (`message`).
  virtual std::string page(const route_result& route) = 0;
  /// @brief The metrics, in the Prometheus text format.
  virtual std::string metrics() = 0;
  /// @brief Why the server cannot take sessions now (the store unreachable, a stop under
  /// way), or nullopt when it can (/readyz).
  virtual std::optional<std::string> not_ready() = 0;
  /// @brief A request was answered (for metrics): the route decided (route_kind::error
  /// with the status for a head that could not be parsed) and the status sent.
  virtual void answered(const route_result& route, unsigned status) = 0;
};

/// @brief An HTTP/1.1 connection as a state machine that does no I/O, in the shape of
/// session_connection: the I/O side asks next(), carries out the io_step it names (read,
/// write, close, upgrade), reports the outcome, asks again.
///
/// It owns the request parser (pipelined requests answered strictly in order), routing, the
/// responses and their framing, the Fibonacci bodies (from the cache, rendered whole, or
/// streamed a piece at a time under backpressure: the next piece is rendered only once the
/// previous one is written), the WebSocket handshake, and when to close (connection_lifetime:
/// a request in progress finishes; HTTP/1.0 and `Connection: close` end after their answer;
/// a malformed head is answered and closed).
class http_connection {
 public:
  using clock = std::chrono::steady_clock;

  /// @brief `config` and `services` are the server's and must outlive the connection.
  http_connection(const http_connection_config& config, http_services& services,
                  clock::time_point now);
  /// @brief Gives back a claim on the large-answer cache of an answer not finished.
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// @brief Processes what it holds until the I/O side has to act.
  io_step next(clock::time_point now);

  /// @brief Lends bytes just read (see input_buffer::feed()).
  void feed(std::string_view bytes) { input_.feed(bytes); }
  /// @brief For reading straight into the connection: prepare(), read, commit().
  std::span<char> prepare(std::size_t n) { return input_.prepare(n); }
  void commit(std::size_t n) noexcept { input_.commit(n); }
  /// @brief With io_step::read: the connection waits for its peer; memory it does not need
  /// meanwhile is given back.
  void idle() noexcept;

  /// @brief With io_step::write: the bytes to write.
  std::string_view output() const noexcept;
  /// @brief The output was written, all of it.
  void written();

  /// @brief With io_step::upgrade: what the client sent after its upgrade request (the
  /// WebSocket's first bytes).
  std::string_view leftover() const noexcept { return input_.view(); }

  connection_lifetime& lifetime() noexcept { return lifetime_; }
  const connection_lifetime& lifetime() const noexcept { return lifetime_; }

 private:
  /// Where the connection is between two steps.
  enum class phase : std::uint8_t {
    reading,      ///< taking request heads and answering them
    streaming,    ///< a Fibonacci body is rendered a piece at a time
    cached_body,  ///< a large body from the cache follows the head already gathered
    closing,      ///< the last response is gathered: write it, then close
    upgrading,    ///< the 101 is gathered: write it, then upgrade
  };

  std::optional<io_step> take_request(clock::time_point now);
  void answer(const http_request& request);
  unsigned answer_fibonacci(const route_result& route, const http_request& request);
  unsigned answer_websocket(const http_request& request);
  void answer_text(const route_result& route, const http_request& request, unsigned status,
                   content_type type, std::string_view body);
  void send_sized(response_head head, std::shared_ptr<const std::string> body);
  void render_piece();
  void keep_aside(std::string_view piece);
  void release_fill();
  void response_finished();
  io_step write_step(clock::time_point now);
  /// What a streamed body needs: the threshold, a piece past it, and one long number.
  std::size_t stream_buffer_capacity() const noexcept { return 2 * config_.output_buffer + 16384; }

  const http_connection_config& config_;
  http_services& services_;
  input_buffer input_;
  request_parser parser_;
  connection_lifetime lifetime_;
  std::string output_;
  std::unique_ptr<fibonacci_renderer> renderer_;  // while streaming
  // While streaming an answer this connection claimed in large_answers(): the body so far,
  // stored there once whole.
  std::string fill_key_;
  std::string fill_;
  std::shared_ptr<const std::string> body_;  // while writing a cached body
  bool chunked_ = false;                     // the streamed body is chunked
  bool writing_body_ = false;                // output() is body_, not output_
  bool keep_alive_ = true;                   // the last request lets the connection go on
  phase phase_ = phase::reading;
};

}  // namespace numsequence
