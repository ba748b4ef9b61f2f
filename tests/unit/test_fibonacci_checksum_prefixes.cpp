// Saved checksum states: a list_checksum restored from a saved state goes on as the original
// would, the prefix table keeps states only in order, and stream answers of the first n give
// the same checksum with saved prefixes as without. Expected digests: Python's
// hashlib.md5(str(list)).

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci_checksum_prefixes.hpp"
#include "numsequence/websocket/stream_answer.hpp"

using namespace numsequence;

namespace {

// The done frame (the last) of an answer without an id.
std::string done_frame(std::uint64_t first, std::uint64_t count) {
  stream_answer a{std::nullopt, {first, count, first != 0}};
  std::string frame;
  std::string last;
  while (a.next_frame(frame))
    last = frame;
  return last;
}

std::string expected_done(std::uint64_t count, const char* md5) {
  return R"({"done":true,"count":)" + std::to_string(count) + R"(,"md5":")" + md5 + "\"}";
}

}  // namespace

TEST_CASE(
    "list_checksum: a state saved mid-list and restored elsewhere ends in the list's digest") {
  // md5(str(list(range(1, 301))))
  constexpr const char* expected = "a233a3256b1a65fdf545587d8eaa991c";
  for (const std::uint32_t cut : {1u, 150u, 299u, 300u}) {
    CAPTURE(cut);
    list_checksum first;
    for (std::uint32_t v = 1; v <= cut; ++v)
      first.add(v);
    const auto state = first.save();
    list_checksum second;
    second.add(77u);  // dropped by restore()
    second.restore(*state);
    for (std::uint32_t v = cut + 1; v <= 300; ++v)
      second.add(v);
    CHECK(to_hex(second.finish()) == expected);
    for (std::uint32_t v = cut + 1; v <= 300; ++v)  // the saved-from checksum goes on too
      first.add(v);
    CHECK(to_hex(first.finish()) == expected);
  }
}

TEST_CASE("list_checksum: a state saved before any number restores to the empty list") {
  list_checksum empty;
  const auto state = empty.save();
  list_checksum other;
  other.add(5u);
  other.restore(*state);
  CHECK(to_hex(other.finish()) == "d751713988987e9331980363e24189ce");  // md5("[]")
}

TEST_CASE("fibonacci_checksum_prefixes: states are kept only in order at multiples of spacing") {
  constexpr auto s = fibonacci_checksum_prefixes::spacing;
  fibonacci_checksum_prefixes table;
  list_checksum sum;
  CHECK(table.wants(s));
  CHECK_FALSE(table.wants(s - 1));
  CHECK_FALSE(table.wants(2 * s));
  CHECK_FALSE(table.at_most(10 * s).has_value());
  table.offer(2 * s, sum.save());  // out of order: ignored
  CHECK(table.size() == 0);
  table.offer(s, sum.save());
  CHECK(table.size() == 1);
  table.offer(s, sum.save());  // kept already: ignored
  CHECK(table.size() == 1);
  CHECK(table.wants(2 * s));
  CHECK_FALSE(table.at_most(s - 1).has_value());
  REQUIRE(table.at_most(s).has_value());
  CHECK(table.at_most(s)->count == s);
  CHECK(table.at_most(100 * s)->count == s);
}

TEST_CASE("stream_answer: the first n end with the same md5 before and after prefixes are saved") {
  // md5(str(first n Fibonacci numbers)), from Python; 1500 passes every state 1000 saved.
  const struct {
    std::uint64_t n;
    const char* md5;
  } rows[] = {
      {127, "20cbab07322924e09ce6e2e623f58a61"},  {128, "95d8be27631e4d4c2719b20727c79bb9"},
      {129, "dde1da97ee988ae738307490ee4c7471"},  {256, "5b64225304c1558656eba176f6943b12"},
      {1000, "b64b2bbc2244d405cd1c2a8b0b8718a7"}, {1500, "35e82e0ed2fd79f289c65134d118cb7e"}};
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& row : rows) {
      CAPTURE(pass);
      CAPTURE(row.n);
      CHECK(done_frame(0, row.n) == expected_done(row.n, row.md5));
    }
  }
  CHECK(fibonacci_checksum_prefixes::shared().size() >=
        1500 / fibonacci_checksum_prefixes::spacing);
}

TEST_CASE("stream_answer: a range hashes its own numbers whatever prefixes are saved") {
  done_frame(0, 1000);  // saves prefixes from F(0), which a range must not use
  // md5(str(F(5) .. F(300)))
  CHECK(done_frame(5, 296) == expected_done(296, "9443117d4a995fac139161e5f933a121"));
}
