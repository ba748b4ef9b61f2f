// Unit tests for python_random: CPython's MT19937, seeding and randint(0, 100).
//
// Expected values come from CPython 3.11; each block names the command that
// printed them. getrandbits(32) is genrand_uint32() in CPython.

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "numsequence/sequence/python_random.hpp"

using numsequence::python_random;

namespace {

template <std::size_t N>
void check_next(python_random& r, const std::array<std::uint32_t, N>& expected) {
  for (std::size_t i = 0; i < N; ++i) {
    CAPTURE(i);
    CHECK(r.next_uint32() == expected[i]);
  }
}

// Draws 0..699, checking the first four, 623..625 (across the first twist) and 699.
struct string_seed_case {
  std::string_view text;
  std::array<std::uint32_t, 4> first;
  std::array<std::uint32_t, 3> after_twist;  // draws 623, 624, 625
  std::uint32_t draw_699;
};

}  // namespace

TEST_CASE("python_random: init_by_array matches the MT19937 reference output") {
  // mt19937ar.out, Matsumoto & Nishimura: init_by_array({0x123, 0x234, 0x345, 0x456}).
  // CPython agrees: python3 -c 'import random;
  //   r=random.Random(0x456<<96|0x345<<64|0x234<<32|0x123); print([r.getrandbits(32) for _ in
  //   range(5)])'
  constexpr std::array<std::uint32_t, 4> key = {0x123, 0x234, 0x345, 0x456};
  python_random r{std::span<const std::uint32_t>(key)};
  check_next(r, std::array<std::uint32_t, 5>{1067595299U, 955945823U, 477289528U, 4107218783U,
                                             4228976476U});
}

TEST_CASE("python_random: an empty key seeds like CPython's random.seed(0), key {0}") {
  // python3 -c 'import random; r=random.Random(0); print([r.getrandbits(32) for _ in range(3)])'
  constexpr std::array<std::uint32_t, 3> expected = {3626764237U, 1654615998U, 3255389356U};
  constexpr std::array<std::uint32_t, 1> zero = {0};
  python_random from_zero{std::span<const std::uint32_t>(zero)};
  python_random from_empty{std::span<const std::uint32_t>()};
  check_next(from_zero, expected);
  check_next(from_empty, expected);
}

TEST_CASE("python_random: seeding with a str matches CPython random.seed(str), version 2") {
  // python3 -c 'import random
  // for s in ["abc", "", "é", "123e4567-e89b-12d3-a456-426614174000"]:
  //   r=random.Random(s); v=[r.getrandbits(32) for _ in range(700)]; print(v[:4], v[623:626],
  //   v[699])'
  // The key lengths differ (17, 16, 17 and 25 words): whole and partial top words.
  const std::array<string_seed_case, 4> cases = {{
      {"abc",
       {3315820543U, 4246262336U, 2397318194U, 1976556168U},
       {1097030571U, 1206929844U, 1228285117U},
       370389248U},
      {"",
       {4124137760U, 1951988028U, 2557274880U, 888572032U},
       {1170448423U, 3353959571U, 1911786301U},
       3895838982U},
      {"\xc3\xa9",  // "é": CPython seeds with the UTF-8 bytes
       {4161502405U, 4038814526U, 1787138474U, 403459089U},
       {3232499547U, 1202111594U, 1101487074U},
       4035771265U},
      {"123e4567-e89b-12d3-a456-426614174000",
       {228914544U, 1386176656U, 2723654782U, 2299247307U},
       {4124061985U, 172326328U, 1981164738U},
       3730184267U},
  }};
  for (const auto& c : cases) {
    CAPTURE(c.text);
    python_random r{c.text};
    std::array<std::uint32_t, 700> draws{};
    for (auto& d : draws)
      d = r.next_uint32();
    CHECK(draws[0] == c.first[0]);
    CHECK(draws[1] == c.first[1]);
    CHECK(draws[2] == c.first[2]);
    CHECK(draws[3] == c.first[3]);
    CHECK(draws[623] == c.after_twist[0]);
    CHECK(draws[624] == c.after_twist[1]);
    CHECK(draws[625] == c.after_twist[2]);
    CHECK(draws[699] == c.draw_699);
  }
}

TEST_CASE("python_random: leading zero bytes of the seed do not become key words") {
  // b"\0\0\0\0\0x" + sha512 is 70 bytes, but the integer has 65 significant bytes,
  // so CPython's key has 17 words, not 18.
  // python3 -c 'import random; r=random.Random("\x00\x00\x00\x00\x00x");
  //   print([r.getrandbits(32) for _ in range(4)])'
  python_random r{std::string_view("\0\0\0\0\0x", 6)};
  check_next(r, std::array<std::uint32_t, 4>{999117161U, 842572625U, 4134545805U, 2683140876U});
}

TEST_CASE("python_random: randint_0_100 matches CPython random.randint(0, 100)") {
  // python3 -c 'import random; random.seed("123e4567-e89b-12d3-a456-426614174000");
  //   print([random.randint(0,100) for _ in range(10)])'
  python_random r{"123e4567-e89b-12d3-a456-426614174000"};
  constexpr std::array<std::uint32_t, 10> expected = {6, 41, 81, 68, 68, 41, 10, 40, 78, 98};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(r.randint_0_100() == expected[i]);
  }
}

TEST_CASE("python_random: randint_0_100 takes the top 7 bits and rejects values above 100") {
  python_random r{"rejection"};
  python_random raw = r;  // same state, sampled by hand
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::uint32_t expected = raw.next_uint32() >> 25;
    while (expected >= 101) {
      ++rejected;
      expected = raw.next_uint32() >> 25;
    }
    const std::uint32_t got = r.randint_0_100();
    REQUIRE(got == expected);
    REQUIRE(got <= 100);
  }
  // 27 of 128 draws are rejected on average: the loop above must have met some.
  CHECK(rejected > 100);
}
