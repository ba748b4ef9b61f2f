#include "numsequence/server/http_connection.hpp"

#include <algorithm>
#include <utility>

#include "numsequence/websocket/handshake.hpp"

namespace numsequence {
namespace {

// A body up to this size is copied behind its head (one write for both); a larger cached
// body is written from the cache's own memory.
constexpr std::size_t inline_body_limit = 16 * 1024;
// A reply buffer bigger than this is given back while the connection waits for its peer.
constexpr std::size_t idle_output_capacity = 1024;
// Chunk sizes are written into a fixed-width placeholder before the chunk's data is rendered
// behind it (leading zeros are allowed: RFC 9112 7.1), so the data is never moved.
constexpr std::string_view chunk_size_placeholder = "00000000\r\n";

// An upper bound of the body's size, before rendering it: every number has at most as many
// digits as the last one, F(k) has at most floor(k log10(phi)) + 1, and a number takes one
// separator; the rest is the JSON around the list.
std::uint64_t body_bound(const fibonacci_query& q) {
  constexpr double log10_phi = 0.20898764024997873;
  const std::uint64_t last = q.from + (q.count == 0 ? 0 : q.count - 1);
  const auto digits = static_cast<std::uint64_t>(static_cast<double>(last) * log10_phi) + 2;
  // "result" (document 004's format) doubles as a JSON string of the same digits: no more.
  return q.count * (digits + 1) + 128;
}

// A tighter bound of the body's size, for claiming room to keep it aside: F(k) has at most
// k log10(phi) + 1 digits, so the numbers from F(from) to F(last) have at most log10(phi)
// times the sum of their indices, plus 2 per number with its separator, in total.
std::uint64_t body_size_bound(const fibonacci_query& q) {
  constexpr long double log10_phi = 0.20898764024997873L;
  const std::uint64_t last = q.from + (q.count == 0 ? 0 : q.count - 1);
  const long double index_sum =
      static_cast<long double>(q.count) * static_cast<long double>(q.from + last) / 2;
  return static_cast<std::uint64_t>(log10_phi * index_sum) + 2 * q.count + 256;
}

// What answered() is told for a head that could not be parsed: no route was chosen.
route_result unparsed_route(unsigned status) {
  route_result r;
  r.kind = route_kind::error;
  r.status = status;
  return r;
}

void write_hex(char* at, std::size_t width, std::size_t value) {
  for (std::size_t i = width; i-- > 0; value >>= 4)
    at[i] = "0123456789abcdef"[value & 0xf];
}

}  // namespace

http_connection::http_connection(const http_connection_config& config, http_services& services,
                                 clock::time_point now)
    : config_(config),
      services_(services),
      parser_(config.requests),
      lifetime_(config.timeouts, now) {}

http_connection::~http_connection() {
  release_fill();
}

io_step http_connection::next(clock::time_point now) {
  for (;;) {
    if (lifetime_.closed())
      return io_step::close;
    switch (phase_) {
      case phase::reading:
        if (output_.size() >= config_.output_buffer)
          return write_step(now);
        if (auto s = take_request(now))
          return *s;
        break;
      case phase::streaming:
        // The next piece is rendered only once the one before it is written: a reader that
        // stops reading stops the rendering, and the connection holds one piece at most.
        if (output_.size() >= config_.output_buffer)
          return write_step(now);
        render_piece();
        break;
      case phase::cached_body:
        if (output_.empty())
          writing_body_ = true;  // the head went first; now the body, from the cache
        return write_step(now);
      case phase::closing:
        if (!output_.empty())
          return write_step(now);
        lifetime_.close();
        return io_step::close;
      case phase::upgrading:
        if (!output_.empty())
          return write_step(now);
        return io_step::upgrade;
    }
  }
}

std::optional<io_step> http_connection::take_request(clock::time_point now) {
  const parse_result r = parser_.consume(input_.view());
  input_.consume(r.consumed);
  switch (r.what) {
    case parse_result::kind::need_more:
      // The parser keeps a partial head itself: nothing of the lent bytes is left.
      input_.keep_rest();
      if (!output_.empty())
        return write_step(now);
      lifetime_.reply_finished();
      return io_step::read;
    case parse_result::kind::error:
      // The stream has no trustworthy message boundary left: answer, then close.
      lifetime_.reply_started();
      append_parse_error_response(output_, r, services_.date());
      services_.answered(unparsed_route(r.status), r.status);
      phase_ = phase::closing;
      return std::nullopt;
    case parse_result::kind::request:
      break;
  }
  lifetime_.request_completed(now);
  // From here until its response is written, a request is in progress: a stop lets it finish.
  lifetime_.reply_started();
  answer(parser_.request());
  return std::nullopt;
}

void http_connection::answer(const http_request& request) {
  const route_result route = numsequence::route(request, config_.routes);
  keep_alive_ = request.keep_alive;
  unsigned status = route.status;
  switch (route.kind) {
    case route_kind::fibonacci:
      status = answer_fibonacci(route, request);
      break;
    case route_kind::page:
      send_sized(answer_head(route, request, services_.date()),
                 std::make_shared<const std::string>(services_.page(route)));
      break;
    case route_kind::websocket:
      status = answer_websocket(request);
      break;
    case route_kind::metrics:
      answer_text(route, request, status, content_type::prometheus, services_.metrics());
      break;
    case route_kind::healthz:
      answer_text(route, request, status, content_type::text, "ok\n");
      break;
    case route_kind::readyz:
      if (const auto why = services_.not_ready()) {
        status = 503;
        answer_text(route, request, status, content_type::text, "not ready: " + *why + "\n");
      } else {
        answer_text(route, request, status, content_type::text, "ready\n");
      }
      break;
    case route_kind::error:
      keep_alive_ = append_error_response(output_, route, request, services_.date()).keep_alive;
      response_finished();
      break;
  }
  services_.answered(route, status);
}

unsigned http_connection::answer_fibonacci(const route_result& route, const http_request& request) {
  response_head head = answer_head(route, request, services_.date());
  if (head.status == 304) {
    keep_alive_ = append_response_head(output_, head).keep_alive;
    response_finished();
    return 304;
  }
  auto& cache = services_.cache();
  if (auto body = cache.find(route.canonical_key)) {
    send_sized(std::move(head), std::move(body));
    return 200;
  }
  if (body_bound(route.fibonacci) <= config_.render_whole_limit) {
    auto body = std::make_shared<const std::string>(render_all(route.fibonacci));
    cache.insert(route.canonical_key, body);
    send_sized(std::move(head), std::move(body));
    return 200;
  }
  // Too large to render whole: rendered once and kept, if the large-answer cache has room,
  auto& large = services_.large_answers();
  if (auto body = large.find(route.canonical_key)) {
    send_sized(std::move(head), std::move(body));
    return 200;
  }
  // else streamed, a piece at a time, whatever n is (and kept aside on the way, if this
  // connection is the one to fill the cache with it).
  head.content_length = std::nullopt;
  const head_written h = append_response_head(output_, head);
  keep_alive_ = h.keep_alive;
  if (h.framing == body_framing::none) {  // HEAD
    response_finished();
    return 200;
  }
  renderer_ = std::make_unique<fibonacci_renderer>(route.fibonacci);
  chunked_ = h.framing == body_framing::chunked;
  const std::uint64_t size_bound = body_size_bound(route.fibonacci);
  if (large.claim_fill(route.canonical_key, size_bound)) {
    fill_key_ = route.canonical_key;
    fill_.reserve(size_bound);
  }
  // Room, once, for the threshold, a piece past it and one long number: grown by doubling
  // instead, the buffer could be given back after a write and grown again for every piece.
  output_.reserve(stream_buffer_capacity());
  phase_ = phase::streaming;
  return 200;
}

unsigned http_connection::answer_websocket(const http_request& request) {
  const bool get = request.method == request_method::get;
  const handshake_result h = accept_upgrade(
      {get ? "GET" : "HEAD", request.version == http_version::http_1_1 ? "HTTP/1.1" : "HTTP/1.0",
       request.upgrade_protocols, request.connection, request.sec_websocket_version,
       request.sec_websocket_key});
  if (h.status == 101) {
    output_ += h.response;
    phase_ = phase::upgrading;
    return 101;
  }
  response_head head;
  head.status = static_cast<unsigned>(h.status);
  head.version = request.version;
  head.keep_alive = request.keep_alive;
  head.head_request = !get;
  head.date = services_.date();
  head.type = content_type::text;
  const std::string body = h.reason + "\n";
  head.content_length = body.size();
  const head_written written = append_response_head(output_, head);
  // The handshake's own header fields (Allow, Sec-WebSocket-Version, Upgrade) go before the
  // empty line that ends the head.
  output_.resize(output_.size() - 2);
  for (const auto& [name, value] : h.headers)
    output_ += name + ": " + value + "\r\n";
  output_ += "\r\n";
  if (written.framing == body_framing::content_length)
    output_ += body;
  keep_alive_ = written.keep_alive;
  response_finished();
  return head.status;
}

void http_connection::answer_text(const route_result& route, const http_request& request,
                                  unsigned status, content_type type, std::string_view body) {
  response_head head;
  head.status = status;
  head.version = request.version;
  head.keep_alive = request.keep_alive;
  head.head_request = route.head;
  head.date = services_.date();
  head.type = type;
  head.content_length = body.size();
  head.cache = cache_policy::no_store;
  const head_written h = append_response_head(output_, head);
  if (h.framing == body_framing::content_length)
    output_ += body;
  keep_alive_ = h.keep_alive;
  response_finished();
}

void http_connection::send_sized(response_head head, std::shared_ptr<const std::string> body) {
  head.content_length = body->size();
  const head_written h = append_response_head(output_, head);
  keep_alive_ = h.keep_alive;
  if (h.framing == body_framing::content_length && body->size() > inline_body_limit) {
    body_ = std::move(body);
    phase_ = phase::cached_body;
    return;
  }
  if (h.framing == body_framing::content_length)
    output_ += *body;
  response_finished();
}

void http_connection::render_piece() {
  if (!chunked_) {
    const std::size_t data_at = output_.size();
    renderer_->render(output_, data_at + config_.output_buffer);
    keep_aside(std::string_view(output_).substr(data_at));
  } else {
    const std::size_t header_at = output_.size();
    output_ += chunk_size_placeholder;
    const std::size_t data_at = output_.size();
    renderer_->render(output_, data_at + config_.output_buffer);
    const std::size_t size = output_.size() - data_at;
    keep_aside(std::string_view(output_).substr(data_at));
    if (size == 0) {
      output_.resize(header_at);
    } else {
      write_hex(output_.data() + header_at, chunk_size_placeholder.size() - 2, size);
      append_chunk_end(output_);
    }
  }
  if (!renderer_->done())
    return;
  if (chunked_)
    append_last_chunk(output_);
  renderer_.reset();
  if (!fill_key_.empty()) {
    services_.large_answers().insert(fill_key_,
                                     std::make_shared<const std::string>(std::move(fill_)));
    release_fill();
  }
  response_finished();
}

void http_connection::keep_aside(std::string_view piece) {
  if (!fill_key_.empty())
    fill_ += piece;
}

void http_connection::release_fill() {
  if (fill_key_.empty())
    return;
  services_.large_answers().release_fill(fill_key_);
  fill_key_.clear();
  std::string().swap(fill_);
}

void http_connection::response_finished() {
  phase_ = (!keep_alive_ || lifetime_.closing()) ? phase::closing : phase::reading;
}

io_step http_connection::write_step(clock::time_point now) {
  // Lent bytes not parsed yet (pipelined requests) must survive the write, which may wait.
  input_.keep_rest();
  lifetime_.writing(now);
  return io_step::write;
}

std::string_view http_connection::output() const noexcept {
  return writing_body_ ? std::string_view(*body_) : std::string_view(output_);
}

void http_connection::written() {
  if (writing_body_) {
    writing_body_ = false;
    body_.reset();
    response_finished();
  } else {
    output_.clear();
    // A burst of pipelined answers must not leave a big buffer behind.
    if (output_.capacity() > stream_buffer_capacity())
      std::string().swap(output_);
  }
  // Between requests, what was written completes every response in progress: a close asked
  // for meanwhile may now happen.
  if (phase_ == phase::reading) {
    lifetime_.reply_finished();
    if (lifetime_.close_after_write())
      phase_ = phase::closing;
  }
}

void http_connection::idle() noexcept {
  input_.release_if_empty();
  if (output_.empty() && output_.capacity() > idle_output_capacity)
    std::string().swap(output_);
}

}  // namespace numsequence
