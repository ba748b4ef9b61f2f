// Unit tests for the sequences: test mode (CPython-identical) and normal mode (Philox).

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/sequence.hpp"

using numsequence::checksum_of;
using numsequence::client_id;
using numsequence::normal_number;
using numsequence::sequence_checksum;
using numsequence::sequence_generator;
using numsequence::sequence_mode;
using numsequence::sequence_params;
using numsequence::to_hex;
using numsequence::whole_sequence;

namespace {

using numbers = std::vector<std::uint32_t>;

constexpr std::string_view golden_id = "123e4567-e89b-12d3-a456-426614174000";

sequence_params test_params(std::string_view id, std::uint32_t n, std::uint32_t batch) {
  const auto parsed = client_id::parse(id);
  REQUIRE(parsed.has_value());
  sequence_params p;
  p.mode = sequence_mode::test;
  p.id = *parsed;
  p.n = n;
  p.batch = batch;
  return p;
}

sequence_params normal_params(std::uint64_t seed, std::uint32_t n, std::uint32_t batch) {
  sequence_params p;
  p.mode = sequence_mode::normal;
  p.seed = seed;
  p.n = n;
  p.batch = batch;
  return p;
}

numbers as_vector(std::span<const std::uint32_t> s) {
  return {s.begin(), s.end()};
}

// Every batch, asked in order, appended.
numbers concatenated_batches(const sequence_params& p) {
  sequence_generator gen(p);
  numbers all;
  for (std::uint64_t k = 0; k < p.batch_count(); ++k) {
    const auto b = gen.batch(static_cast<std::uint32_t>(k));
    const bool last = k + 1 == p.batch_count();
    if (!last)
      CHECK(b.size() == p.batch);
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

numbers slice(const numbers& all, const sequence_params& p, std::uint32_t k) {
  const std::size_t begin = std::size_t{k} * p.batch;
  const std::size_t end = std::min<std::size_t>(all.size(), begin + p.batch);
  return {all.begin() + static_cast<std::ptrdiff_t>(begin),
          all.begin() + static_cast<std::ptrdiff_t>(end)};
}

std::uint64_t sum_of(const numbers& v) {
  return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}

struct cpython_case {
  std::string_view id;
  std::uint32_t n;
  std::uint32_t batch;
  std::uint64_t sum;
  std::string_view md5;
  numbers first;  // up to the first ten numbers
  numbers last;   // the last ten (empty: not checked)
};

// Checks one case every way the sequence can be produced.
void check_cpython_case(const cpython_case& c) {
  CAPTURE(c.id);
  CAPTURE(c.n);
  CAPTURE(c.batch);
  const sequence_params p = test_params(c.id, c.n, c.batch);
  const numbers whole = whole_sequence(p);
  REQUIRE(whole.size() == c.n);
  CHECK(sum_of(whole) == c.sum);
  CHECK(numbers(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(c.first.size())) ==
        c.first);
  if (!c.last.empty()) {
    CHECK(numbers(whole.end() - static_cast<std::ptrdiff_t>(c.last.size()), whole.end()) == c.last);
  }
  CHECK(std::all_of(whole.begin(), whole.end(), [](std::uint32_t v) { return v <= 100; }));
  CHECK(to_hex(checksum_of(whole)) == c.md5);
  CHECK(to_hex(sequence_checksum(p)) == c.md5);

  const numbers batches = concatenated_batches(p);
  CHECK(batches == whole);
  CHECK(to_hex(checksum_of(batches)) == c.md5);
}

}  // namespace

TEST_CASE("sequence: batch_count is ceil(n / batch)") {
  CHECK(test_params(golden_id, 0, 5).batch_count() == 0);
  CHECK(test_params(golden_id, 10, 5).batch_count() == 2);
  CHECK(test_params(golden_id, 11, 5).batch_count() == 3);
  CHECK(test_params(golden_id, 7, 100).batch_count() == 1);
  CHECK(test_params(golden_id, 65535, 1).batch_count() == 65535);
  CHECK(test_params(golden_id, 65535, 65535).batch_count() == 1);
}

TEST_CASE("sequence: test mode reproduces every row of golden.md") {
  // golden.md: id 123e4567-e89b-12d3-a456-426614174000, batch 5. The last ten of
  // n=10000 come from python3 -c 'import random;
  //   random.seed("123e4567-e89b-12d3-a456-426614174000");
  //   print([random.randint(0,100) for _ in range(10000)][-10:])'
  const numbers first_ten = {6, 41, 81, 68, 68, 41, 10, 40, 78, 98};
  const std::array<cpython_case, 4> golden = {{
      {golden_id, 0, 5, 0, "d751713988987e9331980363e24189ce", {}, {}},
      {golden_id, 5, 5, 264, "f90b20dae8c9b7d7be2a5fb7cc856e8b", {6, 41, 81, 68, 68}, {}},
      {golden_id, 10, 5, 531, "9b14501c5359fb4eac96df9e874348b2", first_ten, {}},
      {golden_id,
       10000,
       5,
       504721,
       "589f9ca74cb5ea9a32eddd14840d5b64",
       first_ten,
       {16, 32, 96, 63, 6, 40, 53, 59, 98, 3}},
  }};
  for (const auto& c : golden)
    check_cpython_case(c);
}

TEST_CASE("sequence: test mode matches CPython for more ids, sizes and batch sizes") {
  // Each row: python3 -c 'import random, hashlib; random.seed("<id>");
  //   xs=[random.randint(0,100) for _ in range(<n>)];
  //   print(sum(xs), hashlib.md5(str(xs).encode()).hexdigest(), xs[:10], xs[-10:])'
  const std::array<cpython_case, 5> cases = {{
      // The largest n; the last batch (535 numbers) is partial.
      {"f47ac10b-58cc-4372-a567-0e02b2c3d479",
       65535,
       1000,
       3278293,
       "c8a77fb1df3a973e7a1dd60794ab3c17",
       {57, 65, 60, 13, 2, 8, 59, 30, 6, 6},
       {22, 57, 34, 22, 93, 33, 53, 100, 10, 79}},
      // Upper case: the id is the seed exactly as sent.
      {"123E4567-E89B-12D3-A456-426614174000",
       10,
       3,
       552,
       "fc03bcc5e337215aeea6432b3ed834f0",
       {46, 26, 100, 69, 2, 99, 81, 45, 70, 14},
       {}},
      // Batch 1: one number per batch.
      {"9b2e7c1a-3d4f-4a6b-8c9d-0e1f2a3b4c5d",
       20,
       1,
       915,
       "29bd888c5a991bbd452cd8d61af083db",
       {39, 71, 19, 89, 52, 60, 79, 53, 4, 9},
       {84, 27, 66, 11, 69, 57, 59, 15, 34, 18}},
      // Batch larger than n: a single, short batch.
      {"00000000-0000-0000-0000-000000000000",
       7,
       100,
       412,
       "34cd66d5ac784806877b880b21a26629",
       {69, 27, 54, 54, 64, 80, 64},
       {}},
      // Mixed case.
      {"A1b2C3d4-E5f6-4789-Ab01-23456789aBcD",
       1000,
       64,
       49922,
       "c07cc4ba3721528b414a31ea5a7f3506",
       {1, 4, 32, 61, 66, 35, 63, 77, 99, 88},
       {83, 85, 42, 46, 4, 15, 16, 20, 86, 28}},
  }};
  for (const auto& c : cases)
    check_cpython_case(c);
}

TEST_CASE("sequence: an upper-case id gives a different test-mode sequence than lower case") {
  const auto lower = test_params("123e4567-e89b-12d3-a456-426614174000", 10, 5);
  const auto upper = test_params("123E4567-E89B-12D3-A456-426614174000", 10, 5);
  CHECK(whole_sequence(lower) != whole_sequence(upper));
  CHECK(sequence_checksum(lower) != sequence_checksum(upper));
  CHECK(to_hex(sequence_checksum(lower)) == "9b14501c5359fb4eac96df9e874348b2");
  CHECK(to_hex(sequence_checksum(upper)) == "fc03bcc5e337215aeea6432b3ed834f0");
}

TEST_CASE("sequence: test-mode batches asked out of order equal the in-order sequence") {
  const sequence_params p = test_params(golden_id, 1000, 7);  // 143 batches, the last of 6
  const numbers whole = whole_sequence(p);
  sequence_generator gen(p);

  SUBCASE("jumps forward, backward and repeats") {
    for (std::uint32_t k : {5U, 6U, 2U, 2U, 142U, 0U, 141U, 71U, 70U, 1U, 1U, 142U}) {
      CAPTURE(k);
      CHECK(as_vector(gen.batch(k)) == slice(whole, p, k));
    }
  }
  SUBCASE("every batch once, shuffled") {
    std::vector<std::uint32_t> order(static_cast<std::size_t>(p.batch_count()));
    std::iota(order.begin(), order.end(), 0U);
    std::mt19937 shuffle_rng(12345);  // fixed: the test is reproducible
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    for (std::uint32_t k : order) {
      CAPTURE(k);
      CHECK(as_vector(gen.batch(k)) == slice(whole, p, k));
    }
  }
}

TEST_CASE("sequence: a moved test-mode generator continues the same sequence") {
  const sequence_params p = test_params(golden_id, 10, 5);
  sequence_generator first(p);
  CHECK(as_vector(first.batch(0)) == numbers{6, 41, 81, 68, 68});
  sequence_generator moved(std::move(first));
  CHECK(as_vector(moved.batch(1)) == numbers{41, 10, 40, 78, 98});
  sequence_generator assigned(test_params(golden_id, 5, 5));
  assigned = std::move(moved);
  CHECK(as_vector(assigned.batch(0)) == numbers{6, 41, 81, 68, 68});
}

TEST_CASE("sequence: a batch index past the end is refused") {
  sequence_generator test_gen(test_params(golden_id, 10, 5));
  CHECK_THROWS_AS(test_gen.batch(2), std::out_of_range);
  sequence_generator normal_gen(normal_params(1, 0, 5));
  CHECK_THROWS_AS(normal_gen.batch(0), std::out_of_range);
}

TEST_CASE("sequence: normal_number is word i%4 of Philox block i/4 keyed by the seed") {
  // Random123 kat_vectors, philox4x32 10 (see test_philox.cpp).
  // Counter {0,0,0,0}, key {0,0}:
  CHECK(normal_number(0, 0) == 0x6627e8d5U);
  CHECK(normal_number(0, 1) == 0xe169c58dU);
  CHECK(normal_number(0, 2) == 0xbc57ac4cU);
  CHECK(normal_number(0, 3) == 0x9b00dbd8U);
  // Counter {1,0,0,0}: numbers 4..7. Key {1, 0}: the seed's low word is key[0].
  CHECK(normal_number(1, 4) == 0xac08141bU);
  CHECK(normal_number(1, 7) == 0xa7f66093U);
  // Key {0, 1}: the seed's high word is key[1].
  CHECK(normal_number(std::uint64_t{1} << 32, 4) == 0xccf3076aU);
  CHECK(normal_number(std::uint64_t{1} << 32, 7) == 0xd96fe48aU);
}

TEST_CASE("sequence: normal-mode batches out of order equal the sequence in order") {
  const sequence_params p = normal_params(0x0123456789abcdefULL, 10000, 37);  // 271 batches
  const numbers whole = whole_sequence(p);
  REQUIRE(whole.size() == 10000);
  for (std::uint32_t i : {0U, 1U, 2U, 3U, 4U, 5U, 4999U, 9999U}) {
    CAPTURE(i);
    CHECK(whole[i] == normal_number(p.seed, i));
  }
  CHECK(concatenated_batches(p) == whole);

  std::vector<std::uint32_t> order(static_cast<std::size_t>(p.batch_count()));
  std::iota(order.begin(), order.end(), 0U);
  std::reverse(order.begin(), order.end());
  std::mt19937 shuffle_rng(777);
  std::shuffle(order.begin() + 10, order.end(), shuffle_rng);
  sequence_generator gen(p);
  for (std::uint32_t k : order) {
    CAPTURE(k);
    CHECK(as_vector(gen.batch(k)) == slice(whole, p, k));
  }
}

TEST_CASE("sequence: normal-mode numbers span the uint32 range") {
  const numbers whole = whole_sequence(normal_params(42, 10000, 100));
  const auto count_if = [&](auto pred) { return std::count_if(whole.begin(), whole.end(), pred); };
  CHECK(count_if([](std::uint32_t v) { return v > 0x80000000U; }) > 4000);
  CHECK(count_if([](std::uint32_t v) { return v < 0x01000000U; }) > 0);
  // Not the test-mode shape: about one in 43 million is <= 100.
  CHECK(count_if([](std::uint32_t v) { return v <= 100; }) < 5);
}

TEST_CASE("sequence: normal mode is determined by the seed alone") {
  const sequence_params p = normal_params(0xfeedface12345678ULL, 500, 50);
  sequence_generator a(p);
  sequence_generator b(p);
  for (std::uint32_t k : {3U, 0U, 9U, 3U}) {
    CAPTURE(k);
    CHECK(as_vector(a.batch(k)) == as_vector(b.batch(k)));
  }

  const sequence_params other_low = normal_params(p.seed ^ 1U, 500, 50);
  const sequence_params other_high = normal_params(p.seed ^ (std::uint64_t{1} << 63), 500, 50);
  CHECK(whole_sequence(p) != whole_sequence(other_low));
  CHECK(whole_sequence(p) != whole_sequence(other_high));
  sequence_generator c(other_low);
  CHECK(as_vector(a.batch(0)) != as_vector(c.batch(0)));
  CHECK(sequence_checksum(p) != sequence_checksum(other_low));
}

TEST_CASE("sequence: normal-mode checksum equals the checksum of the batches") {
  for (std::uint32_t n : {0U, 1U, 3U, 4U, 5U, 65535U}) {
    CAPTURE(n);
    const sequence_params p = normal_params(0x5eed, n, 1000);
    const numbers whole = whole_sequence(p);
    REQUIRE(whole.size() == n);
    CHECK(concatenated_batches(p) == whole);
    CHECK(sequence_checksum(p) == checksum_of(whole));
  }
  CHECK(to_hex(sequence_checksum(normal_params(9, 0, 5))) == "d751713988987e9331980363e24189ce");
}

TEST_CASE(
    "test mode: batches asked backwards across the saved generator states match the sequence") {
  sequence_params p;
  p.mode = sequence_mode::test;
  p.id = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  p.n = 65535;
  p.batch = 999;  // batch edges fall between the generator's saved states, not on them
  const auto all = whole_sequence(p);
  sequence_generator g(p);
  for (std::uint32_t k = static_cast<std::uint32_t>(p.batch_count()); k-- > 0;) {
    const auto got = g.batch(k);
    const auto begin = all.begin() + static_cast<std::ptrdiff_t>(k * p.batch);
    REQUIRE(std::equal(got.begin(), got.end(), begin));
  }
  // And forwards again after the backward pass, then a jump to the very end and back to 0.
  for (std::uint32_t k : {0u, 1u, 65u, 9u, 0u, 65u, 8u, 17u}) {
    const auto got = g.batch(k);
    CHECK(
        std::equal(got.begin(), got.end(), all.begin() + static_cast<std::ptrdiff_t>(k * p.batch)));
  }
}

TEST_CASE("numbers(begin, count): consecutive and out-of-order ranges match the sequence") {
  sequence_params test;
  test.mode = sequence_mode::test;
  test.id = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  test.n = 20000;
  test.batch = 20000;
  for (const sequence_params& p : {test, normal_params(0xabcdef, 20000, 20000)}) {
    CAPTURE(static_cast<int>(p.mode));
    const numbers all = whole_sequence(p);
    sequence_generator g(p);
    // Pieces of 2,978 (the server's default piece), straddling the saved test-mode states.
    numbers joined;
    for (std::uint32_t begin = 0; begin < p.n; begin += 2978) {
      const auto piece = g.numbers(begin, std::min<std::uint32_t>(2978, p.n - begin));
      joined.insert(joined.end(), piece.begin(), piece.end());
    }
    CHECK(joined == all);
    // Backwards, a repeat of the same range, the same start with another count, an empty
    // range and the very end.
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges = {
        {17000, 100}, {17000, 100}, {17000, 50}, {17000, 100}, {3, 8190},
        {0, 0},       {19999, 1},   {20000, 0},  {0, 20000}};
    for (const auto& range : ranges) {
      const std::uint32_t begin = range.first;
      const std::uint32_t count = range.second;
      CAPTURE(begin);
      CAPTURE(count);
      const auto got = g.numbers(begin, count);
      REQUIRE(got.size() == count);
      CHECK(std::equal(got.begin(), got.end(), all.begin() + static_cast<std::ptrdiff_t>(begin)));
    }
    // A range that runs past n is an error, not numbers from nowhere.
    CHECK_THROWS_AS(g.numbers(19990, 11), std::out_of_range);
    CHECK_THROWS_AS(g.numbers(20001, 0), std::out_of_range);
  }
}
