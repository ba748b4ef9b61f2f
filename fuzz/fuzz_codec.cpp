// libFuzzer target: arbitrary bytes through frame_decoder, parse_client_message and
// parse_server_message, as the server and the client receive them.
//
// Input layout: byte 0 picks the frame limit, byte 1 how the stream is cut into reads;
// the rest is the byte stream. Invariants checked (abort on violation):
//   - the decoder fed in pieces finds exactly the frames (and the error) a one-shot
//     reference decoder finds in the whole stream;
//   - `consumed` never exceeds the input, a frame is a view inside it, no longer than the
//     limit and without `;`, and what is skipped is only separators;
//   - a parsed message re-encoded with encode() parses back to the same value, and the
//     encoding is canonical (encode(parse(encode(m))) == encode(m));
//   - parsing into a reused server_message (as the client does) gives the same result as
//     parsing into a fresh one;
//   - every error's text makes one well-formed `ERR,<text>;` frame;
//   - INIT's fifth field: a frame with one is accepted exactly when the field is `random` or
//     `fibonacci` (and the kind is that one), refused as an unknown kind exactly when the
//     other fields are valid; a random INIT encodes without the field.
// Reads past a buffer are ASan's to catch.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/frame_decoder.hpp"
#include "numsequence/protocol/message.hpp"

namespace {

using namespace numsequence;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_codec: invariant violated: %s\n", what);
    std::abort();
  }
}

constexpr bool is_separator(char c) noexcept {
  return c == '\r' || c == '\n' || c == ' ';
}

bool all_separators(std::string_view s) {
  return std::all_of(s.begin(), s.end(), is_separator);
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

/// What the decoder reports, in order, for a whole stream.
struct decoded {
  std::vector<std::string> frames;
  bool too_long = false;
  friend bool operator==(const decoded&, const decoded&) = default;
};

/// A one-shot decoder written from the documented contract, without incremental state.
decoded reference_decode(std::string_view stream, std::size_t max_frame) {
  decoded out;
  std::size_t pos = 0;
  // Bounded: every pass consumes at least one byte (the frame's ';') or stops.
  while (pos <= stream.size()) {
    while (pos < stream.size() && is_separator(stream[pos]))
      ++pos;
    const std::string_view rest = stream.substr(pos);
    const auto semicolon = rest.find(';');
    if (semicolon != std::string_view::npos && semicolon <= max_frame) {
      out.frames.emplace_back(rest.substr(0, semicolon));
      pos += semicolon + 1;
      continue;
    }
    if (rest.size() > max_frame)
      out.too_long = true;
    break;
  }
  return out;
}

/// A message must come back unchanged from its own encoding, and encode canonically.
void check_client_round_trip(const client_message& m, std::size_t frame_size) {
  const std::string wire = encode(m);
  require(!wire.empty() && wire.back() == ';', "client encoding ends with ';'");
  require(wire.find(';') == wire.size() - 1, "client encoding is one frame");
  require(printable(wire), "client encoding is printable ASCII");
  // Leading zeros are the only thing encoding drops.
  require(wire.size() <= frame_size + 1, "client encoding no longer than the frame");
  client_message again;
  require(!parse_client_message(std::string_view(wire).substr(0, wire.size() - 1), again),
          "encoded client message parses");
  require(again == m, "client message round-trips");
  require(encode(again) == wire, "client encoding is canonical");

  if (const auto* init = std::get_if<init_message>(&m)) {
    require(init->n <= max_count, "INIT n in range");
    require(init->batch >= 1 && init->batch <= max_batch, "INIT batch in range");
    require(init->kind == sequence_kind::random || init->kind == sequence_kind::fibonacci,
            "INIT kind is a known kind");
    const bool names_kind = std::count(wire.begin(), wire.end(), ',') == 4;
    require(names_kind == (init->kind == sequence_kind::fibonacci),
            "only a Fibonacci INIT writes the fifth field");
  }
  if (const auto* recv = std::get_if<recv_message>(&m)) {
    const auto& digits = recv->overflow_digits;
    if (!digits.empty()) {
      require(recv->index == std::numeric_limits<std::uint64_t>::max(), "overflow saturates");
      require(digits.size() >= 20 && digits.front() != '0', "overflow digits are trimmed");
      require(
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }),
          "overflow digits are digits");
    }
  }
}

void check_server_round_trip(const server_message& m, std::string_view frame) {
  const std::string wire = encode(m);
  require(!wire.empty() && wire.back() == ';', "server encoding ends with ';'");
  require(wire.find(';') == wire.size() - 1, "server encoding is one frame");
  require(wire.size() <= frame.size() + 1, "server encoding no longer than the frame");
  server_message again;
  require(!parse_server_message(std::string_view(wire).substr(0, wire.size() - 1), again),
          "encoded server message parses");
  require(again == m, "server message round-trips");
  if (!std::holds_alternative<num_message>(m)) {
    // ACK, FAC and ERR have one spelling each: the frame itself.
    require(wire.substr(0, wire.size() - 1) == frame, "ACK/FAC/ERR encode as received");
  }
}

/// Every protocol error becomes exactly one `ERR,<text>;` a peer can parse.
void check_error(std::error_code ec) {
  require(ec.category() == protocol_category(), "errors are protocol errors");
  std::string out;
  append_err(out, ec.message());
  require(out.find(';') == out.size() - 1, "ERR text has no ';'");
  server_message parsed;
  require(!parse_server_message(std::string_view(out).substr(0, out.size() - 1), parsed),
          "ERR of an error parses");
  require(std::holds_alternative<err_message>(parsed), "ERR of an error is an ERR");
}

/// INIT's kind field against its parse: `ec` and `m` are what parse_client_message gave.
void check_init_kind(std::string_view frame, std::error_code ec, const client_message& m) {
  if (!frame.starts_with("INIT,") || std::count(frame.begin(), frame.end(), ',') != 4)
    return;
  const std::string_view kind = frame.substr(frame.rfind(',') + 1);
  const bool known = kind == "random" || kind == "fibonacci";
  if (!ec) {
    require(known, "an INIT with a fifth field is accepted only for a known kind");
    require(std::get<init_message>(m).kind ==
                (kind == "fibonacci" ? sequence_kind::fibonacci : sequence_kind::random),
            "the kind is the one named");
    return;
  }
  if (ec == protocol_errc::unknown_sequence_kind) {
    require(!known, "a known kind is never refused as unknown");
    // The other fields were valid: the same frame with a known kind parses.
    client_message again;
    const std::string fixed = std::string(frame.substr(0, frame.rfind(',') + 1)) + "fibonacci";
    require(!parse_client_message(fixed, again), "only the kind was wrong");
  }
}

/// One frame as the decoder cut it (no ';' inside): both parsers, all invariants.
void check_frame(std::string_view frame, server_message& reused) {
  client_message cm;
  const auto client_ec = parse_client_message(frame, cm);
  check_init_kind(frame, client_ec, cm);
  if (client_ec) {
    check_error(client_ec);
  } else {
    require(!frame.empty() && printable(frame), "accepted client frames are printable");
    check_client_round_trip(cm, frame.size());
  }

  server_message fresh;
  const auto ec_fresh = parse_server_message(frame, fresh);
  const auto ec_reused = parse_server_message(frame, reused);
  require(ec_fresh == ec_reused, "parsing into a reused message gives the same error");
  if (ec_fresh) {
    check_error(ec_fresh);
    return;
  }
  require(fresh == reused, "parsing into a reused message gives the same value");
  check_server_round_trip(fresh, frame);
}

/// Feeds `stream` in reads of varying size, as the server's socket loop does.
decoded incremental_decode(std::string_view stream, std::size_t max_frame, std::uint8_t cut_seed,
                           server_message& reused) {
  decoded out;
  frame_decoder decoder(max_frame);
  require(decoder.max_frame() == max_frame, "max_frame kept");
  std::string pending;
  std::size_t fed = 0;
  std::uint32_t rng = 0x9e3779b9u ^ cut_seed;
  const std::size_t max_read = 1 + cut_seed % 64;
  while (fed < stream.size() && !out.too_long) {
    rng = rng * 1664525u + 1013904223u;
    const std::size_t read = std::min<std::size_t>(1 + (rng >> 16) % max_read, stream.size() - fed);
    pending.append(stream.substr(fed, read));
    fed += read;
    // Bounded: each frame consumes at least its ';'.
    const std::size_t passes = pending.size() + 1;
    for (std::size_t pass = 0; pass < passes; ++pass) {
      const std::string_view view(pending);
      const frame_result r = decoder.consume(view);
      require(r.consumed <= view.size(), "consumed never exceeds the input");
      if (r.what == frame_result::kind::need_more) {
        require(!r.error, "need_more carries no error");
        require(all_separators(view.substr(0, r.consumed)), "need_more consumes separators only");
        const std::string_view rest = view.substr(r.consumed);
        require(rest.empty() || !is_separator(rest.front()), "need_more skips all separators");
        require(rest.find(';') == std::string_view::npos, "need_more leaves no ';'");
        require(rest.size() <= max_frame, "need_more holds at most max_frame bytes");
        pending.erase(0, r.consumed);
        break;
      }
      if (r.what == frame_result::kind::error) {
        require(r.consumed == 0, "an error consumes nothing");
        require(r.error == protocol_errc::frame_too_long, "the only framing error is too long");
        check_error(r.error);
        out.too_long = true;
        break;
      }
      require(r.what == frame_result::kind::frame, "a known result kind");
      require(r.consumed >= r.frame.size() + 1, "a frame consumes itself and its ';'");
      const std::size_t skipped = r.consumed - r.frame.size() - 1;
      require(r.frame.data() == view.data() + skipped, "the frame is a view into the input");
      require(view[r.consumed - 1] == ';', "a frame ends at ';'");
      require(all_separators(view.substr(0, skipped)), "a frame skips separators only");
      require(r.frame.find(';') == std::string_view::npos, "a frame holds no ';'");
      require(r.frame.size() <= max_frame, "a frame is at most max_frame bytes");
      require(r.frame.empty() || !is_separator(r.frame.front()), "a frame starts after separators");
      out.frames.emplace_back(r.frame);
      check_frame(r.frame, reused);
      pending.erase(0, r.consumed);
    }
  }
  return out;
}

/// The encoders against arbitrary values: NUM lists and ERR texts.
void check_encoders(std::string_view bytes) {
  std::vector<std::uint32_t> numbers(bytes.size() / 4);
  if (!numbers.empty())
    std::memcpy(numbers.data(), bytes.data(), numbers.size() * 4);
  std::string wire;
  append_num(wire, numbers);
  server_message parsed;
  require(!parse_server_message(std::string_view(wire).substr(0, wire.size() - 1), parsed),
          "NUM encoding parses");
  const auto* num = std::get_if<num_message>(&parsed);
  require(num != nullptr && num->numbers == numbers, "NUM round-trips");

  wire.clear();
  append_err(wire, bytes);
  require(wire.find(';') == wire.size() - 1, "append_err makes one frame");
  require(!parse_server_message(std::string_view(wire).substr(0, wire.size() - 1), parsed),
          "ERR of any text parses");
  const auto* err = std::get_if<err_message>(&parsed);
  require(err != nullptr && err->text.size() == bytes.size(), "ERR keeps the text's length");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = err->text[i];
    require(c == bytes[i] || c == '?' || (c == ',' && bytes[i] == ';'),
            "ERR changes only ';' and unprintable bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  // Limits from 0 (only empty frames fit) to 127, or the server's default 256.
  const std::size_t max_frame = (data[0] & 0x80) != 0 ? 256 : data[0];
  const std::uint8_t cut_seed = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  server_message reused = num_message{{1, 2, 3}};
  const decoded got = incremental_decode(stream, max_frame, cut_seed, reused);
  require(got == reference_decode(stream, max_frame), "pieces decode like the whole stream");

  // The whole input as one frame, ';' and all: the parsers must not rely on the decoder.
  client_message cm;
  if (!parse_client_message(stream, cm)) {
    const std::string wire = encode(cm);
    require(wire.find(';') == wire.size() - 1, "raw client frame encodes to one frame");
  }
  server_message sm;
  if (!parse_server_message(stream, sm)) {
    const std::string wire = encode(sm);
    require(wire.find(';') == wire.size() - 1, "raw server frame encodes to one frame");
  }

  check_encoders(stream);
  return 0;
}
