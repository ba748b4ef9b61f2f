// Fibonacci tests: exact values (GMP), the decimal cursor, its checksum and sum. Every expected
// value was computed by CPython (iterative a, b = b, a + b; str(); hashlib.md5).

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci.hpp"

using namespace numsequence;

namespace {

// F(0) .. F(100), printed by Python.
constexpr std::array<std::string_view, 101> python_table = {
    "0",
    "1",
    "1",
    "2",
    "3",
    "5",
    "8",
    "13",
    "21",
    "34",
    "55",
    "89",
    "144",
    "233",
    "377",
    "610",
    "987",
    "1597",
    "2584",
    "4181",
    "6765",
    "10946",
    "17711",
    "28657",
    "46368",
    "75025",
    "121393",
    "196418",
    "317811",
    "514229",
    "832040",
    "1346269",
    "2178309",
    "3524578",
    "5702887",
    "9227465",
    "14930352",
    "24157817",
    "39088169",
    "63245986",
    "102334155",
    "165580141",
    "267914296",
    "433494437",
    "701408733",
    "1134903170",
    "1836311903",
    "2971215073",
    "4807526976",
    "7778742049",
    "12586269025",
    "20365011074",
    "32951280099",
    "53316291173",
    "86267571272",
    "139583862445",
    "225851433717",
    "365435296162",
    "591286729879",
    "956722026041",
    "1548008755920",
    "2504730781961",
    "4052739537881",
    "6557470319842",
    "10610209857723",
    "17167680177565",
    "27777890035288",
    "44945570212853",
    "72723460248141",
    "117669030460994",
    "190392490709135",
    "308061521170129",
    "498454011879264",
    "806515533049393",
    "1304969544928657",
    "2111485077978050",
    "3416454622906707",
    "5527939700884757",
    "8944394323791464",
    "14472334024676221",
    "23416728348467685",
    "37889062373143906",
    "61305790721611591",
    "99194853094755497",
    "160500643816367088",
    "259695496911122585",
    "420196140727489673",
    "679891637638612258",
    "1100087778366101931",
    "1779979416004714189",
    "2880067194370816120",
    "4660046610375530309",
    "7540113804746346429",
    "12200160415121876738",
    "19740274219868223167",
    "31940434634990099905",
    "51680708854858323072",
    "83621143489848422977",
    "135301852344706746049",
    "218922995834555169026",
    "354224848179261915075",
};

// An independent MD5 of a whole text.
std::string md5_of(std::string_view text) {
  md5_digest d{};
  unsigned int size = 0;
  REQUIRE(EVP_Digest(text.data(), text.size(), d.data(), &size, EVP_md5(), nullptr) == 1);
  return to_hex(d);
}

std::string next_of(fibonacci_cursor& c) {
  std::string s;
  c.append_next(s);
  return s;
}

constexpr std::size_t no_budget = std::numeric_limits<std::size_t>::max();

}  // namespace

TEST_CASE("fibonacci: F(0) to F(100) match Python's table") {
  for (std::uint64_t k = 0; k < python_table.size(); ++k) {
    CAPTURE(k);
    CHECK(fibonacci_value(k) == python_table[k]);
  }
}

TEST_CASE("fibonacci: F(50) and F(999) are the spec's values") {
  CHECK(fibonacci_value(50) == "12586269025");
  const std::string f999 = fibonacci_value(999);
  CHECK(f999.size() == 209);
  CHECK(f999.ends_with("34151172899169723197082763985615764450078474174626"));
}

TEST_CASE("fibonacci: F(10000) and F(100000) match Python's length, ends and MD5") {
  struct row {
    std::uint64_t k;
    std::size_t digits;
    std::string_view head, tail, md5;
  };
  for (const row& r : {
           row{10000, 2090, "33644764876431783266", "66073310059947366875",
               "68fd9826eedcb01d5677c7ffe75afff5"},
           row{100000, 20899, "25974069347221724166", "49895374653428746875",
               "c1b1026f2ae23fc39fc9eedc4798af6a"},
       }) {
    CAPTURE(r.k);
    const std::string value = fibonacci_value(r.k);
    CHECK(value.size() == r.digits);
    CHECK(value.starts_with(r.head));
    CHECK(value.ends_with(r.tail));
    CHECK(md5_of(value) == r.md5);
    fibonacci_cursor c{r.k};
    CHECK(c.next_digits() == r.digits);
    CHECK(md5_of(next_of(c)) == r.md5);
  }
}

TEST_CASE("fibonacci: an index past max_fibonacci_index is refused with out_of_range") {
  constexpr std::uint64_t max = max_fibonacci_index;
  constexpr std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  CHECK_THROWS_AS(fibonacci_value(max + 1), std::out_of_range);
  CHECK_THROWS_AS(fibonacci_value(huge), std::out_of_range);
  CHECK_THROWS_AS(fibonacci_cursor{max + 1}, std::out_of_range);
  CHECK_THROWS_AS(fibonacci_checksum(max, 2), std::out_of_range);
  CHECK_THROWS_AS(fibonacci_checksum(2, huge), std::out_of_range);  // from + count wraps
  CHECK_THROWS_AS(fibonacci_sum(max + 1, 1), std::out_of_range);
  CHECK_THROWS_AS(fibonacci_sum(huge, huge), std::out_of_range);
  CHECK_THROWS_AS(check_fibonacci_range(max, 2), std::out_of_range);
  CHECK_THROWS_AS(check_fibonacci_range(max + 1, 1), std::out_of_range);
  CHECK_NOTHROW(check_fibonacci_range(max, 1));
  CHECK_NOTHROW(check_fibonacci_range(0, max + 1));
  CHECK_NOTHROW(check_fibonacci_range(huge, 0));
}

TEST_CASE("fibonacci cursor: a refused seek leaves the cursor where it was") {
  fibonacci_cursor c{20};
  CHECK_THROWS_AS(c.seek(max_fibonacci_index + 1), std::out_of_range);
  CHECK(c.index() == 20);
  CHECK(next_of(c) == python_table[20]);
}

TEST_CASE("fibonacci cursor: from every start 0 to 100 it writes Python's table") {
  for (std::uint64_t start = 0; start < python_table.size(); ++start) {
    CAPTURE(start);
    fibonacci_cursor c{start};
    for (std::uint64_t k = start; k < python_table.size(); ++k) {
      CAPTURE(k);
      REQUIRE(c.index() == k);
      CHECK(c.next_digits() == python_table[k].size());
      CHECK(next_of(c) == python_table[k]);
    }
  }
}

TEST_CASE("fibonacci cursor: 0 to 3000 in one run agrees with fibonacci_value") {
  // 3000 steps cross 39 limb boundaries of 16 digits, each with its carries.
  fibonacci_cursor c;
  for (std::uint64_t k = 0; k <= 3000; ++k) {
    const std::string expected = fibonacci_value(k);
    REQUIRE(c.next_digits() == expected.size());
    REQUIRE(next_of(c) == expected);
  }
}

TEST_CASE("fibonacci cursor: from large starts it agrees with fibonacci_value") {
  for (std::uint64_t start : {150u, 999u, 5000u, 12345u, 100000u}) {
    CAPTURE(start);
    fibonacci_cursor c{start};
    for (std::uint64_t k = start; k < start + 20; ++k) {
      CAPTURE(k);
      CHECK(next_of(c) == fibonacci_value(k));
    }
  }
}

TEST_CASE("fibonacci cursor: seeks backwards and forwards, short and long, land on F(k)") {
  fibonacci_cursor c;
  // Same place, short steps forward (additions), long jumps and every way back.
  for (std::uint64_t k : {0u, 0u, 10u, 5u, 5u, 6u, 38u, 39u, 1000u, 1032u, 1033u, 1100u, 1099u, 0u,
                          100000u, 3u, 2u}) {
    CAPTURE(k);
    c.seek(k);
    REQUIRE(c.index() == k);
    const std::string expected = fibonacci_value(k);
    CHECK(c.next_digits() == expected.size());
    CHECK(next_of(c) == expected);
    CHECK(c.index() == k + 1);
  }
}

TEST_CASE("fibonacci cursor: append_joined stops after max_count numbers") {
  fibonacci_cursor c;
  std::string out;
  CHECK(c.append_joined(out, ",", true, 5, no_budget) == 5);
  CHECK(out == "0,1,1,2,3");
  CHECK(c.index() == 5);
  // Continuing the same list: not first, so a separator comes first.
  CHECK(c.append_joined(out, ",", false, 3, no_budget) == 3);
  CHECK(out == "0,1,1,2,3,5,8,13");
}

TEST_CASE(
    "fibonacci cursor: append_joined writes the separator before a first number that "
    "continues a list") {
  fibonacci_cursor c{3};
  std::string out = "x";
  CHECK(c.append_joined(out, ", ", false, 2, no_budget) == 2);
  CHECK(out == "x, 2, 3");
}

TEST_CASE("fibonacci cursor: append_joined stops once out reaches the byte budget") {
  fibonacci_cursor c;
  std::string out;
  // Sizes after each number: 1, 3, 5, 7, 9, 11: the sixth reaches 10 and is the last.
  CHECK(c.append_joined(out, ",", true, 100, 10) == 6);
  CHECK(out == "0,1,1,2,3,5");
  CHECK(c.index() == 6);
}

TEST_CASE("fibonacci cursor: append_joined never splits a number longer than the budget") {
  fibonacci_cursor c{999};
  std::string out;
  CHECK(c.append_joined(out, ",", true, 100, 5) == 1);
  CHECK(out == fibonacci_value(999));
  CHECK(c.index() == 1000);
}

TEST_CASE("fibonacci cursor: append_joined appends one number even when out is over budget") {
  fibonacci_cursor c{7};
  std::string out(100, 'x');
  CHECK(c.append_joined(out, " ", false, 3, 10) == 1);
  CHECK(out == std::string(100, 'x') + " 13");
  CHECK(c.index() == 8);
}

TEST_CASE("fibonacci cursor: append_joined with max_count 0 appends nothing") {
  fibonacci_cursor c{7};
  std::string out = "keep";
  CHECK(c.append_joined(out, ",", true, 0, no_budget) == 0);
  CHECK(out == "keep");
  CHECK(c.index() == 7);
}

TEST_CASE("fibonacci checksum: Python's MD5 of str(list) for several ranges, count 0 included") {
  struct row {
    std::uint64_t from, count;
    std::string_view md5;
  };
  for (const row& r : {
           row{0, 0, "d751713988987e9331980363e24189ce"},
           row{12345, 0, "d751713988987e9331980363e24189ce"},
           row{0, 1, "8d5162ca104fa7e79fe80fd92bb657fb"},
           row{0, 2, "264884439b70ab09a86bc848421c6de6"},
           row{0, 5, "cfed83aeea304f32a65cb64b4a1bf0a1"},
           row{3, 4, "22586d15316f473efa89aa0090f4aa2f"},
           row{7, 1, "15f019b4deb70b75c09cbc1ae50533a4"},
           row{100, 50, "ce7ee6d93a364ca5a4bdb09084c7f03d"},
           row{1000, 7, "700f163a9de91443a1e048de59e04694"},
           row{4321, 3, "d6ec06526fc171fc43d72706f427c2e6"},
           row{0, 2000, "33c9094ad5fdb1f55d9f2ff23f109a3a"},
           row{100000, 3, "f1ed119c9f98c1ac3acb01b60fc569c6"},
       }) {
    CAPTURE(r.from);
    CAPTURE(r.count);
    CHECK(to_hex(fibonacci_checksum(r.from, r.count)) == r.md5);
  }
}

TEST_CASE("fibonacci sum: Python's exact sums for several ranges, count 0 included") {
  struct row {
    std::uint64_t from, count;
    std::string_view sum;
  };
  for (const row& r : {
           row{0, 0, "0"},
           row{12345, 0, "0"},
           row{0, 1, "0"},
           row{0, 2, "1"},
           row{0, 5, "7"},
           row{3, 4, "18"},
           row{7, 1, "13"},
           row{100, 50, "16130531424331433571784090302248"},
       }) {
    CAPTURE(r.from);
    CAPTURE(r.count);
    CHECK(fibonacci_sum(r.from, r.count) == r.sum);
  }
}

TEST_CASE("fibonacci sum: long sums match Python's length and MD5") {
  struct row {
    std::uint64_t from, count;
    std::size_t digits;
    std::string_view md5;
  };
  for (const row& r : {
           row{4321, 3, 904, "0eb3d6bbf484a76fdf77abae4864f002"},
           row{0, 2000, 418, "bfaf444c6d0fbbf4f18912fceefc10e4"},
           row{100000, 3, 20900, "6db05caa75f0fb4dad411e9fdad6e0f5"},
       }) {
    CAPTURE(r.from);
    CAPTURE(r.count);
    const std::string sum = fibonacci_sum(r.from, r.count);
    CHECK(sum.size() == r.digits);
    CHECK(md5_of(sum) == r.md5);
  }
}
