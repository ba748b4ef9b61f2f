// The Fibonacci mode of sequence_generator, sequence_checksum for it, and the checksum cache.
// Expected digests are Python's: md5(str(list)) of exact Fibonacci numbers.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/checksum_cache.hpp"
#include "numsequence/sequence/sequence.hpp"

using namespace numsequence;

namespace {

sequence_params fibonacci_params(std::uint32_t n, std::uint32_t batch) {
  sequence_params p;
  p.mode = sequence_mode::fibonacci;
  p.n = n;
  p.batch = batch;
  return p;
}

/// md5(str(list)) of the numbers in `joined` (decimal numbers separated by ':').
std::string list_md5(std::string_view joined) {
  list_checksum sum;
  while (!joined.empty()) {
    const auto colon = joined.find(':');
    sum.add_decimal(joined.substr(0, colon));
    joined.remove_prefix(colon == std::string_view::npos ? joined.size() : colon + 1);
  }
  return to_hex(sum.finish());
}

// Python: md5(str(fib[a:b])).
constexpr std::string_view md5_0_1000 = "b64b2bbc2244d405cd1c2a8b0b8718a7";
constexpr std::string_view md5_24000_25000 = "f08605329fd0270262a949a6cd3e8d0e";
constexpr std::string_view md5_12345_12422 = "413cd4235e3dc0daad1be80acb6b6f2e";

}  // namespace

TEST_CASE("fibonacci generator: a batch is the exact numbers, in order and jumping back") {
  sequence_generator g(fibonacci_params(25000, 1000));
  std::string out;
  CHECK(g.append_fibonacci(out, 24000, 1000, SIZE_MAX, true) == 1000);
  CHECK(out.size() == 5121242);  // Python: len(":".join(map(str, fib[24000:25000])))
  CHECK(list_md5(out) == md5_24000_25000);
  out.clear();
  CHECK(g.append_fibonacci(out, 0, 1000, SIZE_MAX, true) == 1000);  // back to the start
  CHECK(list_md5(out) == md5_0_1000);
  out.clear();
  CHECK(g.append_fibonacci(out, 12345, 77, SIZE_MAX, true) == 77);  // a jump forward
  CHECK(list_md5(out) == md5_12345_12422);
}

TEST_CASE("fibonacci generator: consecutive pieces by bytes join into the batch") {
  sequence_generator g(fibonacci_params(25000, 1000));
  std::string joined;
  std::uint32_t next = 24000;
  int pieces = 0;
  while (next < 25000) {
    std::string piece;
    const auto appended = g.append_fibonacci(piece, next, 25000 - next, 64 * 1024, next == 24000);
    REQUIRE(appended > 0);
    // A piece ends with the number that reaches the budget: never more than one over.
    CHECK(piece.size() < 64 * 1024 + 5300);
    next += appended;
    joined += piece;
    ++pieces;
  }
  // 5,121,242 bytes in pieces of 64 KiB to 64 KiB + one number (5,226 bytes).
  CHECK(pieces >= 5121242 / (64 * 1024 + 5226));
  CHECK(pieces <= 5121242 / (64 * 1024) + 1);
  CHECK(list_md5(joined) == md5_24000_25000);
}

TEST_CASE("fibonacci generator: separators, the first number and the count limit") {
  sequence_generator g(fibonacci_params(10, 10));
  std::string out = "NUM,";
  CHECK(g.append_fibonacci(out, 0, 4, SIZE_MAX, true) == 4);
  CHECK(g.append_fibonacci(out, 4, 3, SIZE_MAX, false) == 3);
  CHECK(out == "NUM,0:1:1:2:3:5:8");
  out.clear();
  CHECK(g.append_fibonacci(out, 9, 1, 0, true) == 1);  // at least one number, whatever the budget
  CHECK(out == "34");
  CHECK(g.append_fibonacci(out, 9, 0, SIZE_MAX, true) == 0);
}

TEST_CASE("fibonacci generator: past n, and in another mode, is an error") {
  sequence_generator g(fibonacci_params(10, 5));
  std::string out;
  CHECK_THROWS_AS(g.append_fibonacci(out, 8, 3, SIZE_MAX, true), std::out_of_range);
  CHECK_THROWS_AS(g.batch(0), std::logic_error);
  CHECK_THROWS_AS(whole_sequence(fibonacci_params(10, 5)), std::invalid_argument);
  sequence_params normal = fibonacci_params(10, 5);
  normal.mode = sequence_mode::normal;
  sequence_generator other(normal);
  CHECK_THROWS_AS(other.append_fibonacci(out, 0, 1, SIZE_MAX, true), std::logic_error);
}

TEST_CASE("fibonacci generator: a moved generator keeps serving") {
  sequence_generator g(fibonacci_params(100, 7));
  std::string out;
  g.append_fibonacci(out, 0, 7, SIZE_MAX, true);
  sequence_generator moved(std::move(g));
  out.clear();
  CHECK(moved.append_fibonacci(out, 98, 2, SIZE_MAX, true) == 2);
  CHECK(out == "135301852344706746049:218922995834555169026");
}

TEST_CASE("fibonacci checksum: sequence_checksum is Python's for n = 0, 5 and 25,000") {
  CHECK(to_hex(sequence_checksum(fibonacci_params(0, 5))) == "d751713988987e9331980363e24189ce");
  CHECK(to_hex(sequence_checksum(fibonacci_params(5, 5))) == "cfed83aeea304f32a65cb64b4a1bf0a1");
  CHECK(to_hex(sequence_checksum(fibonacci_params(25000, 500))) ==
        "ce7639f1240a778e42b4e67a04927192");
}

TEST_CASE("checksum cache: each cached n is computed once, small n every time") {
  std::atomic<int> calls{0};
  checksum_cache cache(4, 10, [&](std::uint64_t n) {
    ++calls;
    md5_digest d{};
    d[0] = static_cast<std::uint8_t>(n);
    return d;
  });
  CHECK(cache.get(100)[0] == 100);
  CHECK(cache.get(100)[0] == 100);
  CHECK(calls == 1);
  CHECK(cache.get(5)[0] == 5);
  CHECK(cache.get(5)[0] == 5);
  CHECK(calls == 3);  // below min_cached: never stored
  CHECK(cache.size() == 1);
  CHECK(cache.computations() == 3);
}

TEST_CASE("checksum cache: holds at most its capacity, dropping the least recently used") {
  int calls = 0;
  checksum_cache cache(2, 0, [&](std::uint64_t) {
    ++calls;
    return md5_digest{};
  });
  cache.get(1);
  cache.get(2);
  cache.get(1);  // 1 is now more recent than 2
  cache.get(3);  // drops 2
  CHECK(cache.size() == 2);
  CHECK(calls == 3);
  cache.get(1);
  cache.get(3);
  CHECK(calls == 3);
  cache.get(2);
  CHECK(calls == 4);
}

TEST_CASE("checksum cache: a failed computation is not kept and is tried again") {
  int calls = 0;
  checksum_cache cache(4, 0, [&](std::uint64_t n) -> md5_digest {
    if (++calls == 1)
      throw std::runtime_error("no memory");
    md5_digest d{};
    d[0] = static_cast<std::uint8_t>(n);
    return d;
  });
  CHECK_THROWS_AS(cache.get(7), std::runtime_error);
  CHECK(cache.size() == 0);
  CHECK(cache.get(7)[0] == 7);
  CHECK(calls == 2);
}

TEST_CASE("checksum cache: threads asking for the same n at once compute it once") {
  std::atomic<int> calls{0};
  std::atomic<int> arrived{0};
  checksum_cache cache(8, 0, [&](std::uint64_t n) {
    ++calls;
    // Not done before every thread has asked: a cache that computed outside its claim would
    // be asked to compute again meanwhile.
    while (arrived < 8)
      std::this_thread::yield();
    md5_digest d{};
    d[1] = static_cast<std::uint8_t>(n);
    return d;
  });
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      ++arrived;
      if (cache.get(42)[1] == 42)
        ++right;
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(right == 8);
  CHECK(calls == 1);
}
