// response_cache: hits and misses, LRU eviction order, the byte bound, oversized bodies,
// bodies outliving their entries, and concurrent use from several threads.

#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "numsequence/http/response_cache.hpp"

using namespace numsequence;

namespace {

std::shared_ptr<const std::string> body_of(std::size_t size, char fill = 'x') {
  return std::make_shared<const std::string>(size, fill);
}

// Keys of two bytes, bodies of 372 bytes: each entry is charged 2 + 372 + 128 = 502 bytes.
constexpr std::size_t entry_charge = 502;
constexpr std::size_t body_size = 372;

}  // namespace

TEST_CASE("http_response_cache: a miss, then a hit that returns the stored body") {
  response_cache cache{8192};
  CHECK(cache.find("k1") == nullptr);
  const auto body = body_of(10);
  CHECK(cache.insert("k1", body));
  CHECK(cache.find("k1") == body);
  const response_cache_stats s = cache.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
  CHECK(s.insertions == 1);
  CHECK(s.entries == 1);
  CHECK(s.bytes == 2 + 10 + 128);
  CHECK(s.capacity == 8192);
}

TEST_CASE("http_response_cache: the least recently used entry is evicted first") {
  // Room for exactly eight entries of 502 bytes, each at the largest charge stored.
  response_cache cache{8 * entry_charge};
  REQUIRE(cache.max_entry_bytes() == entry_charge);
  for (int i = 1; i <= 8; ++i)
    CHECK(cache.insert("k" + std::to_string(i), body_of(body_size)));
  CHECK(cache.stats().bytes == 8 * entry_charge);
  CHECK(cache.stats().evictions == 0);
  // A hit makes k1 the most recent: k2 is now the least recently used.
  CHECK(cache.find("k1") != nullptr);
  CHECK(cache.insert("k9", body_of(body_size)));
  CHECK(cache.find("k2") == nullptr);
  CHECK(cache.find("k1") != nullptr);
  for (int i = 3; i <= 9; ++i)
    CHECK(cache.find("k" + std::to_string(i)) != nullptr);
  // The finds above ran k1, k3 ... k9 in that order: k1 is the oldest again.
  CHECK(cache.insert("ka", body_of(body_size)));
  CHECK(cache.find("k1") == nullptr);
  CHECK(cache.find("k3") != nullptr);
  CHECK(cache.stats().evictions == 2);
  CHECK(cache.stats().entries == 8);
}

TEST_CASE("http_response_cache: a new entry evicts as many small ones as it needs") {
  response_cache cache{8 * entry_charge};
  // Sixteen entries of half the charge (2 + 121 + 128 = 251) fill it exactly.
  const std::string hex = "0123456789abcdef";
  for (char c : hex)
    CHECK(cache.insert(std::string("a") + c, body_of(121)));
  CHECK(cache.stats().bytes == 16 * 251);
  CHECK(cache.insert("k1", body_of(body_size)));
  CHECK(cache.stats().evictions == 2);
  CHECK(cache.find("a0") == nullptr);
  CHECK(cache.find("a1") == nullptr);
  CHECK(cache.find("a2") != nullptr);
  CHECK(cache.stats().bytes == 14 * 251 + entry_charge);
}

TEST_CASE(
    "http_response_cache: a body over an eighth of the capacity is refused, nothing evicted") {
  response_cache cache{8 * entry_charge};
  for (int i = 1; i <= 8; ++i)
    CHECK(cache.insert("k" + std::to_string(i), body_of(body_size)));
  CHECK_FALSE(cache.insert("k9", body_of(body_size + 1)));
  CHECK(cache.stats().entries == 8);
  CHECK(cache.stats().evictions == 0);
  CHECK(cache.stats().rejected == 1);
}

TEST_CASE("http_response_cache: the byte total never passes the capacity") {
  response_cache cache{10'000};
  std::size_t present = 0;
  for (std::size_t i = 0; i < 500; ++i) {
    const std::string key = "key" + std::to_string(i);
    const std::size_t size = (i * 37) % 1000;
    if (cache.insert(key, body_of(size)))
      ++present;
    const response_cache_stats s = cache.stats();
    CHECK(s.bytes <= 10'000);
  }
  // The bytes are the sum of the charges of the entries still there.
  std::size_t sum = 0;
  std::size_t entries = 0;
  for (std::size_t i = 0; i < 500; ++i) {
    const std::string key = "key" + std::to_string(i);
    if (const auto body = cache.find(key)) {
      sum += key.size() + body->size() + 128;
      ++entries;
    }
  }
  CHECK(cache.stats().bytes == sum);
  CHECK(cache.stats().entries == entries);
  CHECK(cache.stats().evictions == present - entries);
}

TEST_CASE("http_response_cache: an entry of exactly an eighth is stored, one byte more is not") {
  response_cache cache{8000};
  CHECK(cache.max_entry_bytes() == 1000);
  // key "k" (1) + body + 128 == 1000
  CHECK(cache.insert("k", body_of(871)));
  CHECK_FALSE(cache.insert("j", body_of(872)));
  CHECK(cache.find("j") == nullptr);
  CHECK(cache.stats().rejected == 1);
  CHECK(cache.stats().bytes == 1000);
}

TEST_CASE("http_response_cache: inserting a key again replaces its body") {
  response_cache cache{8192};
  CHECK(cache.insert("k1", body_of(100, 'a')));
  CHECK(cache.insert("k1", body_of(50, 'b')));
  const auto found = cache.find("k1");
  REQUIRE(found != nullptr);
  CHECK(*found == std::string(50, 'b'));
  CHECK(cache.stats().entries == 1);
  CHECK(cache.stats().bytes == 2 + 50 + 128);
  CHECK(cache.stats().evictions == 0);
}

TEST_CASE("http_response_cache: capacity 0 stores nothing, a null body is not stored") {
  response_cache off{0};
  CHECK_FALSE(off.insert("k", body_of(1)));
  CHECK(off.find("k") == nullptr);
  CHECK(off.stats().rejected == 1);
  response_cache on{8192};
  CHECK_FALSE(on.insert("k", nullptr));
  CHECK(on.stats().entries == 0);
}

TEST_CASE("http_response_cache: a reader keeps an evicted body alive") {
  response_cache cache{8 * entry_charge};
  CHECK(cache.insert("k1", body_of(body_size, 'a')));
  const auto held = cache.find("k1");
  for (int i = 2; i <= 9; ++i)
    CHECK(cache.insert("k" + std::to_string(i), body_of(body_size)));
  CHECK(cache.find("k1") == nullptr);
  REQUIRE(held != nullptr);
  CHECK(*held == std::string(body_size, 'a'));
}

TEST_CASE("http_response_cache: clear drops the entries, keeps the counters") {
  response_cache cache{8192};
  CHECK(cache.insert("k1", body_of(10)));
  CHECK(cache.find("k1") != nullptr);
  cache.clear();
  CHECK(cache.find("k1") == nullptr);
  const response_cache_stats s = cache.stats();
  CHECK(s.entries == 0);
  CHECK(s.bytes == 0);
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
  CHECK(cache.insert("k1", body_of(10)));
}

TEST_CASE("http_response_cache: threads sharing the cache see only their keys' bodies") {
  response_cache cache{16 * 1024};
  constexpr int threads = 4;
  constexpr int operations = 20'000;
  std::atomic<int> wrong{0};
  std::atomic<std::uint64_t> finds{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::uint32_t rng = 0x9e3779b9u * static_cast<std::uint32_t>(t + 1);
      for (int i = 0; i < operations; ++i) {
        rng = rng * 1664525u + 1013904223u;
        const unsigned k = (rng >> 16) % 64;
        const std::string key = "key" + std::to_string(k);
        // Each key's body is derived from the key, so any mix-up shows.
        const std::size_t size = 50 + k * 5;
        if ((rng >> 8) % 3 == 0) {
          cache.insert(key, body_of(size, static_cast<char>('A' + k % 26)));
        } else {
          finds.fetch_add(1);
          if (const auto body = cache.find(key)) {
            if (*body != std::string(size, static_cast<char>('A' + k % 26)))
              wrong.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& th : pool)
    th.join();
  CHECK(wrong.load() == 0);
  const response_cache_stats s = cache.stats();
  CHECK(s.hits + s.misses == finds.load());
  CHECK(s.bytes <= 16 * 1024);
  CHECK(s.entries <= 64);
  CHECK(s.evictions > 0);
}

TEST_CASE("http_response_cache: with a share of 1 one entry may take the whole capacity") {
  response_cache cache{1000, 1};
  CHECK(cache.max_entry_bytes() == 1000);
  CHECK(cache.insert("k1", body_of(1000 - 2 - response_cache::entry_overhead)));
  CHECK_FALSE(cache.insert("k2", body_of(1000 - 2 - response_cache::entry_overhead + 1)));
  CHECK(cache.find("k1") != nullptr);
}

TEST_CASE("http_response_cache: a key is claimed the second time it is asked for") {
  response_cache cache{10'000, 1};
  CHECK_FALSE(cache.claim_fill("a", 100));  // noted
  CHECK(cache.claim_fill("a", 100));
  CHECK_FALSE(cache.claim_fill("a", 100));  // claimed already
  // Abandoned: the key stays noted, so the next reader claims it at once.
  cache.release_fill("a");
  CHECK(cache.claim_fill("a", 100));
  // Stored: never claimed again.
  CHECK(cache.insert("a", body_of(100)));
  cache.release_fill("a");
  CHECK_FALSE(cache.claim_fill("a", 100));
  CHECK_FALSE(cache.claim_fill("a", 100));
}

TEST_CASE("http_response_cache: the notes of keys asked for once are bounded") {
  response_cache cache{10'000, 1};
  CHECK_FALSE(cache.claim_fill("first", 10));
  // A flood of distinct keys starts the notes again: "first" is forgotten.
  for (std::size_t i = 0; i < response_cache::noted_keys_limit; ++i)
    CHECK_FALSE(cache.claim_fill("k" + std::to_string(i), 10));
  CHECK_FALSE(cache.claim_fill("first", 10));
  CHECK(cache.claim_fill("first", 10));
}

TEST_CASE("http_response_cache: claims together stay within the capacity") {
  response_cache cache{10'000, 1};
  // Each key asked for once before, so that the next claim is decided by size alone.
  for (const char* key : {"a", "b", "c", "d", "e", "f"})
    CHECK_FALSE(cache.claim_fill(key, 1));
  CHECK(cache.claim_fill("a", 4000));
  CHECK(cache.claim_fill("b", 4000));
  CHECK_FALSE(cache.claim_fill("c", 2001));  // 4000 + 4000 + 2001 bytes being filled
  CHECK(cache.claim_fill("c", 1000));
  CHECK_FALSE(cache.claim_fill("d", 20'000));  // over max_entry_bytes() on its own
  // A finished fill, stored: its bytes are free again for another key.
  CHECK(cache.insert("a", body_of(3500)));
  cache.release_fill("a");
  CHECK(cache.claim_fill("e", 4000));
  // An abandoned fill frees its bytes.
  cache.release_fill("b");
  CHECK(cache.claim_fill("b", 4000));
  cache.release_fill("not claimed");         // harmless
  CHECK_FALSE(cache.claim_fill("f", 1001));  // b 4000 + c 1000 + e 4000 + 1001
}

TEST_CASE("http_response_cache: capacity 0 gives no claim") {
  response_cache cache{0, 1};
  CHECK_FALSE(cache.claim_fill("a", 1));
  CHECK_FALSE(cache.claim_fill("a", 1));
}
