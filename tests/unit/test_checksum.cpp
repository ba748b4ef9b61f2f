// Unit tests for the sequence checksum: MD5 of Python's str() of the list.

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "numsequence/sequence/checksum.hpp"

using numsequence::checksum_of;
using numsequence::list_checksum;
using numsequence::md5_digest;
using numsequence::md5_from_hex;
using numsequence::to_hex;

namespace {

// An independent MD5 of a whole text, to compare the streamed digest with.
md5_digest md5_of_text(const std::string& text) {
  md5_digest d{};
  unsigned int size = 0;
  REQUIRE(EVP_Digest(text.data(), text.size(), d.data(), &size, EVP_md5(), nullptr) == 1);
  REQUIRE(size == d.size());
  return d;
}

// What Python's str(list) prints.
std::string python_list_text(const std::vector<std::uint32_t>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0)
      text += ", ";
    text += std::to_string(values[i]);
  }
  return text + "]";
}

std::vector<std::uint32_t> golden_five() {
  return {6, 41, 81, 68, 68};
}

}  // namespace

TEST_CASE("checksum: the empty list hashes \"[]\"") {
  list_checksum sum;
  CHECK(to_hex(sum.finish()) == "d751713988987e9331980363e24189ce");
  CHECK(to_hex(checksum_of({})) == "d751713988987e9331980363e24189ce");
}

TEST_CASE("checksum: [6, 41, 81, 68, 68] gives the spec's example digest") {
  list_checksum sum;
  for (auto v : golden_five())
    sum.add(v);
  CHECK(to_hex(sum.finish()) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
  CHECK(to_hex(checksum_of(golden_five())) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
}

TEST_CASE("checksum: add(span) equals adding one value at a time") {
  const std::vector<std::uint32_t> values = {0, 1, 100, 4294967295U, 12345};
  list_checksum one_by_one;
  for (auto v : values)
    one_by_one.add(v);
  list_checksum all_at_once;
  all_at_once.add(values);
  CHECK(one_by_one.finish() == all_at_once.finish());
}

TEST_CASE("checksum: uint32 extremes are formatted in full decimal") {
  // python3 -c 'import hashlib; print(hashlib.md5(str([4294967295]).encode()).hexdigest(),
  //   hashlib.md5(str([0, 4294967295]).encode()).hexdigest())'
  const std::vector<std::uint32_t> max_only = {4294967295U};
  const std::vector<std::uint32_t> zero_and_max = {0, 4294967295U};
  CHECK(to_hex(checksum_of(max_only)) == "d5baa3a3870cbff47b565d03a3e17162");
  CHECK(to_hex(checksum_of(zero_and_max)) == "e7a9d2abfaa8499b41d3278b9531efff");
  CHECK(checksum_of(zero_and_max) == md5_of_text("[0, 4294967295]"));
}

TEST_CASE("checksum: a list many buffers long equals MD5 of the Python text") {
  // 58699 bytes of text: the 4096-byte buffer fills about 14 times.
  // python3 -c 'import hashlib; xs=[(i*2654435761)%2**32 for i in range(5000)];
  //   print(hashlib.md5(str(xs).encode()).hexdigest())'
  std::vector<std::uint32_t> values;
  for (std::uint32_t i = 0; i < 5000; ++i)
    values.push_back(i * 2654435761U);  // wraps mod 2^32
  const std::string text = python_list_text(values);
  REQUIRE(text.size() == 58699);
  CHECK(to_hex(checksum_of(values)) == "6a1345583ce405de93097777b0d6b243");
  CHECK(checksum_of(values) == md5_of_text(text));
}

TEST_CASE("checksum: every text length around the buffer boundary hashes correctly") {
  // Numbers of 1 to 10 digits, so the text ends at every offset near 4096 and 8192.
  std::vector<std::uint32_t> values;
  std::uint32_t v = 7;
  list_checksum sum;
  for (int i = 0; i < 1500; ++i) {
    values.push_back(v);
    v = v * 1103515245U + 12345U;
    if (i % 3 == 0)
      v %= 1000;  // keep short numbers in the mix
    const std::string text = python_list_text(values);
    if (text.size() < 4000 || (text.size() > 4200 && text.size() < 8100) || text.size() > 8300) {
      continue;
    }
    CAPTURE(text.size());
    sum.add(values);
    REQUIRE(sum.finish() == md5_of_text(text));
  }
}

TEST_CASE("checksum: finish() resets for a new list") {
  list_checksum sum;
  sum.add(golden_five());
  CHECK(to_hex(sum.finish()) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
  CHECK(to_hex(sum.finish()) == "d751713988987e9331980363e24189ce");  // nothing added since
  sum.add(golden_five());
  CHECK(to_hex(sum.finish()) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
}

TEST_CASE("checksum: to_hex and md5_from_hex round-trip") {
  const auto parsed = md5_from_hex("f90b20dae8c9b7d7be2a5fb7cc856e8b");
  REQUIRE(parsed.has_value());
  CHECK(*parsed == checksum_of(golden_five()));
  CHECK(to_hex(*parsed) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");

  md5_digest all_bits{};
  all_bits.fill(0xff);
  CHECK(to_hex(all_bits) == "ffffffffffffffffffffffffffffffff");
  CHECK(md5_from_hex(to_hex(all_bits)) == all_bits);
  CHECK(to_hex(md5_digest{}) == "00000000000000000000000000000000");
  CHECK(md5_from_hex(to_hex(md5_digest{})) == md5_digest{});
}

TEST_CASE("checksum: md5_from_hex rejects upper case, wrong length and non-hex") {
  CHECK_FALSE(md5_from_hex("F90B20DAE8C9B7D7BE2A5FB7CC856E8B").has_value());
  CHECK_FALSE(md5_from_hex("f90b20dae8c9b7d7be2a5fb7cc856e8B").has_value());
  CHECK_FALSE(md5_from_hex("").has_value());
  CHECK_FALSE(md5_from_hex("f90b20dae8c9b7d7be2a5fb7cc856e8").has_value());    // 31
  CHECK_FALSE(md5_from_hex("f90b20dae8c9b7d7be2a5fb7cc856e8b0").has_value());  // 33
  CHECK_FALSE(md5_from_hex("g90b20dae8c9b7d7be2a5fb7cc856e8b").has_value());
  CHECK_FALSE(md5_from_hex("f90b20dae8c9b7d7be2a5fb7cc856e8 ").has_value());
  CHECK_FALSE(md5_from_hex("0x0b20dae8c9b7d7be2a5fb7cc856e8b").has_value());
  CHECK_FALSE(md5_from_hex(std::string("f90b20dae8c9b7d7\0e2a5fb7cc856e8b", 32)).has_value());
}

TEST_CASE("list_checksum: decimal text hashes as the same numbers given as integers") {
  list_checksum as_numbers;
  list_checksum as_text;
  for (std::uint32_t v : {6u, 41u, 81u, 68u, 68u}) {
    as_numbers.add(v);
    as_text.add_decimal(std::to_string(v));
  }
  CHECK(to_hex(as_text.finish()) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
  CHECK(to_hex(as_numbers.finish()) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
}

TEST_CASE("list_checksum: a number longer than the internal buffer is hashed whole") {
  // python3 -c 'import hashlib; print(hashlib.md5(("[1, " + "9"*10000 + ",
  // 2]").encode()).hexdigest())'
  list_checksum sum;
  sum.add_decimal("1");
  sum.add_decimal(std::string(10000, '9'));
  sum.add(2);
  CHECK(to_hex(sum.finish()) == "0c9b7343d6d834a97c05dc2a44334d4e");
}
