// Stream answers: the frames' exact text, the byte budget (numbers never split), and the
// checksum, against values computed in Python (md5 of str(list)).

#include <doctest/doctest.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/websocket/stream_answer.hpp"

using namespace numsequence;

namespace {

std::vector<std::string> all_frames(stream_answer& a) {
  std::vector<std::string> frames;
  std::string frame;
  while (a.next_frame(frame))
    frames.push_back(frame);
  return frames;
}

struct split_frame {
  std::uint64_t from = 0;
  std::vector<std::string> numbers;
};

// Takes a numbers frame apart by its fixed layout: prefix, "from":K, "numbers":[a,b,…]}.
split_frame split(std::string_view frame, std::string_view prefix) {
  split_frame f;
  REQUIRE(frame.substr(0, prefix.size()) == prefix);
  frame.remove_prefix(prefix.size());
  REQUIRE(frame.substr(0, 7) == "\"from\":");
  frame.remove_prefix(7);
  const auto [end, ec] = std::from_chars(frame.data(), frame.data() + frame.size(), f.from);
  REQUIRE(ec == std::errc{});
  frame.remove_prefix(static_cast<std::size_t>(end - frame.data()));
  REQUIRE(frame.substr(0, 12) == ",\"numbers\":[");
  frame.remove_prefix(12);
  REQUIRE(frame.size() >= 2);
  REQUIRE(frame.substr(frame.size() - 2) == "]}");
  frame.remove_suffix(2);
  while (!frame.empty()) {
    const auto comma = frame.find(',');
    f.numbers.emplace_back(frame.substr(0, comma));
    if (comma == std::string_view::npos)
      break;
    frame.remove_prefix(comma + 1);
  }
  return f;
}

// Every frame of an answer checked against the layout and the budget; the numbers by the md5
// (Python's, over all of them) and by GMP's value at both ends.
void check_answer(std::optional<std::string> id, stream_query q, std::size_t budget,
                  std::string_view md5) {
  const std::string prefix = id ? "{\"id\":" + *id + "," : "{";
  stream_answer a(id, q, budget);
  const auto frames = all_frames(a);
  REQUIRE(frames.size() >= 2);
  std::vector<split_frame> split_frames;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i)
    split_frames.push_back(split(frames[i], prefix));
  std::uint64_t next = q.first;
  for (std::size_t i = 0; i < split_frames.size(); ++i) {
    const auto& f = split_frames[i];
    CHECK(f.from == next);
    REQUIRE_FALSE(f.numbers.empty());
    next += f.numbers.size();
    // Within budget, unless one number alone passes it.
    CHECK((frames[i].size() <= budget || f.numbers.size() == 1));
    // As full as the budget allows: the next frame's first number would not have fitted.
    if (i + 1 < split_frames.size())
      CHECK(frames[i].size() + 1 + split_frames[i + 1].numbers.front().size() > budget);
  }
  CHECK(next == q.first + q.count);
  CHECK(split_frames.front().numbers.front() == fibonacci_value(q.first));
  CHECK(split_frames.back().numbers.back() == fibonacci_value(q.first + q.count - 1));
  CHECK(frames.back() == prefix + "\"done\":true,\"count\":" + std::to_string(q.count) +
                             ",\"md5\":\"" + std::string(md5) + "\"}");
  CHECK(a.done());
  CHECK(a.sent() == q.count);
}

}  // namespace

TEST_CASE("websocket stream_answer: the first five with an id, frame by frame") {
  stream_answer a("7", {0, 5, false});
  std::string frame = "left over";
  CHECK_FALSE(a.done());
  REQUIRE(a.next_frame(frame));
  CHECK(frame == R"({"id":7,"from":0,"numbers":[0,1,1,2,3]})");
  CHECK(a.sent() == 5);
  CHECK_FALSE(a.done());
  REQUIRE(a.next_frame(frame));
  // Python: hashlib.md5(b"[0, 1, 1, 2, 3]").hexdigest()
  CHECK(frame == R"({"id":7,"done":true,"count":5,"md5":"cfed83aeea304f32a65cb64b4a1bf0a1"})");
  CHECK(a.done());
  CHECK_FALSE(a.next_frame(frame));
  CHECK(frame.empty());
}

TEST_CASE("websocket stream_answer: no id, no id member") {
  stream_answer a(std::nullopt, {3, 5, true});
  CHECK(all_frames(a) == std::vector<std::string>{
                             R"({"from":3,"numbers":[2,3,5,8,13]})",
                             R"({"done":true,"count":5,"md5":"e70af163f12afaf0668157a1e7816491"})",
                         });
}

TEST_CASE("websocket stream_answer: n = 0 is one empty frame and the md5 of []") {
  stream_answer a(R"("zero")", {0, 0, false});
  CHECK(all_frames(a) ==
        std::vector<std::string>{
            R"({"id":"zero","from":0,"numbers":[]})",
            R"({"id":"zero","done":true,"count":0,"md5":"d751713988987e9331980363e24189ce"})",
        });
}

TEST_CASE("websocket stream_answer: any JSON id is written as given, in every frame") {
  stream_answer a(R"({"a":[1,null]})", {0, 1, false});
  CHECK(
      all_frames(a) ==
      std::vector<std::string>{
          R"({"id":{"a":[1,null]},"from":0,"numbers":[0]})",
          R"({"id":{"a":[1,null]},"done":true,"count":1,"md5":"8d5162ca104fa7e79fe80fd92bb657fb"})",
      });
}

TEST_CASE("websocket stream_answer: frames fill up to the budget and never split a number") {
  // md5 of str(list) of F(0) .. F(999), from Python.
  for (const std::size_t budget : {64U, 100U, 1000U, 1024U, 4096U, 16384U, 1000000U}) {
    CAPTURE(budget);
    check_answer(std::nullopt, {0, 1000, false}, budget, "b64b2bbc2244d405cd1c2a8b0b8718a7");
    check_answer("12345", {0, 1000, false}, budget, "b64b2bbc2244d405cd1c2a8b0b8718a7");
  }
}

TEST_CASE("websocket stream_answer: numbers larger than the budget go alone, one per frame") {
  // F(900) .. F(905) have 188 and 189 digits: each alone in a 100-byte budget.
  stream_answer a(std::nullopt, {900, 6, true}, 100);
  const auto frames = all_frames(a);
  REQUIRE(frames.size() == 7);
  for (std::size_t i = 0; i < 6; ++i) {
    const auto f = split(frames[i], "{");
    CHECK(f.from == 900 + i);
    REQUIRE(f.numbers.size() == 1);
    CHECK(f.numbers[0] == fibonacci_value(900 + i));
  }
  CHECK(frames[6] == R"({"done":true,"count":6,"md5":"6d4da2ff99e5e1089307f5b87f0d8d82"})");
}

TEST_CASE("websocket stream_answer: a frame exactly at the budget takes the number") {
  // {"from":0,"numbers":[0,1,1,2,3]} is 32 bytes: a budget of 32 holds all five, 31 only four.
  stream_answer exact(std::nullopt, {0, 5, false}, 32);
  std::string frame;
  REQUIRE(exact.next_frame(frame));
  CHECK(frame == R"({"from":0,"numbers":[0,1,1,2,3]})");
  stream_answer short_by_one(std::nullopt, {0, 5, false}, 31);
  REQUIRE(short_by_one.next_frame(frame));
  CHECK(frame == R"({"from":0,"numbers":[0,1,1,2]})");
  REQUIRE(short_by_one.next_frame(frame));
  CHECK(frame == R"({"from":4,"numbers":[3]})");
}

TEST_CASE("websocket stream_answer: the largest default answer, frame by frame") {
  // n = 25,000 (the default --max-fibonacci) in 16 KiB frames; md5 from Python.
  check_answer("1", {0, default_max_fibonacci, false}, default_frame_budget,
               "ce7639f1240a778e42b4e67a04927192");
  check_answer(std::nullopt, {24990, 10, true}, default_frame_budget,
               "474ba912c494409fcbe4c5d4221b69d4");
}

TEST_CASE("websocket stream_answer: an answer can be moved between frames") {
  stream_answer a(std::nullopt, {0, 5, false}, 28);
  std::string frame;
  REQUIRE(a.next_frame(frame));
  CHECK(frame == R"({"from":0,"numbers":[0,1,1]})");
  stream_answer b = std::move(a);
  REQUIRE(b.next_frame(frame));
  CHECK(frame == R"({"from":3,"numbers":[2,3]})");
  REQUIRE(b.next_frame(frame));
  CHECK(frame == R"({"done":true,"count":5,"md5":"cfed83aeea304f32a65cb64b4a1bf0a1"})");
}

TEST_CASE("websocket stream_answer: error frames carry the id and the message as JSON") {
  CHECK(stream_error_frame("7", "n must be a non-negative integer, got -1") ==
        R"({"id":7,"error":"n must be a non-negative integer, got -1"})");
  CHECK(stream_error_frame(std::nullopt, "request is not valid JSON: x") ==
        R"({"error":"request is not valid JSON: x"})");
  CHECK(stream_error_frame(R"("q")", "got \"5\"\n\\") == R"({"id":"q","error":"got \"5\"\n\\"})");
}
