// numsequence-bench-parked: what one parked session costs the in-memory store.
//
// Creates N sessions in a memory_session_store (as INIT does), parks each (as a connection
// that ends does), and prints one JSON line with this process's RSS and heap in use before
// and after: growth / N is the bytes per parked session. Nothing is purged during the run
// (the purge window is an hour). Faster and quieter than opening N connections to a server,
// and it measures the store alone.
//
//   numsequence-bench-parked [SESSIONS]      default 1000000, at most 10000000

#include <malloc.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "bench/process.hpp"
#include "cli.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/store/memory_session_store.hpp"

namespace {

using namespace numsequence;

struct sample {
  std::uint64_t sessions = 0;
  std::uint64_t rss_kb = 0;
  std::uint64_t heap_bytes = 0;
};

sample take_sample(std::uint64_t sessions) {
  const struct mallinfo2 m = mallinfo2();
  return {sessions, bench::proc_status_kb(0, "VmRSS").value_or(0),
          static_cast<std::uint64_t>(m.uordblks + m.hblkhd)};
}

client_id make_id(std::mt19937_64& rng) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(client_id::size, '-');
  const std::uint64_t bits[2] = {rng(), rng()};
  std::size_t nibble = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      continue;
    text[i] = digits[(bits[nibble / 16] >> (4 * (nibble % 16))) & 0xf];
    ++nibble;
  }
  return *client_id::parse(text);
}

asio::awaitable<void> fill(memory_session_store& store, std::uint64_t count,
                           std::vector<sample>& samples, std::uint64_t& failures) {
  std::mt19937_64 rng(12345);
  for (std::uint64_t i = 1; i <= count; ++i) {
    session_record record;
    record.sequence.mode = sequence_mode::normal;
    record.sequence.seed = rng();
    record.sequence.id = make_id(rng);
    record.sequence.n = 1 + static_cast<std::uint32_t>(rng() % max_count);
    record.sequence.batch = 5;
    const lease_id lease = i;
    if (co_await store.async_create(record, lease) != store_status::ok)
      ++failures;
    co_await store.async_park(record, lease);
    if (i % (count / 4 == 0 ? 1 : count / 4) == 0)
      samples.push_back(take_sample(i));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t count = 1'000'000;
  if (argc > 2 || (argc == 2 && std::string(argv[1]).starts_with("-"))) {
    std::cerr << "usage: numsequence-bench-parked [SESSIONS]   (default 1000000)\n";
    return 2;
  }
  if (argc == 2) {
    const auto parsed = cli::parse_unsigned<std::uint64_t>(argv[1]);
    if (!parsed || *parsed == 0 || *parsed > 10'000'000) {
      std::cerr << "numsequence-bench-parked: SESSIONS must be 1-10000000\n";
      return 2;
    }
    count = *parsed;
  }
  try {
    asio::io_context io(1);
    memory_session_store store(io.get_executor(), std::chrono::hours(1));
    std::vector<sample> samples;
    std::uint64_t failures = 0;
    const sample before = take_sample(0);
    const auto start = std::chrono::steady_clock::now();
    std::exception_ptr failure;
    asio::co_spawn(io, fill(store, count, samples, failures), [&](std::exception_ptr e) {
      failure = e;
      io.stop();  // the purge timer would keep run() going for an hour
    });
    io.run();
    if (failure)
      std::rethrow_exception(failure);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const sample after = samples.empty() ? take_sample(count) : samples.back();

    const auto per = [&](std::uint64_t b, std::uint64_t a, std::uint64_t scale, std::uint64_t n) {
      return (static_cast<double>(a) - static_cast<double>(b)) * static_cast<double>(scale) /
             static_cast<double>(n);
    };
    std::printf(
        "{\"sessions\":%llu,\"stored\":%llu,\"failures\":%llu,\"seconds\":%.2f,"
        "\"rss_before_kb\":%llu,\"rss_after_kb\":%llu,\"rss_bytes_per_session\":%.1f,"
        "\"heap_bytes_per_session\":%.1f,\"samples\":[",
        static_cast<unsigned long long>(count), static_cast<unsigned long long>(store.size()),
        static_cast<unsigned long long>(failures), seconds,
        static_cast<unsigned long long>(before.rss_kb),
        static_cast<unsigned long long>(after.rss_kb),
        per(before.rss_kb, after.rss_kb, 1024, count),
        per(before.heap_bytes, after.heap_bytes, 1, count));
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const auto& s = samples[i];
      std::printf(
          "%s{\"sessions\":%llu,\"rss_bytes_per_session\":%.1f,"
          "\"heap_bytes_per_session\":%.1f}",
          i ? "," : "", static_cast<unsigned long long>(s.sessions),
          per(before.rss_kb, s.rss_kb, 1024, s.sessions),
          per(before.heap_bytes, s.heap_bytes, 1, s.sessions));
    }
    std::printf("]}\n");
    return failures == 0 && store.size() == count ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "numsequence-bench-parked: " << e.what() << '\n';
    return 1;
  }
}
