// libFuzzer target: the WebSocket stream as a connection drives it. Client bytes are fed to
// websocket_endpoint in reads of varying size; each text message it delivers goes through
// parse_stream_request and is answered (stream_answer frames under backpressure, or an error
// frame); the output is drained in pieces of varying size, or not at all (a slow reader),
// into a wslay client that checks it is valid WebSocket. The whole input is also parsed as
// one request, as raw bytes.
//
// Input layout: byte 0 seeds how input and output are cut, byte 1 picks the limits (see
// fuzz_config); the rest is the client's byte stream. Invariants checked (abort on violation):
//   - the server's output is well-formed WebSocket for a client (unmasked, valid UTF-8 text,
//     a close with a valid code), and the close it carries is the code the closed event gave;
//   - close codes are in RFC 6455's set: 1002, 1003, 1007, 1008, 1009 and 1011 from this side,
//     a registered or private (3000-4999) code or 1005 when the peer closed;
//   - exactly one closed event, the last; text events hold valid UTF-8 within max_message;
//   - unwritten output never exceeds max_output plus a pong and a close frame; send_text
//     refuses exactly the frames that would pass max_output;
//   - after closing, input changes nothing;
//   - a request's query stays within max_fibonacci; its id, read back as JSON, is itself;
//     its error is short; an answer's frames are within their budget (or hold one number) and
//     its md5 is fibonacci_checksum of the query.

#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/websocket/endpoint.hpp"
#include "numsequence/websocket/json_text.hpp"
#include "numsequence/websocket/stream_answer.hpp"
#include "numsequence/websocket/stream_request.hpp"

namespace {

using namespace numsequence;

// Small, so an answer costs microseconds: F(299) has 63 digits.
constexpr std::uint64_t fuzz_max_fibonacci = 300;
constexpr int max_answers = 4;
// A pong (125 bytes and its header) may land past max_output before the ping flood is
// noticed, then the close frame (125 and its header).
constexpr std::size_t output_slack = 127 + 127;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_websocket: invariant violated: %s\n", what);
    std::abort();
  }
}

// The test oracle for UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size())
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (d & 0x3fu);
    }
    const std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

bool valid_sent_code(std::uint16_t code) {
  return code == 1002 || code == 1003 || code == 1007 || code == 1008 || code == 1009 ||
         code == 1011;
}

bool valid_peer_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || code == 1005 ||
         (code >= 3000 && code <= 4999);
}

struct fuzz_config {
  endpoint_limits limits;
  std::size_t frame_budget = 1024;
  bool slow_reader = false;  // never takes output until the input is used up

  explicit fuzz_config(std::uint8_t bits) {
    static constexpr std::array<std::size_t, 4> messages = {64, 256, 4096, 4096};
    static constexpr std::array<std::size_t, 4> pending = {16, 16, 2, 1};
    limits.max_message = messages[bits & 3u];
    slow_reader = (bits & 4u) != 0;
    if ((bits & 8u) != 0) {
      limits.max_output = 2048;
      limits.output_low_water = 512;
    }
    limits.max_pending_messages = pending[(bits >> 4) & 3u];
    frame_budget = (bits & 64u) != 0 ? 64 : 1024;
  }
};

/// A wslay client reading what the server writes: the peer's view of the output.
class client_peer {
 public:
  client_peer() {
    static constexpr wslay_event_callbacks callbacks{&recv,   nullptr, &genmask, nullptr,
                                                     nullptr, nullptr, &message};
    require(wslay_event_context_client_init(&ctx_, &callbacks, this) == 0, "client init");
  }
  ~client_peer() { wslay_event_context_free(ctx_); }
  client_peer(const client_peer&) = delete;
  client_peer& operator=(const client_peer&) = delete;

  void read(std::string_view bytes) {
    input_ = bytes;
    wslay_event_set_error(ctx_, 0);
    require(wslay_event_recv(ctx_) == 0, "client reads the output");
    require(input_.empty() || close_received(), "client uses all output until a close");
    require(wslay_event_get_read_enabled(ctx_) != 0 || close_received(),
            "the output is valid WebSocket for a client");
  }
  bool close_received() const { return wslay_event_get_close_received(ctx_) != 0; }
  std::uint16_t close_code() const { return close_code_; }

 private:
  static client_peer& self(void* user_data) { return *static_cast<client_peer*>(user_data); }
  static ssize_t recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                      void* user_data) {
    auto& peer = self(user_data);
    if (peer.input_.empty()) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    const std::size_t n = std::min(len, peer.input_.size());
    std::copy_n(peer.input_.data(), n, buf);
    peer.input_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
  static int genmask(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void*) {
    std::fill_n(buf, len, std::uint8_t{0});
    return 0;
  }
  static void message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                      void* user_data) {
    require(arg->opcode != WSLAY_BINARY_FRAME, "the server sends no binary message");
    require(arg->opcode != WSLAY_PING, "the server sends no ping");
    if (arg->opcode == WSLAY_CONNECTION_CLOSE)
      self(user_data).close_code_ = arg->status_code;
  }

  wslay_event_context_ptr ctx_ = nullptr;
  std::string_view input_;
  std::uint16_t close_code_ = 0;
};

/// A request parsed on its own: bounds on the query, the error and the id.
void check_request(const stream_request& r) {
  if (r.ok()) {
    require(r.query.count <= fuzz_max_fibonacci, "count within the limit");
    require(!r.query.range ||
                (r.query.count >= 1 && r.query.first + r.query.count <= fuzz_max_fibonacci),
            "a range within the limit");
    require(r.query.range || r.query.first == 0, "n starts at 0");
  } else {
    require(r.error.size() <= 512, "errors are short");
    require(valid_utf8(r.error), "errors are UTF-8");
  }
  if (r.id) {
    static constexpr std::array<std::string_view, 1> id_name = {"id"};
    const auto again = read_json_members("{\"id\":" + *r.id + "}", id_name);
    require(again.result == json_members::status::ok, "the id is JSON");
    require(again.values[0] && again.values[0]->text == *r.id, "the id reads back as itself");
  }
}

/// The connection: endpoint, answers, output drained into the client.
class connection {
 public:
  connection(const fuzz_config& config, std::uint8_t seed)
      : config_(config), ws_(config.limits), rng_(0x9e3779b9u ^ seed) {}

  void feed(std::string_view bytes) {
    const bool was_closing = ws_.state() != endpoint_state::open;
    const std::string before(ws_.output());
    ws_.feed(bytes);
    if (was_closing)
      require(ws_.output() == before, "after closing, input changes nothing");
    check_bound();
    pump();
    if (!config_.slow_reader)
      drain(false);
  }

  // The input is used up: the reader now takes everything, so answers under way complete.
  void finish() {
    do {
      drain(true);
      pump();
    } while (!ws_.output().empty());
    if (closed_code_ != 0) {
      require(ws_.state() == endpoint_state::closed, "closed once the output is written");
      require(peer_.close_received(), "the client got the close");
      const std::uint16_t wire =
          peer_.close_code() == 0 ? close_code::no_status : peer_.close_code();
      require(wire == closed_code_ || closed_code_ == close_code::abnormal,
              "the close frame carries the event's code");
    }
  }

  std::uint32_t next_random() {
    rng_ = rng_ * 1664525u + 1013904223u;
    return rng_ >> 16;
  }

 private:
  void check_bound() {
    require(ws_.output_size() <= config_.limits.max_output + output_slack, "output bounded");
  }

  void drain(bool all) {
    while (!ws_.output().empty()) {
      const std::string_view out = ws_.output();
      const std::size_t n =
          all ? out.size() : std::min<std::size_t>(out.size(), 1 + next_random() % 700);
      peer_.read(out.substr(0, n));
      ws_.consume_output(n);
      if (!all)
        break;
    }
  }

  void take_event(endpoint_event e) {
    require(closed_code_ == 0, "nothing after the closed event");
    if (e.what == endpoint_event::kind::closed) {
      require(e.by_peer ? valid_peer_code(e.code) : (valid_sent_code(e.code) || e.code == 1006),
              "close codes in the RFC's set");
      closed_code_ = e.code;
      return;
    }
    require(e.text.size() <= config_.limits.max_message, "messages within max_message");
    require(valid_utf8(e.text), "text messages are UTF-8");
    const stream_request r = parse_stream_request(e.text, fuzz_max_fibonacci);
    check_request(r);
    if (!r.ok() || answers_ >= max_answers) {
      send(stream_error_frame(r.id, r.ok() ? "busy" : r.error));
      return;
    }
    ++answers_;
    answer_.emplace(r.id, r.query, config_.frame_budget);
    query_ = r.query;
  }

  void send(const std::string& frame) {
    const bool fits = ws_.state() == endpoint_state::open &&
                      ws_.output_size() + frame.size() + 10 <= config_.limits.max_output;
    const bool sent = ws_.send_text(frame);
    if (fits)
      require(sent, "send_text takes a frame that fits");
    if (ws_.state() != endpoint_state::open)
      require(!sent, "nothing is sent after a close");
    check_bound();
  }

  // Produces answer frames while the endpoint wants them, and takes events between answers.
  void pump() {
    for (;;) {
      if (answer_ && ws_.state() != endpoint_state::open)
        answer_.reset();  // the connection is closing: nothing more is sent
      if (!answer_) {
        auto e = ws_.next_event();
        if (!e)
          return;
        take_event(std::move(*e));
        continue;
      }
      if (!ws_.ready_for_frame())
        return;
      std::string frame;
      require(answer_->next_frame(frame), "an unfinished answer has a frame");
      check_frame(frame);
      send(frame);
      if (answer_->done())
        answer_.reset();
    }
  }

  void check_frame(const std::string& frame) {
    require(valid_utf8(frame), "answer frames are UTF-8");
    if (!answer_->done()) {
      const bool one_number = frame.find(',', frame.find("\"numbers\":[")) == std::string::npos;
      require(frame.size() <= config_.frame_budget || one_number, "frames within their budget");
      return;
    }
    const std::string md5 = to_hex(fibonacci_checksum(query_.first, query_.count));
    require(frame.find("\"md5\":\"" + md5 + "\"") != std::string::npos, "the md5 is the list's");
  }

  fuzz_config config_;
  websocket_endpoint ws_;
  client_peer peer_;
  std::optional<stream_answer> answer_;
  stream_query query_;
  int answers_ = 0;
  std::uint16_t closed_code_ = 0;
  std::uint32_t rng_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  const fuzz_config config(data[1]);
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  check_request(parse_stream_request(stream, fuzz_max_fibonacci));

  connection conn(config, data[0]);
  const std::size_t max_read = 1 + data[0] % 64;
  std::size_t fed = 0;
  while (fed < stream.size()) {
    const std::size_t n =
        std::min<std::size_t>(1 + conn.next_random() % max_read, stream.size() - fed);
    conn.feed(stream.substr(fed, n));
    fed += n;
  }
  conn.finish();
  return 0;
}
