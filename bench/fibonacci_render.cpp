// numsequence-bench-fibonacci: how fast the largest Fibonacci answer is produced.
//
// Renders the JSON body of the first N Fibonacci numbers (default: the default
// --max-fibonacci, the largest answer the server gives) two ways, best of 5 each:
// whole, into one string (render_all, as a cache fills), and streamed in 256 KiB pieces into
// one reused buffer (as a connection sends it). Then times fibonacci_checksum over the same
// list, and, as the floor under render_all, filling a freshly allocated string of the body's
// size. Prints one JSON line; body_md5 lets another implementation check it wrote the same
// bytes (bench/fibonacci_python.py).
//
//   numsequence-bench-fibonacci [N]      default 25000, at most 1000000

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>

#include "cli.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/sequence/fibonacci_render.hpp"

namespace {

using namespace numsequence;
using clock_type = std::chrono::steady_clock;

constexpr int rounds = 5;
constexpr std::size_t piece = 256 * 1024;

// The best (shortest) of `rounds` runs of f, in seconds.
template <class F>
double best_of(F&& f) {
  double best = std::numeric_limits<double>::max();
  for (int i = 0; i < rounds; ++i) {
    const auto start = clock_type::now();
    f();
    best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
  }
  return best;
}

std::string md5_hex(const std::string& text) {
  md5_digest d{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), d.data(), &size, EVP_md5(), nullptr) != 1)
    throw std::runtime_error("MD5 failed");
  return to_hex(d);
}

double mb_per_s(std::size_t bytes, double seconds) {
  return static_cast<double>(bytes) / seconds / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = default_max_fibonacci;
  if (argc > 2 || (argc == 2 && std::string(argv[1]).starts_with("-"))) {
    std::cerr << "usage: numsequence-bench-fibonacci [N]   (default " << default_max_fibonacci
              << ")\n";
    return 2;
  }
  if (argc == 2) {
    const auto parsed = cli::parse_unsigned<std::uint64_t>(argv[1]);
    if (!parsed || *parsed > 1'000'000) {
      std::cerr << "numsequence-bench-fibonacci: N must be 0-1000000\n";
      return 2;
    }
    n = *parsed;
  }
  try {
    const fibonacci_query query{fibonacci_shape::first_n, fibonacci_format::json, 0, n};
    std::string body;
    const double whole = best_of([&] { body = render_all(query); });

    std::string buffer;
    buffer.reserve(piece + 64 * 1024);
    std::size_t streamed = 0;
    const double pieces = best_of([&] {
      fibonacci_renderer renderer{query};
      streamed = 0;
      while (renderer.render(buffer, piece)) {
        streamed += buffer.size();
        buffer.clear();
      }
    });

    // The floor under render_all: a fresh string of the body's size, allocated and written
    // once (the kernel maps and zeroes every page on first touch).
    const double fresh = best_of([&] {
      std::string touched(body.size(), 'x');
      if (touched.back() != 'x')
        throw std::runtime_error("unreachable");
    });

    md5_digest list_md5{};
    const double checksum = best_of([&] { list_md5 = fibonacci_checksum(0, n); });

    std::printf(
        "{\"n\":%llu,\"bytes\":%zu,\"render_all_s\":%.4f,\"render_all_mb_s\":%.0f,"
        "\"fresh_memory_s\":%.4f,\"streamed_bytes\":%zu,\"streamed_s\":%.4f,\"streamed_mb_s\":%.0f,"
        "\"checksum_s\":%.4f,\"checksum_mb_s\":%.0f,\"body_md5\":\"%s\",\"list_md5\":\"%s\"}\n",
        static_cast<unsigned long long>(n), body.size(), whole, mb_per_s(body.size(), whole), fresh,
        streamed, pieces, mb_per_s(streamed, pieces), checksum, mb_per_s(body.size(), checksum),
        md5_hex(body).c_str(), to_hex(list_md5).c_str());
    return streamed == body.size() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "numsequence-bench-fibonacci: " << e.what() << '\n';
    return 1;
  }
}
