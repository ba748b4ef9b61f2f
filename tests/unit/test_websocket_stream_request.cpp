// Stream requests: what is accepted, the id echoed as written, and each bad request refused
// with a message that names the field and quotes the value as the client wrote it.

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/websocket/json_text.hpp"
#include "numsequence/websocket/stream_request.hpp"

using namespace numsequence;

namespace {

constexpr std::uint64_t max_fib = 1000;

struct good_row {
  std::string request;
  stream_query query;
  std::optional<std::string> id;
};

struct bad_row {
  std::string request;
  std::string error;
};

void check_good(const std::vector<good_row>& rows) {
  for (const auto& r : rows) {
    CAPTURE(r.request);
    const auto got = parse_stream_request(r.request, max_fib);
    CHECK(got.error == "");
    CHECK(got.ok());
    CHECK(got.query == r.query);
    CHECK(got.id == r.id);
  }
}

void check_bad(const std::vector<bad_row>& rows) {
  for (const auto& r : rows) {
    CAPTURE(r.request);
    const auto got = parse_stream_request(r.request, max_fib);
    CHECK_FALSE(got.ok());
    CHECK(got.error == r.error);
  }
}

}  // namespace

TEST_CASE("websocket stream_request: n and from-to requests give their query") {
  check_good({
      {R"({"n":5})", {0, 5, false}, std::nullopt},
      {R"({"sequence":"fibonacci","n":5})", {0, 5, false}, std::nullopt},
      {R"({"n":0})", {0, 0, false}, std::nullopt},
      {R"({"n":1000})", {0, 1000, false}, std::nullopt},
      {R"({"from":3,"to":7})", {3, 5, true}, std::nullopt},
      {R"({"to":7,"from":3,"sequence":"fibonacci"})", {3, 5, true}, std::nullopt},
      {R"({"from":5,"to":5})", {5, 1, true}, std::nullopt},
      {R"({"from":0,"to":999})", {0, 1000, true}, std::nullopt},
      {" \r\n\t{ \"n\" :\n 5 } \n", {0, 5, false}, std::nullopt},
  });
}

TEST_CASE("websocket stream_request: unknown fields are ignored, however nested") {
  check_good({
      {R"({"n":5,"extra":{"a":[1,2,{"b":null}]},"more":"x"})", {0, 5, false}, std::nullopt},
      {R"({"verbose":true,"from":1,"to":2,"x":1.5e10})", {1, 2, true}, std::nullopt},
      // Nested members named like ours are not ours.
      {R"({"n":5,"inner":{"n":-1,"id":3,"n":"twice"}})", {0, 5, false}, std::nullopt},
  });
}

TEST_CASE("websocket stream_request: the id is echoed as compact JSON, numbers as written") {
  check_good({
      {R"({"id":7,"n":1})", {0, 1, false}, "7"},
      {R"({"id":"abc","n":1})", {0, 1, false}, R"("abc")"},
      {R"({"id":null,"n":1})", {0, 1, false}, "null"},
      {R"({"id":true,"n":1})", {0, 1, false}, "true"},
      {R"({"id":-0,"n":1})", {0, 1, false}, "-0"},
      {R"({"id":1.50,"n":1})", {0, 1, false}, "1.50"},
      {R"({"id":1E+3,"n":1})", {0, 1, false}, "1E+3"},
      {R"({"id":123456789012345678901234567890,"n":1})",
       {0, 1, false},
       "123456789012345678901234567890"},
      {R"({"n":1, "id" : [ 1 , { "a" : [ ] , "b" : { } } , "x\u0041" ] })",
       {0, 1, false},
       R"([1,{"a":[],"b":{}},"xA"])"},
      {R"({"id":{"k":{"k":{"k":[[[]]]}}},"n":1})", {0, 1, false}, R"({"k":{"k":{"k":[[[]]]}}})"},
      {R"({"id":"quote \" backslash \\ tab \t é","n":1})",
       {0, 1, false},
       R"("quote \" backslash \\ tab \t é")"},
  });
}

TEST_CASE("websocket stream_request: n must be a non-negative integer, quoted as written") {
  check_bad({
      {R"({"n":1.5})", "n must be a non-negative integer, got 1.5"},
      {R"({"n":1e3})", "n must be a non-negative integer, got 1e3"},
      {R"({"n":1E3})", "n must be a non-negative integer, got 1E3"},
      {R"({"n":5.0})", "n must be a non-negative integer, got 5.0"},
      {R"({"n":"5"})", R"(n must be a non-negative integer, got "5")"},
      {R"({"n":-1})", "n must be a non-negative integer, got -1"},
      {R"({"n":-0})", "n must be a non-negative integer, got -0"},
      {R"({"n":-99999999999999999999})",
       "n must be a non-negative integer, got -99999999999999999999"},
      {R"({"n":true})", "n must be a non-negative integer, got true"},
      {R"({"n":null})", "n must be a non-negative integer, got null"},
      {R"({"n":[5]})", "n must be a non-negative integer, got [5]"},
      {R"({"n":{"value":5}})", R"(n must be a non-negative integer, got {"value":5})"},
      {R"({"n":1e400})", "n must be a non-negative integer, got 1e400"},
      {R"({"from":-1,"to":5})", "from must be a non-negative integer, got -1"},
      {R"({"from":1,"to":2.5})", "to must be a non-negative integer, got 2.5"},
  });
}

TEST_CASE("websocket stream_request: n at most the limit, to below it, from not after to") {
  check_bad({
      {R"({"n":1001})", "n must be at most 1000 (the server's limit), got 1001"},
      {R"({"n":18446744073709551615})",
       "n must be at most 1000 (the server's limit), got 18446744073709551615"},
      {R"({"n":18446744073709551616})",
       "n must be at most 1000 (the server's limit), got 18446744073709551616"},
      {R"({"from":0,"to":1000})", "to must be below 1000 (the server's limit), got 1000"},
      {R"({"from":1000,"to":1000})", "from must be below 1000 (the server's limit), got 1000"},
      {R"({"from":7,"to":5})", "from must not be greater than to, got from 7 and to 5"},
  });
}

TEST_CASE("websocket stream_request: a number of any length is quoted by its head and size") {
  const std::string digits300 = "1" + std::string(299, '0');     // finite as a double
  const std::string digits100k = "9" + std::string(99999, '8');  // not even that
  check_bad({
      {R"({"n":)" + digits300 + "}", "n must be at most 1000 (the server's limit), got 1" +
                                         std::string(39, '0') + "... (300 characters)"},
      {R"({"n":)" + digits100k + "}", "n must be at most 1000 (the server's limit), got 9" +
                                          std::string(39, '8') + "... (100000 characters)"},
      {R"({"from":)" + digits100k + R"(,"to":5})",
       "from must be below 1000 (the server's limit), got 9" + std::string(39, '8') +
           "... (100000 characters)"},
      {R"({"n":"5)" + std::string(1000, 'x') + R"("})",
       R"(n must be a non-negative integer, got "5)" + std::string(38, 'x') +
           "... (1003 characters)"},
  });
}

TEST_CASE("websocket stream_request: a number too large to read keeps the id read before it") {
  auto r = parse_stream_request(R"({"id":"a","n":1e999,"to":"never read"})", max_fib);
  CHECK(r.id == std::optional<std::string>(R"("a")"));
  CHECK(r.error == "n must be a non-negative integer, got 1e999");
  r = parse_stream_request(R"({"id":1e999,"n":5})", max_fib);
  CHECK(r.id == std::optional<std::string>("1e999"));
  CHECK(r.error == "id is a number too large to read: 1e999");
  r = parse_stream_request(R"({"sequence":1e999,"n":5})", max_fib);
  CHECK(r.error == "sequence must be a string, got 1e999");
  // Inside an unknown field: the parser's own complaint.
  r = parse_stream_request(R"({"n":5,"x":[1e999]})", max_fib);
  CHECK(r.error.rfind("request is not valid JSON: number overflow parsing '1e999'", 0) == 0);
}

TEST_CASE("websocket stream_request: n with from or to, or neither, is refused") {
  check_bad({
      {R"({"n":5,"from":1,"to":2})", "give either n or from and to, not both"},
      {R"({"n":5,"to":2})", "give either n or from and to, not both"},
      {R"({"n":-1,"from":1})", "give either n or from and to, not both"},
      {R"({})", "missing field n (or from and to)"},
      {R"({"id":1,"sequence":"fibonacci"})", "missing field n (or from and to)"},
      {R"({"from":1})", "missing field to (from needs it)"},
      {R"({"to":1})", "missing field from (to needs it)"},
      {R"({"n":5,"n":6})", "field n given twice"},
      {R"({"id":1,"id":2,"n":6})", "field id given twice"},
  });
}

TEST_CASE("websocket stream_request: the sequence must be fibonacci") {
  check_bad({
      {R"({"sequence":"random","n":5})",
       R"(unknown sequence "random": this stream serves "fibonacci")"},
      {R"({"sequence":"Fibonacci","n":5})",
       R"(unknown sequence "Fibonacci": this stream serves "fibonacci")"},
      {R"({"sequence":"","n":5})", R"(unknown sequence "": this stream serves "fibonacci")"},
      {R"({"sequence":5,"n":5})", "sequence must be a string, got 5"},
      {R"({"sequence":null,"n":5})", "sequence must be a string, got null"},
      {R"({"sequence":["fibonacci"],"n":5})", R"(sequence must be a string, got ["fibonacci"])"},
  });
}

TEST_CASE("websocket stream_request: a bad request still echoes its id") {
  const auto r = parse_stream_request(R"({"id":{"q":9},"n":-1})", max_fib);
  CHECK(r.error == "n must be a non-negative integer, got -1");
  CHECK(r.id == std::optional<std::string>(R"({"q":9})"));
}

TEST_CASE("websocket stream_request: text that is not JSON gets the parser's message") {
  check_bad({
      {R"({"n":})",
       "request is not valid JSON: parse error at line 1, column 6: syntax error "
       "while parsing value - unexpected '}'; expected '[', '{', or a literal"},
      {"",
       "request is not valid JSON: parse error at line 1, column 1: syntax error while "
       "parsing value - unexpected end of input; expected '[', '{', or a literal"},
  });
  for (const std::string_view text :
       {R"({"n":5)", R"({"n":05})", R"({'n':5})", R"({"n":5}x)", R"({"n":5},{})", "nul",
        R"({"n":5,})", R"({"id":"\ud800","n":5})", "{\"n\":5,\"s\":\"\xff\"}"}) {
    CAPTURE(text);
    const auto r = parse_stream_request(text, max_fib);
    CHECK(r.error.rfind("request is not valid JSON: ", 0) == 0);
    CHECK_FALSE(r.id.has_value());
  }
}

TEST_CASE("websocket stream_request: a NUL byte anywhere is not JSON") {
  using namespace std::string_literals;
  check_bad({
      {"{\"n\":5}\0junk"s,
       "request is not valid JSON: NUL byte at position 8: JSON text cannot "
       "hold one"},
      {"{\"n\":5,\"s\":\"a\0\"}"s,
       "request is not valid JSON: NUL byte at position 14: JSON "
       "text cannot hold one"},
      {"\0"s, "request is not valid JSON: NUL byte at position 1: JSON text cannot hold one"},
  });
}

TEST_CASE("websocket stream_request: the parser's message is valid UTF-8 whatever the input") {
  // The parser quotes "\xc3", the first byte of "é", when the literal fails there.
  auto r = parse_stream_request("{\"n\":\xc3\xa9}", max_fib);
  CHECK(r.error.rfind("request is not valid JSON: ", 0) == 0);
  CHECK(r.error.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD in its place
  r = parse_stream_request("\x88\x80\xff", max_fib);
  CHECK(r.error.find("\x88") == std::string::npos);
  CHECK(r.error.find("\xff") == std::string::npos);
}

TEST_CASE("websocket stream_request: the parser's quote of a long bad token is cut short") {
  // An unterminated 10,000-character string: the parser's message would quote all of it.
  const std::string text = R"({"n":")" + std::string(10000, 'a');
  const auto r = parse_stream_request(text, max_fib);
  CHECK(r.error.rfind("request is not valid JSON: ", 0) == 0);
  CHECK(r.error.size() < 300);
  CHECK(r.error.find("(10001 characters)") != std::string::npos);
}

TEST_CASE("websocket stream_request: JSON that is not an object is refused, quoted") {
  check_bad({
      {"[1,2]", "request must be a JSON object, got [1,2]"},
      {R"("n")", R"(request must be a JSON object, got "n")"},
      {"5", "request must be a JSON object, got 5"},
      {"null", "request must be a JSON object, got null"},
      {"[" + std::string(100, '1') + "]",
       "request must be a JSON object, got [" + std::string(39, '1') + "... (102 characters)"},
  });
}

TEST_CASE("websocket stream_request: deep nesting is parsed without recursion") {
  const std::size_t depth = 100000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  auto r = parse_stream_request(R"({"n":3,"x":)" + deep + "}", max_fib);
  CHECK(r.ok());
  r = parse_stream_request(R"({"id":)" + deep + R"(,"n":3})", max_fib);
  CHECK(r.ok());
  REQUIRE(r.id.has_value());
  CHECK(*r.id == deep);
}

TEST_CASE("websocket json_text: members are read as written and strings written as JSON") {
  constexpr std::array<std::string_view, 2> names = {"a", "b"};
  const auto m = read_json_members(R"({"b":[1, 2.0],"c":3,"a":"x"})", names);
  CHECK(m.result == json_members::status::ok);
  REQUIRE(m.values.size() == 2);
  REQUIRE(m.values[0].has_value());
  CHECK(m.values[0]->what == json_value_text::kind::string);
  CHECK(m.values[0]->string == "x");
  CHECK(m.values[0]->text == R"("x")");
  REQUIRE(m.values[1].has_value());
  CHECK(m.values[1]->what == json_value_text::kind::array);
  CHECK(m.values[1]->text == "[1,2.0]");
  CHECK_FALSE(m.stopped_at.has_value());

  std::string out;
  append_json_string(out, "a\"b\\c\n\x01 \xc3\xa9");
  CHECK(out == R"("a\"b\\c\n\u0001 é")");
  out.clear();
  append_json_string(out, "bad \xff byte");
  CHECK(out == "\"bad \xef\xbf\xbd byte\"");  // U+FFFD
}
