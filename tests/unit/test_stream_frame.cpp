// Reading the stream's answer frames: the three kinds, numbers of any size kept digit for digit,
// and every malformed frame refused with its reason.

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "numsequence/client/stream_frame.hpp"

using namespace numsequence;
using kind = stream_frame::kind;

TEST_CASE("stream frame: a numbers frame gives its id, start and numbers as lines") {
  const auto f = read_stream_frame(R"({"id":7,"from":5,"numbers":[5,8,13]})");
  REQUIRE(f.what == kind::numbers);
  CHECK(f.id == std::optional<std::string>("7"));
  CHECK(f.from == 5);
  CHECK(f.numbers == "5\n8\n13\n");
  CHECK(f.number_count == 3);
}

TEST_CASE("stream frame: numbers far past a double are kept digit for digit") {
  // 6,000 digits: nlohmann-json and RapidJSON stop at about 1.8e308 (309 digits).
  std::string big;
  for (int i = 0; i < 600; ++i)
    big += "1234567890";
  const auto f = read_stream_frame(R"({"from":24999,"numbers":[)" + big + "," + big + "]}");
  REQUIRE(f.what == kind::numbers);
  CHECK_FALSE(f.id.has_value());
  CHECK(f.from == 24999);
  CHECK(f.numbers == big + "\n" + big + "\n");
  CHECK(f.number_count == 2);
}

TEST_CASE("stream frame: an empty numbers list is read as no numbers") {
  const auto f = read_stream_frame(R"({"id":1,"from":0,"numbers":[]})");
  REQUIRE(f.what == kind::numbers);
  CHECK(f.numbers.empty());
  CHECK(f.number_count == 0);
}

TEST_CASE("stream frame: a done frame gives its count and md5") {
  const auto f = read_stream_frame(
      R"({"id":1,"done":true,"count":5,"md5":"cfed83aeea304f32a65cb64b4a1bf0a1"})");
  REQUIRE(f.what == kind::done);
  CHECK(f.id == std::optional<std::string>("1"));
  CHECK(f.count == 5);
  CHECK(f.md5 == "cfed83aeea304f32a65cb64b4a1bf0a1");
}

TEST_CASE("stream frame: an error frame gives the server's message decoded") {
  const auto f = read_stream_frame(
      R"({"id":3,"error":"n must be at most 25000 (the server's limit), got \"30000\" \u00e9"})");
  REQUIRE(f.what == kind::error);
  CHECK(f.id == std::optional<std::string>("3"));
  CHECK(f.message == "n must be at most 25000 (the server's limit), got \"30000\" \xc3\xa9");
}

TEST_CASE("stream frame: other ids are kept as text that no numeric id equals") {
  CHECK(read_stream_frame(R"({"id":"7","error":"x"})").id == std::optional<std::string>("\"7\""));
  CHECK(read_stream_frame(R"({"id":7.0,"error":"x"})").id == std::optional<std::string>("7.0"));
  CHECK(read_stream_frame(R"({"id":[7],"error":"x"})").id == std::optional<std::string>("[...]"));
  CHECK(read_stream_frame(R"({"id":{"a":7},"error":"x"})").id ==
        std::optional<std::string>("{...}"));
}

TEST_CASE("stream frame: members it does not know are ignored, whatever they hold") {
  const auto f =
      read_stream_frame(R"({"x":[1,{"numbers":2}],"id":1,"from":0,"numbers":[0],"y":null})");
  REQUIRE(f.what == kind::numbers);
  CHECK(f.numbers == "0\n");
}

TEST_CASE("stream frame: malformed frames are invalid with the reason") {
  struct row {
    std::string text;
    std::string_view reason_part;
  };
  const std::vector<row> rows = {
      {"", "not valid JSON"},
      {"{\"id\":1,", "not valid JSON"},
      {"{\"from\":01,\"numbers\":[]}", "not valid JSON"},
      {"{\"from\":0,\"numbers\":[1]} x", "not valid JSON"},
      {"{\"error\":\"\xff\"}", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {"5", "not a JSON object"},
      {"{}", "not an answer frame"},
      {"{\"id\":1}", "not an answer frame"},
      {R"({"numbers":[1]})", "without \"from\""},
      {R"({"from":0,"numbers":[1],"done":true})", "not several"},
      {R"({"from":0,"from":1,"numbers":[1]})", "member \"from\" given twice"},
      {R"({"from":-1,"numbers":[1]})", "from must be an integer"},
      {R"({"from":1.5,"numbers":[1]})", "from must be an integer"},
      {R"({"from":"1","numbers":[1]})", "from must be an integer"},
      {R"({"from":18446744073709551616,"numbers":[1]})", "from must be an integer"},
      {R"({"from":0,"numbers":[1,-2]})", "non-negative integers only, got -2"},
      {R"({"from":0,"numbers":[1e3]})", "non-negative integers only, got 1e3"},
      {R"({"from":0,"numbers":[1.0]})", "non-negative integers only, got 1.0"},
      {R"({"from":0,"numbers":["1"]})", "non-negative integers only"},
      {R"({"from":0,"numbers":[null]})", "non-negative integers only"},
      {R"({"from":0,"numbers":[[1]]})", "nested value"},
      {R"({"from":0,"numbers":5})", "numbers must be an array"},
      {R"({"from":0,"numbers":{}})", "numbers must not be an object"},
      {R"({"done":true,"md5":"cfed83aeea304f32a65cb64b4a1bf0a1"})", "without \"count\""},
      {R"({"done":true,"count":5})", "without \"md5\""},
      {R"({"done":false,"count":5,"md5":"cfed83aeea304f32a65cb64b4a1bf0a1"})", "done must be true"},
      {R"({"done":"true","count":5,"md5":"cfed83aeea304f32a65cb64b4a1bf0a1"})",
       "done must be true"},
      {R"({"done":true,"count":5,"md5":"CFED83AEEA304F32A65CB64B4A1BF0A1"})", "md5 must be 32"},
      {R"({"done":true,"count":5,"md5":"cfed"})", "md5 must be 32"},
      {R"({"error":5})", "error must be a string"},
      {R"({"error":["x"]})", "error must not be an array"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    const auto f = read_stream_frame(row.text);
    CHECK(f.what == kind::invalid);
    CHECK_MESSAGE(f.message.find(row.reason_part) != std::string::npos, f.message);
  }
}

TEST_CASE("stream frame: deep nesting in an ignored member is read without recursion") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const auto f = read_stream_frame(R"({"x":)" + deep + R"(,"error":"e"})");
  CHECK(f.what == kind::error);
}
