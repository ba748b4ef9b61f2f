// The stream client's rules: typed lines good and bad, the requests sent, answer frames checked
// and printed, the resume index after a drop, and the md5 of each answer (values from Python:
// hashlib.md5(str(list).encode())).

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/client/stream_session.hpp"
#include "numsequence/sequence/fibonacci.hpp"

using namespace numsequence;
using line_kind = stream_line::kind;
using result = stream_session::frame_result;

namespace {

// F(first) ... F(first + count - 1) as a numbers frame of request `id`.
std::string numbers_frame(std::uint64_t id, std::uint64_t first, std::uint64_t count) {
  std::string f =
      "{\"id\":" + std::to_string(id) + ",\"from\":" + std::to_string(first) + ",\"numbers\":[";
  for (std::uint64_t k = first; k < first + count; ++k)
    f += (k == first ? "" : ",") + fibonacci_value(k);
  return f + "]}";
}

std::string done_frame(std::uint64_t id, std::uint64_t count, std::string_view md5) {
  return "{\"id\":" + std::to_string(id) + ",\"done\":true,\"count\":" + std::to_string(count) +
         ",\"md5\":\"" + std::string(md5) + "\"}";
}

// The lines printed for F(first) ... F(first + count - 1).
std::string lines(std::uint64_t first, std::uint64_t count) {
  std::string out;
  for (std::uint64_t k = first; k < first + count; ++k)
    out += fibonacci_value(k) + "\n";
  return out;
}

constexpr std::string_view md5_n5 = "cfed83aeea304f32a65cb64b4a1bf0a1";   // [0, 1, 1, 2, 3]
constexpr std::string_view md5_5_7 = "83d830f77868194f60ed83049f650fae";  // [5, 8, 13]
constexpr std::string_view md5_n10 = "352a3175a68fe92cfe03bc0c2f02c9d6";  // F(0) .. F(9)
constexpr std::string_view md5_5_9 = "8fd5c9497cdfe6ddcdd7eabf8f8947d8";  // F(5) .. F(9)
constexpr std::string_view md5_3_9 = "430f3d03048af51dcc8ed942ced2f7ce";  // F(3) .. F(9)
constexpr std::string_view md5_empty = "d751713988987e9331980363e24189ce";

}  // namespace

TEST_CASE("stream line: good lines are N or A B") {
  struct row {
    std::string_view line;
    line_kind what;
    std::uint64_t a, b;
  };
  const std::vector<row> rows = {
      {"10", line_kind::first_n, 10, 0},
      {"0", line_kind::first_n, 0, 0},
      {"  007\t", line_kind::first_n, 7, 0},
      {"10\r", line_kind::first_n, 10, 0},
      {"5 7", line_kind::range, 5, 7},
      {"\t5 \t 7 ", line_kind::range, 5, 7},
      {"3 3", line_kind::range, 3, 3},
      {"18446744073709551615", line_kind::first_n, 18446744073709551615u, 0},
      {"1 18446744073709551615", line_kind::range, 1, 18446744073709551615u},
      {"", line_kind::blank, 0, 0},
      {" \t \r", line_kind::blank, 0, 0},
  };
  for (const auto& row : rows) {
    CAPTURE(row.line);
    const auto l = parse_stream_line(row.line);
    CHECK(l.what == row.what);
    CHECK(l.a == row.a);
    CHECK(l.b == row.b);
    CHECK(l.error.empty());
  }
}

TEST_CASE("stream line: bad lines are invalid with a message naming the mistake") {
  struct row {
    std::string line;
    std::string_view message_part;
  };
  const std::vector<row> rows = {
      {"-5", "negative number \"-5\": indexes start at 0"},
      {"3 -1", "negative number \"-1\""},
      {"abc", "\"abc\" is not a whole number"},
      {"1.5", "\"1.5\" is not a whole number"},
      {"1e3", "\"1e3\" is not a whole number"},
      {"+5", "\"+5\" is not a whole number"},
      {"-", "\"-\" is not a whole number"},
      {"5,7", "\"5,7\" is not a whole number"},
      {"1 2 3", "expected one or two numbers, got 3 words: \"1 2 3\""},
      {"7 5", "A must not be greater than B, got 7 and 5"},
      {"18446744073709551616", "number too large: \"18446744073709551616\""},
      {"0 18446744073709551615", "range too large"},
      {std::string(201, '1'), "line too long (over 200 bytes)"},
      {"\x01\x02", "\"??\" is not a whole number"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.line);
    const auto l = parse_stream_line(row.line);
    CHECK(l.what == line_kind::invalid);
    CHECK_MESSAGE(l.error.find(row.message_part) != std::string::npos, l.error);
  }
}

TEST_CASE("stream session: a good line is a request, a bad one a message and no request") {
  stream_session s;
  CHECK_FALSE(s.on_line("abc"));
  CHECK_FALSE(s.answering());
  CHECK(s.message().find("not a whole number") != std::string::npos);
  CHECK_FALSE(s.on_line("  "));
  CHECK(s.message().empty());
  REQUIRE(s.on_line("10"));
  CHECK(s.answering());
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","n":10})");
}

TEST_CASE("stream session: N is answered, printed and summed up with the whole md5") {
  stream_session s;
  REQUIRE(s.on_line("5"));
  std::string out;
  CHECK(s.on_frame(numbers_frame(1, 0, 5), out) == result::more);
  CHECK(out == "0\n1\n1\n2\n3\n");
  CHECK(s.on_frame(done_frame(1, 5, md5_n5), out) == result::answered);
  CHECK(out == "0\n1\n1\n2\n3\ndone count=5 md5=" + std::string(md5_n5) + "\n");
  CHECK_FALSE(s.answering());
}

TEST_CASE("stream session: A B asks for a range and the next line gets the next id") {
  stream_session s;
  REQUIRE(s.on_line("5"));
  std::string out;
  s.on_frame(numbers_frame(1, 0, 5), out);
  REQUIRE(s.on_frame(done_frame(1, 5, md5_n5), out) == result::answered);
  out.clear();
  REQUIRE(s.on_line("5 7"));
  CHECK(s.request() == R"({"id":2,"sequence":"fibonacci","from":5,"to":7})");
  CHECK(s.on_frame(numbers_frame(2, 5, 2), out) == result::more);
  CHECK(s.on_frame(numbers_frame(2, 7, 1), out) == result::more);
  CHECK(s.on_frame(done_frame(2, 3, md5_5_7), out) == result::answered);
  CHECK(out == "5\n8\n13\ndone count=3 md5=" + std::string(md5_5_7) + "\n");
}

TEST_CASE("stream session: N = 0 is one empty frame and the md5 of the empty list") {
  stream_session s;
  REQUIRE(s.on_line("0"));
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","n":0})");
  std::string out;
  CHECK(s.on_frame(numbers_frame(1, 0, 0), out) == result::more);
  CHECK(s.on_frame(done_frame(1, 0, md5_empty), out) == result::answered);
  CHECK(out == "done count=0 md5=" + std::string(md5_empty) + "\n");
}

TEST_CASE("stream session: big numbers are printed exactly and hashed as Python does") {
  stream_session s;
  REQUIRE(s.on_line("1500 1502"));
  std::string out;
  CHECK(s.on_frame(numbers_frame(1, 1500, 3), out) == result::more);
  // md5(str([F(1500), F(1501), F(1502)])) in Python; F(1500) has 314 digits.
  CHECK(s.on_frame(done_frame(1, 3, "eeb22e3ea8da6b96170454d21e3d6ddd"), out) == result::answered);
  CHECK(out == lines(1500, 3) + "done count=3 md5=eeb22e3ea8da6b96170454d21e3d6ddd\n");
}

TEST_CASE("stream session: after a drop it asks from the next index and prints each number once") {
  stream_session s;
  REQUIRE(s.on_line("10"));
  std::string out;
  REQUIRE(s.on_frame(numbers_frame(1, 0, 5), out) == result::more);
  CHECK(s.on_connection_lost(out));
  CHECK(s.answering());
  CHECK(s.next_index() == 5);
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","from":5,"to":9})");
  // The resumed part's done frame counts and hashes that part only.
  CHECK(s.on_frame(numbers_frame(1, 5, 5), out) == result::more);
  CHECK(s.on_frame(done_frame(1, 5, md5_5_9), out) == result::answered);
  CHECK(out == lines(0, 10) + "done count=10 md5=" + std::string(md5_n10) + "\n");
}

TEST_CASE("stream session: drops before any number ask for the same request again") {
  stream_session s;
  REQUIRE(s.on_line("10"));
  std::string out;
  CHECK(s.on_connection_lost(out));
  CHECK(s.on_connection_lost(out));
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","n":10})");
}

TEST_CASE("stream session: a line during an answer is not taken") {
  stream_session s;
  REQUIRE(s.on_line("10"));
  CHECK_FALSE(s.on_line("5 7"));
  CHECK(s.message().find("in progress") != std::string::npos);
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","n":10})");
}

TEST_CASE("stream session: several drops in a range resume each time at the next index") {
  stream_session s;
  REQUIRE(s.on_line("3 9"));
  std::string out;
  REQUIRE(s.on_frame(numbers_frame(1, 3, 2), out) == result::more);
  REQUIRE(s.on_connection_lost(out));
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","from":5,"to":9})");
  REQUIRE(s.on_frame(numbers_frame(1, 5, 1), out) == result::more);
  REQUIRE(s.on_connection_lost(out));
  CHECK(s.request() == R"({"id":1,"sequence":"fibonacci","from":6,"to":9})");
  REQUIRE(s.on_frame(numbers_frame(1, 6, 4), out) == result::more);
  // md5 of F(6) .. F(9) = [8, 13, 21, 34], the last part only.
  CHECK(s.on_frame(done_frame(1, 4, "4813d64ace7dc2b47fe3d73a975d679d"), out) == result::answered);
  CHECK(out == lines(3, 7) + "done count=7 md5=" + std::string(md5_3_9) + "\n");
}

TEST_CASE("stream session: a drop after the last number completes the answer with a note") {
  stream_session s;
  REQUIRE(s.on_line("5"));
  std::string out;
  REQUIRE(s.on_frame(numbers_frame(1, 0, 5), out) == result::more);
  CHECK_FALSE(s.on_connection_lost(out));
  CHECK_FALSE(s.answering());
  CHECK(out == lines(0, 5) + "done count=5 md5=" + std::string(md5_n5) + "\n");
  CHECK(s.message().find("not checked") != std::string::npos);
}

TEST_CASE("stream session: the server's error frame is a refusal and the session goes on") {
  stream_session s;
  REQUIRE(s.on_line("30000"));
  std::string out;
  CHECK(s.on_frame(R"({"id":1,"error":"n must be at most 25000 (the server's limit), got 30000"})",
                   out) == result::refused);
  CHECK(out.empty());
  CHECK(s.message() ==
        "the server refused the request: n must be at most 25000 (the server's limit), got 30000");
  CHECK_FALSE(s.answering());
  REQUIRE(s.on_line("5"));
  CHECK(s.request() == R"({"id":2,"sequence":"fibonacci","n":5})");
}

TEST_CASE("stream session: an error frame after numbers were printed fails the answer") {
  stream_session s;
  REQUIRE(s.on_line("10"));
  std::string out;
  REQUIRE(s.on_frame(numbers_frame(1, 0, 5), out) == result::more);
  REQUIRE(s.on_connection_lost(out));
  CHECK(s.on_frame(R"({"id":1,"error":"to must be below 8"})", out) == result::failed);
  CHECK(s.message().find("stopped the answer after 5 numbers") != std::string::npos);
}

TEST_CASE("stream session: a wrong md5 or count fails the answer") {
  struct row {
    std::string done;
    std::string_view message_part;
  };
  const std::vector<row> rows = {
      {done_frame(1, 5, "00000000000000000000000000000000"),
       "checksum mismatch: the server's md5 of the numbers from F(0) is "
       "00000000000000000000000000000000, the numbers received give "
       "cfed83aeea304f32a65cb64b4a1bf0a1"},
      {done_frame(1, 4, md5_n5), "counts 4 numbers"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.done);
    stream_session s;
    REQUIRE(s.on_line("5"));
    std::string out;
    REQUIRE(s.on_frame(numbers_frame(1, 0, 5), out) == result::more);
    CHECK(s.on_frame(row.done, out) == result::failed);
    CHECK_MESSAGE(s.message().find(row.message_part) != std::string::npos, s.message());
    CHECK(out.find("done") == std::string::npos);
  }
}

TEST_CASE("stream session: frames that do not follow the answer fail it") {
  struct row {
    std::string frame;
    std::string_view message_part;
  };
  const std::vector<row> rows = {
      {numbers_frame(2, 0, 5), "for another request (id 2, expected 1)"},
      {R"({"from":0,"numbers":[0]})", "(id missing, expected 1)"},
      {numbers_frame(1, 1, 4), "a numbers frame from F(1), expected F(0)"},
      {numbers_frame(1, 0, 6), "6 numbers where 5 were left to come"},
      {numbers_frame(1, 0, 0), "a numbers frame without numbers"},
      {done_frame(1, 5, md5_n5), "counts 5 numbers from F(0); 0 of the 5 asked for came"},
      {"not json", "unreadable answer frame (not valid JSON"},
      {R"({"id":1,"from":0,"numbers":[1.5]})", "unreadable answer frame (numbers must hold"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.frame);
    stream_session s;
    REQUIRE(s.on_line("5"));
    std::string out;
    CHECK(s.on_frame(row.frame, out) == result::failed);
    CHECK_MESSAGE(s.message().find(row.message_part) != std::string::npos, s.message());
    CHECK_FALSE(s.answering());
  }
}

TEST_CASE("stream session: a frame while no answer was asked for fails") {
  stream_session s;
  std::string out;
  CHECK(s.on_frame(numbers_frame(1, 0, 1), out) == result::failed);
  CHECK(out.empty());
}

TEST_CASE("stream session: a failed answer leaves nothing behind for the next line") {
  stream_session s;
  REQUIRE(s.on_line("5"));
  std::string out;
  REQUIRE(s.on_frame(numbers_frame(1, 0, 3), out) == result::more);
  REQUIRE(s.on_frame(numbers_frame(1, 0, 1), out) == result::failed);
  out.clear();
  REQUIRE(s.on_line("5"));
  REQUIRE(s.on_frame(numbers_frame(2, 0, 5), out) == result::more);
  CHECK(s.on_frame(done_frame(2, 5, md5_n5), out) == result::answered);
  CHECK(out == lines(0, 5) + "done count=5 md5=" + std::string(md5_n5) + "\n");
}
