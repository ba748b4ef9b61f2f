#pragma once
/// @file
/// @brief Tools for attacking the HTTP listener and the WebSocket stream: raw HTTP exchanges
/// read back with http_parser, a WebSocket client that can send any frame (a masked-frame
/// builder) and reads the server's frames with wslay's frame layer, expected Fibonacci answers
/// computed in the test (decimal addition, OpenSSL's MD5), and the scene of an attack on the
/// HTTP port.
///
/// Every web case has the shape of the TCP cases (hostile_support.hpp): the server runs with
/// `--http 0` beside its TCP port; a legitimate TCP session and a client process run beside
/// the attack (attack_scene), and so do legitimate HTTP requests and WebSocket streams, each
/// checked against the exact answer; at the end the server must exit 0 on SIGTERM.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hostile_support.hpp"

struct http_parser;
struct wslay_frame_context;

namespace numsequence::hostile {

// --- expected answers -------------------------------------------------------------------

/// @brief F(k) in decimal, by schoolbook addition of decimal strings: an answer computed
/// without the library's GMP code. The values are kept (the reference stays valid); safe to
/// call from several threads.
const std::string& fibonacci_text(std::size_t k);
/// @brief The body of `GET /v1/fibonacci?n=N` (JSON), from fibonacci_text().
std::string expected_fibonacci_json(std::size_t n);
/// @brief MD5 (lower-case hex) of Python's `str(list)` of F(from) .. F(from + count - 1): the
/// `md5` of a WebSocket `done` frame. OpenSSL's MD5 over text built here.
std::string expected_md5(std::size_t from, std::size_t count);

// --- HTTP -------------------------------------------------------------------------------

/// @brief One response read from the wire.
struct http_response {
  unsigned status = 0;
  unsigned http_minor = 1;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
  std::string body;                                          ///< de-chunked
  bool keep_alive = true;  ///< http_parser's reading of the head (Connection, version)

  /// @brief The first value of header `lower_name`, if any.
  std::optional<std::string> header(std::string_view lower_name) const;
};

/// @brief Reads responses from bytes as they arrive, with http_parser (HTTP_RESPONSE).
class http_response_reader {
 public:
  /// `head`: the requests were HEAD, so the responses have no body whatever they announce.
  explicit http_response_reader(bool head = false);
  ~http_response_reader();
  http_response_reader(const http_response_reader&) = delete;
  http_response_reader& operator=(const http_response_reader&) = delete;

  /// @brief Feeds bytes; false once they are not HTTP (see error()). After a 101 the bytes
  /// that follow its head are kept in leftover() and nothing more is parsed.
  bool feed(std::string_view bytes);
  /// @brief The peer closed: ends a body that runs until the close (HTTP/1.0).
  bool finish();

  std::vector<http_response>& responses() noexcept { return done_; }
  bool upgraded() const noexcept { return upgraded_; }
  const std::string& leftover() const noexcept { return leftover_; }
  const std::string& error() const noexcept { return error_; }
  /// @brief True when a response has begun and is not complete.
  bool in_response() const noexcept { return started_; }

 private:
  struct callbacks;
  std::unique_ptr<::http_parser> parser_;
  bool head_;
  http_response current_;
  std::string field_;
  bool in_value_ = false;
  bool started_ = false;
  bool upgraded_ = false;
  std::string leftover_;
  std::string error_;
  std::vector<http_response> done_;
};

/// @brief What came back on one connection.
struct http_exchange {
  std::vector<http_response> responses;
  std::string raw;          ///< every byte received
  bool closed = false;      ///< the server closed (or reset) within the timeout
  bool parsed = true;       ///< every byte was HTTP
  bool partial = false;     ///< a response was cut short
  std::string parse_error;  ///< why not, when !parsed
};

/// @brief `GET <target> <version>` with `Host`, the extra header lines (each ending CRLF),
/// and `Connection: close` when `close`.
std::string get_request(std::string_view target, std::string_view extra_headers = {},
                        bool close = false, std::string_view method = "GET",
                        std::string_view version = "HTTP/1.1");

/// @brief Connects, sends `bytes`, reads until the server closes or `timeout`, and parses.
/// With `expected` set, stops as soon as that many responses are complete (no close needed).
http_exchange exchange(std::uint16_t port, std::string_view bytes,
                       milliseconds timeout = seconds(10), bool head = false,
                       std::size_t expected = 0);

/// @brief Reads from an open connection until `count` responses are complete, the server
/// closes, or `timeout`.
http_exchange read_responses(raw_conn& conn, std::size_t count, milliseconds timeout,
                             bool head = false);

/// @brief A legitimate request beside an attack: `GET /v1/fibonacci?n=N` on a new
/// connection, checked byte for byte against expected_fibonacci_json(). Fails the test
/// (CHECK) if it is not answered exactly within `timeout`; returns how long it took.
milliseconds check_legit_http(std::uint16_t port, std::size_t n = 300,
                              milliseconds timeout = seconds(10));

/// @brief Waits until the server is stuck writing to every one of `conns` (clients that do
/// not read): each one's send queue at the server is non-empty and none has moved for 300 ms.
bool wait_until_writes_stall(std::uint16_t server_port, const std::vector<raw_conn>& conns,
                             milliseconds timeout);

// --- WebSocket --------------------------------------------------------------------------

/// @brief How to build a frame, including the ways a hostile client gets it wrong.
struct frame_options {
  bool fin = true;
  std::uint8_t rsv = 0;  ///< RSV1..3 as the top bits of the first byte (0x40, 0x20, 0x10)
  bool mask = true;      ///< a client must mask (RFC 6455 5.3)
  /// The length the header announces, when it must differ from the payload's.
  std::optional<std::uint64_t> announced_length;
};

/// @brief One client frame: header, mask key and masked payload (a small builder of our own:
/// wslay refuses to build the invalid frames the attacks need).
std::string client_frame(std::uint8_t opcode, std::string_view payload, frame_options o = {});
/// @brief A masked text frame.
std::string text_frame(std::string_view text);
/// @brief A masked close frame with `code` and `reason`.
std::string close_frame(std::uint16_t code, std::string_view reason = {});

/// @brief A frame from the server, read with wslay's frame layer.
struct ws_frame {
  std::uint8_t opcode = 0;
  bool fin = true;
  std::string payload;
};

/// @brief The code of a close frame (0 if the frame has none or is not a close).
std::uint16_t close_code_of(const ws_frame& f);

/// @brief `GET /v1/stream` with the RFC 6455 example key, version 13, and `extra` header lines.
std::string upgrade_request(std::string_view extra = {},
                            std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==",
                            std::string_view version = "13");

/// @brief The client side of one WebSocket on the server's HTTP port.
class ws_client {
 public:
  /// @brief Connects, upgrades and checks the 101 (Sec-WebSocket-Accept of RFC 6455 1.3's
  /// example). nullopt if any of it fails; `why` says what. `first_frames` go in the same
  /// write as the upgrade request.
  static std::optional<ws_client> open(std::uint16_t port, int receive_buffer = 0,
                                       std::string* why = nullptr,
                                       std::string_view first_frames = {});

  ws_client(ws_client&&) noexcept;
  ws_client& operator=(ws_client&&) noexcept;
  ~ws_client();

  raw_conn& conn() noexcept { return conn_; }
  /// @brief Sends bytes as they are (frames built with client_frame()).
  bool send(std::string_view bytes, milliseconds timeout = seconds(5));
  /// @brief The next frame, waiting up to `timeout`; nullopt on timeout or once the TCP
  /// connection has ended with no complete frame left (see ended()).
  std::optional<ws_frame> next_frame(milliseconds timeout);
  /// @brief Frames until a close frame: its code; 0 if the connection ended without one,
  /// nullopt on timeout. `skipped` counts the frames before it.
  std::optional<std::uint16_t> await_close(milliseconds timeout, std::size_t* skipped = nullptr);
  /// @brief The server ended the TCP connection (EOF or reset) and every byte was read.
  bool ended() const noexcept { return ended_; }

 private:
  struct input;
  ws_client(raw_conn conn, std::string leftover);

  raw_conn conn_;
  std::unique_ptr<input> in_;
  wslay_frame_context* frames_ = nullptr;
  bool ended_ = false;
};

/// @brief One request's answer on a WebSocket, each frame checked against the text the
/// stream must send: `{"id":ID,"from":K,"numbers":[F(K),...]}` frames in order, then
/// `{"id":ID,"done":true,"count":C,"md5":"..."}`.
struct ws_answer {
  std::uint64_t numbers = 0;  ///< numbers received, each exactly as expected
  bool done = false;          ///< the done frame came, exactly as expected
  std::string error;          ///< an error frame's whole text
  std::string problem;        ///< the first frame that was not what was expected
  std::uint16_t closed = 0;   ///< the code of a close frame that came instead
  bool ended = false;         ///< the connection ended without a close frame
  bool timed_out = false;
};

/// @brief Reads the answer to request `id` (its JSON text) for F(from) .. F(from + count - 1)
/// until its done or error frame, a close, or `timeout`. With `stop_after`, returns as soon as
/// that many numbers are in (mid-answer: the rest stays unread).
ws_answer read_answer(ws_client& ws, std::string_view id, std::uint64_t from, std::uint64_t count,
                      milliseconds timeout = seconds(20),
                      std::uint64_t stop_after = std::numeric_limits<std::uint64_t>::max());

/// @brief A legitimate WebSocket beside an attack: a new socket asks for n numbers and gets
/// exactly F(0) .. F(n - 1) and their MD5. CHECKs; returns how long it took.
milliseconds check_legit_websocket(std::uint16_t port, std::size_t n = 300,
                                   milliseconds timeout = seconds(10));

// --- the scene --------------------------------------------------------------------------

/// @brief attack_scene with the HTTP listener: the server gets `--http 0`, and legitimate
/// HTTP requests and WebSocket streams run beside the attack as the TCP session does.
class web_scene {
 public:
  explicit web_scene(std::vector<std::string> server_args = {});

  std::uint16_t http_port() const noexcept { return http_port_; }
  std::uint16_t tcp_port() const noexcept { return scene_.port(); }
  pid_t pid() noexcept { return scene_.pid(); }
  std::size_t rss_kib() noexcept { return scene_.rss_kib(); }
  attack_scene& tcp() noexcept { return scene_; }
  running_server& server() noexcept { return scene_.server(); }

  /// @brief During the attack: one legitimate HTTP request, one WebSocket stream, and a batch
  /// of the TCP session, each checked.
  void legit_step();
  /// @brief After the attack: a last HTTP request and WebSocket stream, then attack_scene's
  /// finish (the TCP session and clients complete, SIGTERM exits 0). Call once.
  void finish();

 private:
  static std::vector<std::string> with_http(std::vector<std::string> args);

  attack_scene scene_;
  std::uint16_t http_port_ = 0;
};

}  // namespace numsequence::hostile
