// Codec tests: exact wire strings for encoding, and {input, expected, error} tables
// for decoding. Every table row is decoded the way a connection sees it: through a
// frame_decoder, whole, byte by byte, and cut in two at every position.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <ostream>  // doctest only forward-declares it; printing error_code needs it
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/frame_decoder.hpp"

using namespace numsequence;
using namespace std::string_literals;

namespace {

constexpr std::size_t test_max_frame = 256;
constexpr std::string_view uuid = "123e4567-e89b-12d3-a456-426614174000";
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();

client_id id_of(std::string_view text) {
  const auto parsed = client_id::parse(text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

md5_digest digest_of(std::string_view hex) {
  const auto parsed = md5_from_hex(hex);
  REQUIRE(parsed.has_value());
  return *parsed;
}

// What one frame decoded to: a message, or the error that ends the connection.
template <class Message>
using item = std::variant<Message, std::error_code>;

template <class Message>
item<Message> err(protocol_errc e) {
  return item<Message>{std::in_place_index<1>, make_error_code(e)};
}

template <class Message>
struct decoded {
  std::vector<item<Message>> items;
  // Bytes still buffered at the end, waiting for the rest of a message. Left at
  // zero after an error: what was buffered then depends on how the input was cut.
  std::size_t leftover = 0;
  friend bool operator==(const decoded&, const decoded&) = default;
};

template <class Message>
using parse_fn = std::error_code (*)(std::string_view, Message&);

// Plays a connection: append each piece as it "arrives", take out every complete
// frame, erase what was consumed, stop at the first error (the server closes).
template <class Message>
decoded<Message> feed(const std::vector<std::string_view>& pieces, parse_fn<Message> parse) {
  decoded<Message> d;
  frame_decoder decoder{test_max_frame};
  std::string buffer;
  for (const auto piece : pieces) {
    buffer.append(piece);
    for (;;) {
      const frame_result r = decoder.consume(buffer);
      if (r.what == frame_result::kind::error) {
        CHECK(r.consumed == 0);
        d.items.emplace_back(std::in_place_index<1>, r.error);
        return d;
      }
      if (r.what == frame_result::kind::need_more) {
        buffer.erase(0, r.consumed);
        break;
      }
      Message m;
      const std::error_code ec = parse(r.frame, m);  // before erase: r.frame views buffer
      buffer.erase(0, r.consumed);
      if (ec) {
        d.items.emplace_back(std::in_place_index<1>, ec);
        return d;
      }
      d.items.emplace_back(std::in_place_index<0>, std::move(m));
    }
  }
  d.leftover = buffer.size();
  return d;
}

std::vector<std::string_view> whole(std::string_view wire) {
  return {wire};
}

std::vector<std::string_view> byte_by_byte(std::string_view wire) {
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < wire.size(); ++i)
    pieces.push_back(wire.substr(i, 1));
  return pieces;
}

std::vector<std::string_view> split_at(std::string_view wire, std::size_t at) {
  return {wire.substr(0, at), wire.substr(at)};
}

template <class Message>
std::string describe(const item<Message>& i) {
  if (const auto* ec = std::get_if<std::error_code>(&i))
    return "error: " + ec->message();
  return encode(std::get<Message>(i));
}

template <class Message>
std::string describe(const decoded<Message>& d) {
  std::string s = "[";
  for (const auto& i : d.items) {
    if (s.size() > 1)
      s += " | ";
    s += describe(i);
  }
  return s + "] leftover " + std::to_string(d.leftover);
}

}  // namespace

template <class Message>
struct doctest::StringMaker<decoded<Message>> {
  static doctest::String convert(const decoded<Message>& d) { return describe(d).c_str(); }
};

namespace {

template <class Message>
struct row {
  std::string name;
  std::string wire;
  std::vector<item<Message>> expected;
  std::size_t leftover = 0;
};

template <class Message>
void check_row(const row<Message>& r, parse_fn<Message> parse) {
  INFO("row: ", r.name);
  const decoded<Message> expected{r.expected, r.leftover};
  CHECK(feed(whole(r.wire), parse) == expected);
  CHECK(feed(byte_by_byte(r.wire), parse) == expected);
  for (std::size_t at = 1; at < r.wire.size(); ++at) {
    INFO("split at ", at);
    CHECK(feed(split_at(r.wire, at), parse) == expected);
  }
}

using client_item = item<client_message>;
using server_item = item<server_message>;

// Built in place from the alternative (init_message, num_message, ...): moving a
// whole variant into the outer variant trips GCC 12's -Wmaybe-uninitialized.
template <class Alternative>
client_item c_ok(Alternative m) {
  return client_item{std::in_place_index<0>, std::in_place_type<Alternative>, std::move(m)};
}
client_item c_err(protocol_errc e) {
  return err<client_message>(e);
}
template <class Alternative>
server_item s_ok(Alternative m) {
  return server_item{std::in_place_index<0>, std::in_place_type<Alternative>, std::move(m)};
}
server_item s_err(protocol_errc e) {
  return err<server_message>(e);
}

init_message init(std::string_view id, std::uint32_t n, std::uint32_t batch,
                  sequence_kind kind = sequence_kind::random) {
  return init_message{id_of(id), n, batch, kind};
}
cont_message cont(std::string_view id) {
  return cont_message{id_of(id)};
}
recv_message recv(std::uint64_t index) {
  recv_message m;
  m.index = index;
  return m;
}
recv_message recv_overflow(std::string digits) {
  recv_message m;
  m.index = std::numeric_limits<std::uint64_t>::max();
  m.overflow_digits = std::move(digits);
  return m;
}

std::string with_id(std::string_view before, std::string_view id, std::string_view after) {
  return std::string(before) + std::string(id) + std::string(after);
}

}  // namespace

TEST_CASE("codec: client messages encode to exact wire strings and parse back") {
  struct encode_row {
    client_message message;
    std::string wire;
  };
  const std::vector<encode_row> rows = {
      {init(uuid, 5, 5), "INIT,123e4567-e89b-12d3-a456-426614174000,5,5;"},
      {init(uuid, 0, 65535), "INIT,123e4567-e89b-12d3-a456-426614174000,0,65535;"},
      {init("123E4567-E89B-12D3-A456-426614174000", 65535, 1),
       "INIT,123E4567-E89B-12D3-A456-426614174000,65535,1;"},
      // A random INIT is the reference's, without the fifth field; fibonacci names itself.
      {init(uuid, 5, 5, sequence_kind::random), "INIT,123e4567-e89b-12d3-a456-426614174000,5,5;"},
      {init(uuid, 10, 7, sequence_kind::fibonacci),
       "INIT,123e4567-e89b-12d3-a456-426614174000,10,7,fibonacci;"},
      {cont(uuid), "CONT,123e4567-e89b-12d3-a456-426614174000;"},
      {recv(0), "RECV,0;"},
      {recv(1999), "RECV,1999;"},
      {recv(u64_max), "RECV,18446744073709551615;"},
      {fin_message{}, "FIN;"},
  };
  for (const auto& r : rows) {
    INFO("wire: ", r.wire);
    CHECK(encode(r.message) == r.wire);
    // The frame is the wire form without its ';'.
    client_message parsed;
    REQUIRE_FALSE(
        parse_client_message(std::string_view(r.wire).substr(0, r.wire.size() - 1), parsed));
    CHECK(parsed == r.message);
  }
}

TEST_CASE("codec: append_* functions append and agree with encode") {
  // Appending (not overwriting) is what lets a writer queue replies in one buffer.
  std::string client_out = "x";
  append_init(client_out, init_message{id_of(uuid), 10, 5});
  append_cont(client_out, cont_message{id_of(uuid)});
  append_recv(client_out, 7);
  append_fin(client_out);
  CHECK(client_out ==
        "xINIT,123e4567-e89b-12d3-a456-426614174000,10,5;"
        "CONT,123e4567-e89b-12d3-a456-426614174000;RECV,7;FIN;");
  std::string client_expected = "x";
  for (const client_message& m : {client_message{init(uuid, 10, 5)}, client_message{cont(uuid)},
                                  client_message{recv(7)}, client_message{fin_message{}}}) {
    client_expected += encode(m);
  }
  CHECK(client_out == client_expected);

  std::string server_out = "y";
  const std::vector<std::uint32_t> numbers = {6, 41, 81, 68, 68};
  const md5_digest md5 = digest_of("f90b20dae8c9b7d7be2a5fb7cc856e8b");
  append_ack(server_out);
  append_num(server_out, numbers);
  append_fac(server_out, md5);
  append_err(server_out, "nope");
  CHECK(server_out == "yACK;NUM,6:41:81:68:68;FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;ERR,nope;");
  std::string server_expected = "y";
  for (const server_message& m :
       {server_message{ack_message{}}, server_message{num_message{numbers}},
        server_message{fac_message{md5}}, server_message{err_message{"nope"}}}) {
    server_expected += encode(m);
  }
  CHECK(server_out == server_expected);
}

TEST_CASE("codec: server messages encode to exact wire strings and parse back") {
  struct encode_row {
    server_message message;
    std::string wire;
  };
  const std::vector<encode_row> rows = {
      {ack_message{}, "ACK;"},
      {num_message{{6, 41, 81, 68, 68}}, "NUM,6:41:81:68:68;"},
      {num_message{{}}, "NUM,;"},
      {num_message{{0}}, "NUM,0;"},
      {num_message{{0, u32_max}}, "NUM,0:4294967295;"},
      {fac_message{digest_of("f90b20dae8c9b7d7be2a5fb7cc856e8b")},
       "FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;"},
      {fac_message{digest_of("d751713988987e9331980363e24189ce")},
       "FAC,d751713988987e9331980363e24189ce;"},
      {err_message{"123e4567-e89b-12d3-a456-426614174000 already exist"},
       "ERR,123e4567-e89b-12d3-a456-426614174000 already exist;"},
      {err_message{"Client-id: 123e4567-e89b-12d3-a456-426614174000 does not exist"},
       "ERR,Client-id: 123e4567-e89b-12d3-a456-426614174000 does not exist;"},
      {err_message{"Invalid batch index requested: 2"}, "ERR,Invalid batch index requested: 2;"},
      {err_message{"a, b,c"}, "ERR,a, b,c;"},
      {err_message{""}, "ERR,;"},
  };
  for (const auto& r : rows) {
    INFO("wire: ", r.wire);
    CHECK(encode(r.message) == r.wire);
    server_message parsed;
    REQUIRE_FALSE(
        parse_server_message(std::string_view(r.wire).substr(0, r.wire.size() - 1), parsed));
    CHECK(parsed == r.message);
  }
}

TEST_CASE("codec: a full 65535-number batch of uint32 max round-trips") {
  num_message big{std::vector<std::uint32_t>(max_batch, u32_max)};
  const std::string wire = encode(server_message{big});
  CHECK(wire.size() == 4 + max_batch * 10 + (max_batch - 1) + 1);
  server_message parsed;
  REQUIRE_FALSE(parse_server_message(std::string_view(wire).substr(0, wire.size() - 1), parsed));
  CHECK(parsed == server_message{big});
}

TEST_CASE("codec: NUM pieces (first, middle, last) join into the bytes of the whole reply") {
  const std::vector<std::uint32_t> numbers = {0, 7, 42, 100, u32_max, 12345, 9};
  std::string whole;
  append_num(whole, numbers);
  REQUIRE(whole == "NUM,0:7:42:100:4294967295:12345:9;");
  const std::span<const std::uint32_t> all(numbers);
  for (std::size_t first = 1; first < numbers.size(); ++first) {
    for (std::size_t second = first; second < numbers.size(); ++second) {
      CAPTURE(first);
      CAPTURE(second);
      std::string out = "ACK;";  // pieces append after what is already buffered
      append_num_piece(out, all.subspan(0, first), num_piece::first);
      if (second > first)
        append_num_piece(out, all.subspan(first, second - first), num_piece::middle);
      append_num_piece(out, all.subspan(second), num_piece::last);
      CHECK(out == "ACK;" + whole);
    }
  }
  std::string one;
  append_num_piece(one, all, num_piece::whole);
  CHECK(one == whole);
}

TEST_CASE("codec: append_err keeps the text one well-formed message") {
  // ';' would end the frame early; control and non-ASCII bytes would make the
  // peer reject the whole frame, so the reason would be lost.
  CHECK(encode(server_message{err_message{"a;b;"}}) == "ERR,a,b,;");
  CHECK(encode(server_message{err_message{"line\r\nbreak\ttab\0nul"s}}) ==
        "ERR,line??break?tab?nul;");
  CHECK(encode(server_message{err_message{"caf\xc3\xa9"}}) == "ERR,caf??;");

  std::string out;
  append_err(out, "x;y");
  CHECK(out == "ERR,x,y;");
  server_message parsed;
  REQUIRE_FALSE(parse_server_message(std::string_view(out).substr(0, out.size() - 1), parsed));
  CHECK(parsed == server_message{err_message{"x,y"}});
}

TEST_CASE("codec: parse_server_message reuses the NUM vector's capacity") {
  server_message out = num_message{};
  auto& numbers = std::get<num_message>(out).numbers;
  numbers.reserve(100);
  const auto* storage = numbers.data();
  REQUIRE_FALSE(parse_server_message("NUM,1:2:3", out));
  REQUIRE(std::holds_alternative<num_message>(out));
  CHECK(std::get<num_message>(out).numbers == std::vector<std::uint32_t>{1, 2, 3});
  CHECK(std::get<num_message>(out).numbers.data() == storage);
  // A previous, longer batch leaves nothing behind.
  REQUIRE_FALSE(parse_server_message("NUM,", out));
  CHECK(std::get<num_message>(out).numbers.empty());
}

TEST_CASE("codec: parse_client_message reuses a message and leaves nothing of the last one") {
  client_message out{std::in_place_type<recv_message>};
  REQUIRE_FALSE(parse_client_message("RECV,123456789012345678901", out));
  CHECK(out == client_message{recv_overflow("123456789012345678901")});
  REQUIRE_FALSE(parse_client_message("RECV,7", out));
  CHECK(out == client_message{recv(7)});
  REQUIRE_FALSE(parse_client_message("FIN", out));
  CHECK(out == client_message{fin_message{}});
  REQUIRE_FALSE(parse_client_message("RECV,0012", out));
  CHECK(out == client_message{recv(12)});
  CHECK(parse_client_message("RECV,1x", out) == protocol_errc::invalid_number);
  CHECK(parse_client_message("RECV,", out) == protocol_errc::invalid_number);
  CHECK(parse_client_message("RECV,1,2", out) == protocol_errc::wrong_field_count);
}

TEST_CASE("codec: client table, each row through frame_decoder whole, byte by byte and split") {
  const std::string long_zeros(test_max_frame - 5, '0');  // "RECV," + this = max_frame bytes
  std::vector<row<client_message>> rows = {
      // Well-formed.
      {"INIT", with_id("INIT,", uuid, ",5,5;"), {c_ok(init(uuid, 5, 5))}},
      {"INIT upper-case id kept as sent",
       "INIT,123E4567-E89B-12D3-A456-426614174000,0,65535;",
       {c_ok(init("123E4567-E89B-12D3-A456-426614174000", 0, 65535))}},
      {"INIT largest n, smallest batch",
       with_id("INIT,", uuid, ",65535,1;"),
       {c_ok(init(uuid, 65535, 1))}},
      {"INIT leading zeros",
       with_id("INIT,", uuid, ",0005,00065535;"),
       {c_ok(init(uuid, 5, 65535))}},
      {"CONT", with_id("CONT,", uuid, ";"), {c_ok(cont(uuid))}},
      {"RECV 0", "RECV,0;", {c_ok(recv(0))}},
      {"RECV uint64 max", "RECV,18446744073709551615;", {c_ok(recv(u64_max))}},
      // 19 digits is the longest index the RECV fast path takes; 20 go the general way.
      {"RECV 19 nines", "RECV,9999999999999999999;", {c_ok(recv(9999999999999999999ULL))}},
      {"RECV 20 digits below uint64 max",
       "RECV,10000000000000000000;",
       {c_ok(recv(10000000000000000000ULL))}},
      {"RECV 25 digits with leading zeros", "RECV,0000000000000000000000042;", {c_ok(recv(42))}},
      // An index past 64 bits is still a batch request (answered "Invalid batch index"):
      // it saturates, and keeps its digits for the error text.
      {"RECV uint64 max + 1",
       "RECV,18446744073709551616;",
       {c_ok(recv_overflow("18446744073709551616"))}},
      {"RECV 25 digits",
       "RECV,1234567890123456789012345;",
       {c_ok(recv_overflow("1234567890123456789012345"))}},
      {"RECV 25 digits after zeros",
       "RECV,0001234567890123456789012345;",
       {c_ok(recv_overflow("1234567890123456789012345"))}},
      {"FIN", "FIN;", {c_ok(fin_message{})}},
      {"separators before a message", " \r\n \r\nFIN;", {c_ok(fin_message{})}},
      {"separators after a message", "FIN;\r\n  \n", {c_ok(fin_message{})}},
      {"frame of exactly max_frame bytes", "RECV," + long_zeros + ";", {c_ok(recv(0))}},

      // Several messages in one stream, as a pipelining client sends them.
      {"pipelined session",
       with_id("INIT,", uuid, ",10,5;RECV,0;RECV,1;RECV,0;FIN;"),
       {c_ok(init(uuid, 10, 5)), c_ok(recv(0)), c_ok(recv(1)), c_ok(recv(0)), c_ok(fin_message{})}},
      {"typed into nc",
       with_id("CONT,", uuid, ";\r\nRECV,3;\nRECV,4; \r\nFIN;\r\n"),
       {c_ok(cont(uuid)), c_ok(recv(3)), c_ok(recv(4)), c_ok(fin_message{})}},
      {"error stops the stream",
       "RECV,0;RECV,x;FIN;",
       {c_ok(recv(0)), c_err(protocol_errc::invalid_number)}},

      // Incomplete input: nothing decoded yet, bytes kept for later.
      {"no input", "", {}},
      {"only separators are used up", " \r\n \r\n", {}},
      {"message without ';' yet", "RECV,0", {}, 6},
      {"separators then partial message", "\r\nFI", {}, 2},

      // Empty message.
      {"empty frame", ";", {c_err(protocol_errc::empty_message)}},
      {"empty frame after separators", " \r\n;", {c_err(protocol_errc::empty_message)}},
      {"double ';'", "FIN;;", {c_ok(fin_message{}), c_err(protocol_errc::empty_message)}},

      // Unknown type (case-sensitive).
      {"lower-case init", with_id("init,", uuid, ",5,5;"), {c_err(protocol_errc::unknown_type)}},
      {"mixed-case Fin", "Fin;", {c_err(protocol_errc::unknown_type)}},
      {"unknown word", "HELLO;", {c_err(protocol_errc::unknown_type)}},
      {"prefix of a type", "FI;", {c_err(protocol_errc::unknown_type)}},
      {"type with suffix", "FINISH;", {c_err(protocol_errc::unknown_type)}},
      {"empty type", ",0;", {c_err(protocol_errc::unknown_type)}},
      {"server type from a client", "ACK;", {c_err(protocol_errc::unknown_type)}},
      {"space after type", "RECV ,0;", {c_err(protocol_errc::unknown_type)}},
      {"space before ';'", "FIN ;", {c_err(protocol_errc::unknown_type)}},

      // Field count.
      {"INIT without fields", "INIT;", {c_err(protocol_errc::wrong_field_count)}},
      {"INIT missing batch",
       with_id("INIT,", uuid, ",5;"),
       {c_err(protocol_errc::wrong_field_count)}},
      {"INIT sixth field",
       with_id("INIT,", uuid, ",5,5,fibonacci,5;"),
       {c_err(protocol_errc::wrong_field_count)}},
      {"INIT trailing comma after the kind",
       with_id("INIT,", uuid, ",5,5,random,;"),
       {c_err(protocol_errc::wrong_field_count)}},

      // The kind: INIT's optional fifth field, checked after id, n and batch.
      {"INIT kind absent is random", with_id("INIT,", uuid, ",5,5;"), {c_ok(init(uuid, 5, 5))}},
      {"INIT kind random",
       with_id("INIT,", uuid, ",5,5,random;"),
       {c_ok(init(uuid, 5, 5, sequence_kind::random))}},
      {"INIT kind fibonacci",
       with_id("INIT,", uuid, ",25000,500,fibonacci;"),
       {c_ok(init(uuid, 25000, 500, sequence_kind::fibonacci))}},
      {"INIT kind fibonacci then RECV",
       with_id("INIT,", uuid, ",7,3,fibonacci;RECV,2;"),
       {c_ok(init(uuid, 7, 3, sequence_kind::fibonacci)), c_ok(recv(2))}},
      {"INIT kind unknown",
       with_id("INIT,", uuid, ",5,5,primes;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind a number",
       with_id("INIT,", uuid, ",5,5,5;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind empty",
       with_id("INIT,", uuid, ",5,5,;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind upper case",
       with_id("INIT,", uuid, ",5,5,FIBONACCI;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind capitalised",
       with_id("INIT,", uuid, ",5,5,Random;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind with a space",
       with_id("INIT,", uuid, ",5,5, fibonacci;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind prefix",
       with_id("INIT,", uuid, ",5,5,fib;"),
       {c_err(protocol_errc::unknown_sequence_kind)}},
      {"INIT kind after a bad n",
       with_id("INIT,", uuid, ",65536,5,primes;"),
       {c_err(protocol_errc::number_out_of_range)}},
      {"CONT without id", "CONT;", {c_err(protocol_errc::wrong_field_count)}},
      {"CONT extra field",
       with_id("CONT,", uuid, ",1;"),
       {c_err(protocol_errc::wrong_field_count)}},
      {"RECV without index", "RECV;", {c_err(protocol_errc::wrong_field_count)}},
      {"RECV two indexes", "RECV,1,2;", {c_err(protocol_errc::wrong_field_count)}},
      {"FIN with empty field", "FIN,;", {c_err(protocol_errc::wrong_field_count)}},
      {"FIN with field", "FIN,now;", {c_err(protocol_errc::wrong_field_count)}},

      // Client id.
      {"id too short",
       "CONT,123e4567-e89b-12d3-a456-42661417400;",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id too long",
       "CONT,123e4567-e89b-12d3-a456-4266141740000;",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id dash misplaced",
       "CONT,123e456-7e89b-12d3-a456-426614174000;",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id dash replaced",
       "CONT,123e4567_e89b-12d3-a456-426614174000;",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id without dashes",
       "CONT,123e4567e89b12d3a456426614174000;",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id non-hex",
       "CONT,123e4567-e89b-12d3-a456-42661417400g;",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id in braces",
       "CONT,{123e4567-e89b-12d3-a456-426614174000};",
       {c_err(protocol_errc::invalid_client_id)}},
      {"id empty", "CONT,;", {c_err(protocol_errc::invalid_client_id)}},
      {"INIT bad id", "INIT,not-a-uuid,5,5;", {c_err(protocol_errc::invalid_client_id)}},
      {"INIT empty id", "INIT,,5,5;", {c_err(protocol_errc::invalid_client_id)}},
      {"space before id", with_id("CONT, ", uuid, ";"), {c_err(protocol_errc::invalid_client_id)}},

      // Numbers: form.
      {"n with plus sign",
       with_id("INIT,", uuid, ",+5,5;"),
       {c_err(protocol_errc::invalid_number)}},
      {"n with minus sign",
       with_id("INIT,", uuid, ",-5,5;"),
       {c_err(protocol_errc::invalid_number)}},
      {"batch with plus sign",
       with_id("INIT,", uuid, ",5,+5;"),
       {c_err(protocol_errc::invalid_number)}},
      {"RECV plus sign", "RECV,+1;", {c_err(protocol_errc::invalid_number)}},
      {"RECV minus sign", "RECV,-1;", {c_err(protocol_errc::invalid_number)}},
      {"RECV empty index", "RECV,;", {c_err(protocol_errc::invalid_number)}},
      {"INIT empty n", with_id("INIT,", uuid, ",,5;"), {c_err(protocol_errc::invalid_number)}},
      {"INIT empty batch", with_id("INIT,", uuid, ",5,;"), {c_err(protocol_errc::invalid_number)}},
      {"RECV hex", "RECV,0x10;", {c_err(protocol_errc::invalid_number)}},
      {"RECV exponent", "RECV,1e3;", {c_err(protocol_errc::invalid_number)}},
      {"RECV decimal point", "RECV,1.0;", {c_err(protocol_errc::invalid_number)}},
      {"RECV space before digits", "RECV, 0;", {c_err(protocol_errc::invalid_number)}},
      {"RECV space inside digits", "RECV,1 2;", {c_err(protocol_errc::invalid_number)}},
      {"RECV space after digits", "RECV,0 ;", {c_err(protocol_errc::invalid_number)}},
      {"long digits then junk is malformed, not out of range",
       "RECV,99999999999999999999999x;",
       {c_err(protocol_errc::invalid_number)}},

      // Numbers: range.
      {"n 65536", with_id("INIT,", uuid, ",65536,5;"), {c_err(protocol_errc::number_out_of_range)}},
      {"n huge",
       with_id("INIT,", uuid, ",99999999999999999999999,5;"),
       {c_err(protocol_errc::number_out_of_range)}},
      {"batch 0", with_id("INIT,", uuid, ",5,0;"), {c_err(protocol_errc::number_out_of_range)}},
      {"batch 000", with_id("INIT,", uuid, ",5,000;"), {c_err(protocol_errc::number_out_of_range)}},
      {"batch 65536",
       with_id("INIT,", uuid, ",5,65536;"),
       {c_err(protocol_errc::number_out_of_range)}},

      // Bytes outside printable ASCII, checked before anything else.
      {"control byte", "RECV,\x01;", {c_err(protocol_errc::invalid_byte)}},
      {"NUL in field", "RECV,0\0;"s, {c_err(protocol_errc::invalid_byte)}},
      {"NUL alone", "\0;"s, {c_err(protocol_errc::invalid_byte)}},
      {"NUL in unknown type", "init\0;"s, {c_err(protocol_errc::invalid_byte)}},
      {"DEL", "FIN\x7f;", {c_err(protocol_errc::invalid_byte)}},
      {"high bytes", "\xff\xfe;", {c_err(protocol_errc::invalid_byte)}},
      {"UTF-8", "RECV,\xc3\xa9;", {c_err(protocol_errc::invalid_byte)}},
      {"tab", "RECV,\t0;", {c_err(protocol_errc::invalid_byte)}},
      {"CR inside a message", "RECV,0\r;", {c_err(protocol_errc::invalid_byte)}},
      {"LF inside a message",
       with_id("INIT,", uuid, "\n,5,5;"),
       {c_err(protocol_errc::invalid_byte)}},

      // Too long.
      {"frame of max_frame + 1 bytes",
       "RECV," + long_zeros + "0;",
       {c_err(protocol_errc::frame_too_long)}},
      {"overlong with ';' later",
       "RECV," + std::string(1000, '0') + ";",
       {c_err(protocol_errc::frame_too_long)}},
      {"overlong without ';'", std::string(1000, 'A'), {c_err(protocol_errc::frame_too_long)}},
      {"overlong after a good message",
       "FIN;" + std::string(1000, 'A'),
       {c_ok(fin_message{}), c_err(protocol_errc::frame_too_long)}},
  };
  for (const auto& r : rows)
    check_row(r, &parse_client_message);
}

TEST_CASE("codec: server table, each row through frame_decoder whole, byte by byte and split") {
  const std::string md5 = "f90b20dae8c9b7d7be2a5fb7cc856e8b";
  std::vector<row<server_message>> rows = {
      // Well-formed: the reference's scenario 1, and more.
      {"scenario 1",
       "ACK;NUM,6:41:81:68:68;FAC," + md5 + ";",
       {s_ok(ack_message{}), s_ok(num_message{{6, 41, 81, 68, 68}}),
        s_ok(fac_message{digest_of(md5)})}},
      {"empty batch", "NUM,;", {s_ok(num_message{})}},
      {"uint32 max", "NUM,4294967295;", {s_ok(num_message{{u32_max}})}},
      {"leading zeros", "NUM,007:0;", {s_ok(num_message{{7, 0}})}},
      {"ERR with commas and spaces",
       "ERR,Client-id: x, y does not exist;",
       {s_ok(err_message{"Client-id: x, y does not exist"})}},
      {"ERR empty text", "ERR,;", {s_ok(err_message{""})}},
      {"separators between", "ACK;\r\n NUM,1;\n", {s_ok(ack_message{}), s_ok(num_message{{1}})}},

      {"empty frame", ";", {s_err(protocol_errc::empty_message)}},

      {"lower-case ack", "ack;", {s_err(protocol_errc::unknown_type)}},
      {"client type from a server", "FIN;", {s_err(protocol_errc::unknown_type)}},

      {"ACK with field", "ACK,;", {s_err(protocol_errc::wrong_field_count)}},
      {"NUM without list", "NUM;", {s_err(protocol_errc::wrong_field_count)}},
      {"NUM with two fields", "NUM,1,2;", {s_err(protocol_errc::wrong_field_count)}},
      {"FAC without checksum", "FAC;", {s_err(protocol_errc::wrong_field_count)}},
      {"FAC with two fields", "FAC," + md5 + ",x;", {s_err(protocol_errc::wrong_field_count)}},
      {"ERR without text", "ERR;", {s_err(protocol_errc::wrong_field_count)}},

      {"NUM empty element", "NUM,1::2;", {s_err(protocol_errc::invalid_number)}},
      {"NUM leading ':'", "NUM,:1;", {s_err(protocol_errc::invalid_number)}},
      {"NUM trailing ':'", "NUM,1:;", {s_err(protocol_errc::invalid_number)}},
      {"NUM only ':'", "NUM,:;", {s_err(protocol_errc::invalid_number)}},
      {"NUM sign", "NUM,1:-2;", {s_err(protocol_errc::invalid_number)}},
      {"NUM space", "NUM,1: 2;", {s_err(protocol_errc::invalid_number)}},
      {"NUM over uint32", "NUM,1:4294967296;", {s_err(protocol_errc::number_out_of_range)}},

      {"FAC upper case",
       "FAC,F90B20DAE8C9B7D7BE2A5FB7CC856E8B;",
       {s_err(protocol_errc::invalid_checksum)}},
      {"FAC 31 digits", "FAC," + md5.substr(1) + ";", {s_err(protocol_errc::invalid_checksum)}},
      {"FAC 33 digits", "FAC," + md5 + "0;", {s_err(protocol_errc::invalid_checksum)}},
      {"FAC non-hex",
       "FAC,g90b20dae8c9b7d7be2a5fb7cc856e8b;",
       {s_err(protocol_errc::invalid_checksum)}},
      {"FAC empty", "FAC,;", {s_err(protocol_errc::invalid_checksum)}},

      {"ERR with a NUL", "ERR,a\0b;"s, {s_err(protocol_errc::invalid_byte)}},
      {"ERR with UTF-8", "ERR,caf\xc3\xa9;", {s_err(protocol_errc::invalid_byte)}},

      {"overlong", "ERR," + std::string(1000, 'x') + ";", {s_err(protocol_errc::frame_too_long)}},
  };
  for (const auto& r : rows)
    check_row(r, &parse_server_message);
}

TEST_CASE("codec: protocol_category texts can be sent as an ERR reply") {
  CHECK(std::string_view(protocol_category().name()) == "numsequence.protocol");
  const std::error_code ec = protocol_errc::invalid_number;
  CHECK(ec.category() == protocol_category());
  CHECK(ec == protocol_errc::invalid_number);

  std::vector<std::string> seen;
  // 0 and 14 are not enumerators: they must still get a usable text.
  for (int value = 0; value <= static_cast<int>(last_protocol_errc) + 1; ++value) {
    const std::string text = protocol_category().message(value);
    INFO("value ", value, ": ", text);
    CHECK_FALSE(text.empty());
    CHECK(text.find(';') == std::string::npos);
    // Exactly what append_err would send, so nothing is rewritten on the way.
    CHECK(encode(server_message{err_message{text}}) == "ERR," + text + ";");
    if (value >= 1 && value <= static_cast<int>(last_protocol_errc)) {
      // Distinct texts, so a reader can tell the errors apart.
      for (const auto& other : seen)
        CHECK(other != text);
      seen.push_back(text);
    }
  }
  CHECK(seen.size() == 13);
  CHECK(protocol_category().message(1000) == protocol_category().message(0));
}

TEST_CASE("codec: an unknown sequence kind is refused with a text naming the accepted kinds") {
  CHECK(make_error_code(protocol_errc::unknown_sequence_kind).message() ==
        "unknown sequence kind (the kinds are random and fibonacci, in lower case)");
}

TEST_CASE("codec: kind names are exactly random and fibonacci, both ways") {
  CHECK(kind_name(sequence_kind::random) == "random");
  CHECK(kind_name(sequence_kind::fibonacci) == "fibonacci");
  CHECK(parse_kind_name("random") == sequence_kind::random);
  CHECK(parse_kind_name("fibonacci") == sequence_kind::fibonacci);
  for (std::string_view other : {"", "Random", "FIBONACCI", "fibonacci ", "fib", "normal"}) {
    CAPTURE(other);
    CHECK_FALSE(parse_kind_name(other).has_value());
  }
}
