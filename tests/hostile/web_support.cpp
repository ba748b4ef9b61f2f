#include "web_support.hpp"

#include <http_parser.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_set>

namespace numsequence::hostile {
namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Big numbers in base 10^18, least significant limb first: enough for F(k) in decimal
/// without the library's GMP code, and fast enough for k = 25,000 in a sanitized build.
using limbs = std::vector<std::uint64_t>;
constexpr std::uint64_t limb_base = 1'000'000'000'000'000'000ULL;

limbs add(const limbs& a, const limbs& b) {
  limbs sum(std::max(a.size(), b.size()) + 1, 0);
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i + 1 < sum.size(); ++i) {
    const std::uint64_t d = (i < a.size() ? a[i] : 0) + (i < b.size() ? b[i] : 0) + carry;
    carry = d >= limb_base ? 1 : 0;
    sum[i] = d - carry * limb_base;
  }
  sum.back() = carry;
  if (sum.back() == 0)
    sum.pop_back();
  return sum;
}

std::string decimal(const limbs& n) {
  std::array<char, 24> digits{};
  auto printed = [&](std::uint64_t v) {
    const auto r = std::to_chars(digits.data(), digits.data() + digits.size(), v);
    return std::string_view(digits.data(), static_cast<std::size_t>(r.ptr - digits.data()));
  };
  std::string text(printed(n.back()));
  for (std::size_t i = n.size() - 1; i-- > 0;) {
    const std::string_view limb = printed(n[i]);
    text.append(18 - limb.size(), '0');
    text.append(limb);
  }
  return text;
}

std::string hex_of(const std::array<unsigned char, EVP_MAX_MD_SIZE>& digest, unsigned int size) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

// --- expected answers -------------------------------------------------------------------

const std::string& fibonacci_text(std::size_t k) {
  // A deque: elements never move, so references handed out stay valid while it grows.
  static std::mutex mutex;
  static std::deque<std::string> values{"0", "1"};
  static limbs before{0};
  static limbs last{1};
  std::lock_guard lock(mutex);
  while (values.size() <= k) {
    limbs next = add(before, last);
    values.push_back(decimal(next));
    before = std::exchange(last, std::move(next));
  }
  return values[k];
}

std::string expected_fibonacci_json(std::size_t n) {
  std::string body = R"({"sequence":"fibonacci","n":)" + std::to_string(n) + R"(,"numbers":[)";
  for (std::size_t k = 0; k < n; ++k) {
    if (k > 0)
      body += ',';
    body += fibonacci_text(k);
  }
  return body + "]}";
}

std::string expected_md5(std::size_t from, std::size_t count) {
  // Hashed as it is built: Python's str() of 25,000 numbers is 65 MB.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  REQUIRE(md != nullptr);
  REQUIRE(EVP_DigestInit_ex(md.get(), EVP_md5(), nullptr) == 1);
  auto update = [&](std::string_view text) {
    REQUIRE(EVP_DigestUpdate(md.get(), text.data(), text.size()) == 1);
  };
  update("[");
  for (std::size_t k = from; k < from + count; ++k) {
    if (k > from)
      update(", ");
    update(fibonacci_text(k));
  }
  update("]");
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  REQUIRE(EVP_DigestFinal_ex(md.get(), digest.data(), &size) == 1);
  return hex_of(digest, size);
}

// --- HTTP -------------------------------------------------------------------------------

std::optional<std::string> http_response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name)
      return value;
  }
  return std::nullopt;
}

struct http_response_reader::callbacks {
  static http_response_reader& self(::http_parser* p) {
    return *static_cast<http_response_reader*>(p->data);
  }
  static int message_begin(::http_parser* p) {
    auto& r = self(p);
    r.current_ = http_response{};
    r.field_.clear();
    r.in_value_ = false;
    r.started_ = true;
    return 0;
  }
  static int header_field(::http_parser* p, const char* at, std::size_t length) {
    auto& r = self(p);
    if (r.in_value_ || r.current_.headers.empty()) {
      r.current_.headers.emplace_back();
      r.in_value_ = false;
    }
    for (std::size_t i = 0; i < length; ++i)
      r.current_.headers.back().first += lower(at[i]);
    return 0;
  }
  static int header_value(::http_parser* p, const char* at, std::size_t length) {
    auto& r = self(p);
    r.in_value_ = true;
    r.current_.headers.back().second.append(at, length);
    return 0;
  }
  static int headers_complete(::http_parser* p) {
    auto& r = self(p);
    r.current_.status = p->status_code;
    r.current_.http_minor = p->http_minor;
    r.current_.keep_alive = http_should_keep_alive(p) != 0;
    return r.head_ ? 1 : 0;  // 1: no body follows (a response to HEAD)
  }
  static int body(::http_parser* p, const char* at, std::size_t length) {
    self(p).current_.body.append(at, length);
    return 0;
  }
  static int message_complete(::http_parser* p) {
    auto& r = self(p);
    r.done_.push_back(std::move(r.current_));
    r.current_ = http_response{};
    r.started_ = false;
    return 0;
  }
  static const http_parser_settings& settings() {
    static const http_parser_settings table = [] {
      http_parser_settings t;
      http_parser_settings_init(&t);
      t.on_message_begin = message_begin;
      t.on_header_field = header_field;
      t.on_header_value = header_value;
      t.on_headers_complete = headers_complete;
      t.on_body = body;
      t.on_message_complete = message_complete;
      return t;
    }();
    return table;
  }
};

http_response_reader::http_response_reader(bool head)
    : parser_(std::make_unique<::http_parser>()), head_(head) {
  http_parser_init(parser_.get(), HTTP_RESPONSE);
  parser_->data = this;
}

http_response_reader::~http_response_reader() = default;

bool http_response_reader::feed(std::string_view bytes) {
  if (!error_.empty())
    return false;
  if (bytes.empty())
    return true;  // nothing arrived: to http_parser, no bytes would mean the end of the stream
  if (upgraded_) {
    leftover_.append(bytes);
    return true;
  }
  const std::size_t used =
      http_parser_execute(parser_.get(), &callbacks::settings(), bytes.data(), bytes.size());
  if (parser_->upgrade != 0) {
    upgraded_ = true;
    leftover_.append(bytes.substr(used));
    return true;
  }
  if (HTTP_PARSER_ERRNO(parser_.get()) != HPE_OK) {
    error_ = http_errno_description(HTTP_PARSER_ERRNO(parser_.get()));
    return false;
  }
  return true;
}

bool http_response_reader::finish() {
  if (!error_.empty() || upgraded_)
    return error_.empty();
  http_parser_execute(parser_.get(), &callbacks::settings(), nullptr, 0);
  if (HTTP_PARSER_ERRNO(parser_.get()) != HPE_OK) {
    error_ = http_errno_description(HTTP_PARSER_ERRNO(parser_.get()));
    return false;
  }
  return true;
}

std::string get_request(std::string_view target, std::string_view extra_headers, bool close,
                        std::string_view method, std::string_view version) {
  std::string r = std::string(method) + " " + std::string(target) + " " + std::string(version) +
                  "\r\nHost: hostile.test\r\n";
  r += extra_headers;
  if (close)
    r += "Connection: close\r\n";
  return r + "\r\n";
}

namespace {

/// Feeds what arrived to the reader and records the outcome in `x`.
void absorb(http_response_reader& reader, http_exchange& x, std::string_view bytes) {
  x.raw.append(bytes);
  if (x.parsed && !reader.feed(bytes)) {
    x.parsed = false;
    x.parse_error = reader.error();
  }
}

void conclude(http_response_reader& reader, http_exchange& x) {
  if (x.closed && x.parsed && !reader.finish()) {
    x.parsed = false;
    x.parse_error = reader.error();
  }
  x.partial = reader.in_response();
  x.responses = std::move(reader.responses());
}

}  // namespace

http_exchange exchange(std::uint16_t port, std::string_view bytes, milliseconds timeout, bool head,
                       std::size_t expected) {
  http_exchange x;
  auto conn = raw_conn::connect(port, seconds(5));
  if (!conn) {
    x.parsed = false;
    x.parse_error = "cannot connect";
    return x;
  }
  http_response_reader reader(head);
  const auto deadline = test_clock::now() + timeout;
  // Sends and reads in turns: a server that answers (or closes) before it has read
  // everything must not leave us blocked on a send.
  for (int i = 0; i < 1'000'000 && test_clock::now() < deadline; ++i) {
    if (!bytes.empty()) {
      std::size_t sent = 0;
      if (conn->send_some(bytes, sent) == raw_conn::io::closed)
        bytes = {};
      bytes.remove_prefix(std::min(sent, bytes.size()));
    }
    std::string got;
    const auto wait = bytes.empty() ? milliseconds(100) : milliseconds(1);
    const auto r = conn->read_some(got, wait);
    absorb(reader, x, got);
    if (r == raw_conn::io::closed) {
      x.closed = true;
      break;
    }
    if (expected != 0 && reader.responses().size() >= expected)
      break;
  }
  conclude(reader, x);
  return x;
}

http_exchange read_responses(raw_conn& conn, std::size_t count, milliseconds timeout, bool head) {
  http_exchange x;
  http_response_reader reader(head);
  const auto deadline = test_clock::now() + timeout;
  for (int i = 0; i < 1'000'000 && test_clock::now() < deadline; ++i) {
    std::string got;
    const auto r = conn.read_some(got, milliseconds(100));
    absorb(reader, x, got);
    if (r == raw_conn::io::closed) {
      x.closed = true;
      break;
    }
    if (reader.responses().size() >= count)
      break;
  }
  conclude(reader, x);
  return x;
}

milliseconds check_legit_http(std::uint16_t port, std::size_t n, milliseconds timeout) {
  const auto start = test_clock::now();
  const std::string target = "/v1/fibonacci?n=" + std::to_string(n);
  const auto x = exchange(port, get_request(target, {}, true), timeout);
  const auto took = std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
  INFO("legitimate GET " << target << " (" << took.count()
                         << " ms), received: " << x.raw.substr(0, 300));
  CHECK_MESSAGE(x.responses.size() == 1, "the legitimate request was not answered");
  if (x.responses.size() == 1) {
    CHECK(x.responses[0].status == 200);
    CHECK_MESSAGE(x.responses[0].body == expected_fibonacci_json(n),
                  "the legitimate request got a wrong body");
  }
  return took;
}

bool wait_until_writes_stall(std::uint16_t server_port, const std::vector<raw_conn>& conns,
                             milliseconds timeout) {
  std::unordered_set<std::uint16_t> ports;
  for (const auto& c : conns)
    ports.insert(c.local_port());
  auto queues = [&] {
    std::map<std::uint16_t, std::size_t> q;
    for (const auto& s : integration::kernel_tcp_sockets()) {
      if (s.local_port == server_port && ports.count(s.remote_port) != 0)
        q[s.remote_port] = s.send_queue;
    }
    return q;
  };
  return eventually(timeout, [&] {
    const auto before = queues();
    if (before.size() != ports.size() ||
        std::any_of(before.begin(), before.end(), [](const auto& e) { return e.second == 0; }))
      return false;
    std::this_thread::sleep_for(milliseconds(300));
    return queues() == before;
  });
}

// --- WebSocket frames -------------------------------------------------------------------

std::string client_frame(std::uint8_t opcode, std::string_view payload, frame_options o) {
  std::string f;
  f += static_cast<char>((o.fin ? 0x80 : 0) | (o.rsv & 0x70) | (opcode & 0x0f));
  const std::uint64_t length = o.announced_length.value_or(payload.size());
  const char mask_bit = o.mask ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    f += static_cast<char>(mask_bit | static_cast<char>(length));
  } else if (length < 65536) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(length >> 8);
    f += static_cast<char>(length & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((length >> shift) & 0xff);
  }
  if (!o.mask)
    return f + std::string(payload);
  static constexpr std::array<unsigned char, 4> key{0x37, 0xfa, 0x21, 0x3d};
  for (unsigned char k : key)
    f += static_cast<char>(k);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]);
  return f;
}

std::string text_frame(std::string_view text) {
  return client_frame(0x1, text);
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  return client_frame(0x8, payload + std::string(reason));
}

std::uint16_t close_code_of(const ws_frame& f) {
  if (f.opcode != 0x8 || f.payload.size() < 2)
    return 0;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(f.payload[0]) << 8) |
                                    static_cast<unsigned char>(f.payload[1]));
}

std::string upgrade_request(std::string_view extra, std::string_view key,
                            std::string_view version) {
  return "GET /v1/stream HTTP/1.1\r\nHost: hostile.test\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Key: " +
         std::string(key) + "\r\nSec-WebSocket-Version: " + std::string(version) + "\r\n" +
         std::string(extra) + "\r\n";
}

// --- ws_client --------------------------------------------------------------------------

/// Bytes received and not yet taken by wslay's frame layer, and the frame being read.
struct ws_client::input {
  std::string bytes;
  std::size_t taken = 0;
  ws_frame partial;
  bool in_frame = false;

  static ssize_t recv(std::uint8_t* buf, std::size_t len, int, void* user_data) {
    auto& in = *static_cast<input*>(user_data);
    const std::size_t n = std::min(len, in.bytes.size() - in.taken);
    if (n == 0)
      return -1;  // wslay: "want read"
    std::copy_n(in.bytes.data() + in.taken, n, buf);
    in.taken += n;
    if (in.taken == in.bytes.size()) {
      in.bytes.clear();
      in.taken = 0;
    }
    return static_cast<ssize_t>(n);
  }
  static ssize_t send(const std::uint8_t*, std::size_t, int, void*) { return -1; }
};

ws_client::ws_client(raw_conn conn, std::string leftover)
    : conn_(std::move(conn)), in_(std::make_unique<input>()) {
  in_->bytes = std::move(leftover);
  static constexpr wslay_frame_callbacks callbacks{&input::send, &input::recv, nullptr};
  REQUIRE(wslay_frame_context_init(&frames_, &callbacks, in_.get()) == 0);
}

ws_client::ws_client(ws_client&& other) noexcept
    : conn_(std::move(other.conn_)),
      in_(std::move(other.in_)),
      frames_(std::exchange(other.frames_, nullptr)),
      ended_(other.ended_) {}

ws_client& ws_client::operator=(ws_client&& other) noexcept {
  if (this != &other) {
    if (frames_ != nullptr)
      wslay_frame_context_free(frames_);
    conn_ = std::move(other.conn_);
    in_ = std::move(other.in_);
    frames_ = std::exchange(other.frames_, nullptr);
    ended_ = other.ended_;
  }
  return *this;
}

ws_client::~ws_client() {
  if (frames_ != nullptr)
    wslay_frame_context_free(frames_);
}

std::optional<ws_client> ws_client::open(std::uint16_t port, int receive_buffer, std::string* why,
                                         std::string_view first_frames) {
  auto fail = [&](std::string text) -> std::optional<ws_client> {
    if (why != nullptr)
      *why = std::move(text);
    return std::nullopt;
  };
  auto conn = raw_conn::connect(port, seconds(5), receive_buffer);
  if (!conn)
    return fail("cannot connect");
  if (!conn->send_all(upgrade_request() + std::string(first_frames), seconds(5)))
    return fail("cannot send the upgrade request");
  http_response_reader reader;
  const auto deadline = test_clock::now() + seconds(10);
  while (!reader.upgraded() && reader.responses().empty() && test_clock::now() < deadline) {
    std::string got;
    const auto r = conn->read_some(got, milliseconds(100));
    if (!reader.feed(got))
      return fail("not HTTP: " + reader.error());
    if (r == raw_conn::io::closed && !reader.upgraded())
      return fail("closed during the handshake");
  }
  if (!reader.upgraded())
    return fail("no 101 (status " +
                (reader.responses().empty() ? std::string("none")
                                            : std::to_string(reader.responses()[0].status)) +
                ")");
  // RFC 6455 section 1.3: the accept value of the example key.
  const auto& r = reader.responses();
  if (r.size() != 1 || r[0].status != 101 ||
      r[0].header("sec-websocket-accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    return fail("a 101 without the right Sec-WebSocket-Accept");
  return ws_client(std::move(*conn), reader.leftover());
}

bool ws_client::send(std::string_view bytes, milliseconds timeout) {
  return conn_.send_all(bytes, timeout);
}

std::optional<ws_frame> ws_client::next_frame(milliseconds timeout) {
  const auto deadline = test_clock::now() + timeout;
  for (int i = 0; i < 10'000'000; ++i) {
    wslay_frame_iocb iocb{};
    const ssize_t r = wslay_frame_recv(frames_, &iocb);
    if (r >= 0) {
      ws_frame& f = in_->partial;
      if (!in_->in_frame) {
        f = ws_frame{iocb.opcode, iocb.fin != 0, {}};
        in_->in_frame = true;
      }
      f.payload.append(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
      if (f.payload.size() == iocb.payload_length) {
        in_->in_frame = false;
        return std::move(f);
      }
      continue;
    }
    if (r != WSLAY_ERR_WANT_READ) {
      ended_ = true;  // not WebSocket framing: nothing more can be read
      return std::nullopt;
    }
    if (ended_ || test_clock::now() >= deadline)
      return std::nullopt;
    std::string got;
    const auto io = conn_.read_some(
        got, std::min<milliseconds>(milliseconds(100), std::chrono::duration_cast<milliseconds>(
                                                           deadline - test_clock::now())));
    in_->bytes += got;
    if (io == raw_conn::io::closed)
      ended_ = true;  // what is buffered is still read out
  }
  return std::nullopt;
}

std::optional<std::uint16_t> ws_client::await_close(milliseconds timeout, std::size_t* skipped) {
  const auto deadline = test_clock::now() + timeout;
  std::size_t frames = 0;
  for (int i = 0; i < 10'000'000; ++i) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - test_clock::now());
    auto f = next_frame(std::max(left, milliseconds(0)));
    if (!f) {
      if (skipped != nullptr)
        *skipped = frames;
      if (ended_)
        return std::uint16_t{0};
      return std::nullopt;
    }
    if (f->opcode == 0x8) {
      if (skipped != nullptr)
        *skipped = frames;
      return close_code_of(*f);
    }
    ++frames;
  }
  return std::nullopt;
}

// --- answers ----------------------------------------------------------------------------

namespace {

/// The numbers of a frame that must be `{"id":ID,"from":K,"numbers":[...]}` with K = `at`:
/// how many match F(at), F(at + 1), ... exactly, or nullopt if the text is anything else.
std::optional<std::uint64_t> match_numbers_frame(std::string_view text, std::string_view id,
                                                 std::uint64_t at, std::uint64_t end) {
  const std::string prefix =
      "{\"id\":" + std::string(id) + ",\"from\":" + std::to_string(at) + ",\"numbers\":[";
  if (!text.starts_with(prefix))
    return std::nullopt;
  text.remove_prefix(prefix.size());
  if (at == end && text == "]}")
    return 0;  // a request for no numbers: one frame with an empty list
  std::uint64_t matched = 0;
  for (std::uint64_t k = at; k < end; ++k) {
    const std::string& value = fibonacci_text(k);
    if (!text.starts_with(value))
      return std::nullopt;
    text.remove_prefix(value.size());
    ++matched;
    if (text == "]}")
      return matched;
    if (!text.starts_with(","))
      return std::nullopt;
    text.remove_prefix(1);
  }
  return std::nullopt;
}

std::string excerpt_of(std::string_view text) {
  return std::string(text.substr(0, 200)) + (text.size() > 200 ? "..." : "");
}

}  // namespace

ws_answer read_answer(ws_client& ws, std::string_view id, std::uint64_t from, std::uint64_t count,
                      milliseconds timeout, std::uint64_t stop_after) {
  ws_answer a;
  const auto deadline = test_clock::now() + timeout;
  const std::string error_prefix = "{\"id\":" + std::string(id) + ",\"error\":";
  for (int i = 0; i < 10'000'000 && !a.done; ++i) {
    if (a.numbers >= stop_after)
      return a;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - test_clock::now());
    auto f = ws.next_frame(std::max(left, milliseconds(0)));
    if (!f) {
      a.ended = ws.ended();
      a.timed_out = !a.ended;
      return a;
    }
    if (f->opcode == 0x8) {
      a.closed = close_code_of(*f);
      return a;
    }
    if (f->opcode != 0x1 || !f->fin) {
      a.problem = "a frame of opcode " + std::to_string(f->opcode) + " in the answer";
      return a;
    }
    if (f->payload.starts_with(error_prefix) && nlohmann::json::accept(f->payload)) {
      a.error = f->payload;
      return a;
    }
    if (f->payload.starts_with("{\"id\":" + std::string(id) + ",\"done\":")) {
      const std::string done = "{\"id\":" + std::string(id) +
                               ",\"done\":true,\"count\":" + std::to_string(count) + ",\"md5\":\"" +
                               expected_md5(from, count) + "\"}";
      a.done = f->payload == done && a.numbers == count;
      if (!a.done)
        a.problem = "expected " + done + " after " + std::to_string(a.numbers) + " numbers, got " +
                    excerpt_of(f->payload);
      return a;
    }
    const auto matched = match_numbers_frame(f->payload, id, from + a.numbers, from + count);
    if (!matched) {
      a.problem = "frame after " + std::to_string(a.numbers) +
                  " numbers is not the expected numbers: " + excerpt_of(f->payload);
      return a;
    }
    a.numbers += *matched;
  }
  return a;
}

milliseconds check_legit_websocket(std::uint16_t port, std::size_t n, milliseconds timeout) {
  const auto start = test_clock::now();
  std::string why;
  auto ws = ws_client::open(port, 0, &why);
  CHECK_MESSAGE(ws.has_value(), "the legitimate WebSocket was refused: " << why);
  if (!ws)
    return milliseconds(0);
  CHECK(ws->send(text_frame(R"({"id":42,"sequence":"fibonacci","n":)" + std::to_string(n) + "}")));
  const auto a = read_answer(*ws, "42", 0, n, timeout);
  INFO("legitimate stream: " << a.numbers << " numbers, problem: " << a.problem
                             << ", error: " << a.error << ", close " << a.closed);
  CHECK_MESSAGE(a.done, "the legitimate WebSocket stream did not get its exact answer");
  // A clean goodbye: our close is echoed.
  CHECK(ws->send(close_frame(1000)));
  CHECK(ws->await_close(timeout) == std::optional<std::uint16_t>(1000));
  return std::chrono::duration_cast<milliseconds>(test_clock::now() - start);
}

// --- web_scene --------------------------------------------------------------------------

std::vector<std::string> web_scene::with_http(std::vector<std::string> args) {
  args.insert(args.end(), {"--http", "0"});
  return args;
}

// The fixture reads the second ready line (`http listening on 127.0.0.1:PORT`) itself.
web_scene::web_scene(std::vector<std::string> server_args)
    : scene_(with_http(std::move(server_args))), http_port_(scene_.server().http_port()) {
  REQUIRE(http_port_ > 0);
}

void web_scene::legit_step() {
  check_legit_http(http_port_);
  check_legit_websocket(http_port_);
  scene_.legit_step();
}

void web_scene::finish() {
  check_legit_http(http_port_);
  check_legit_websocket(http_port_);
  scene_.finish();
}

}  // namespace numsequence::hostile
