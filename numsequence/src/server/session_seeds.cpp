#include "numsequence/server/session_seeds.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace numsequence {
namespace {

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t random_uint64() {
  std::uint64_t value = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof value) != 1) {
    throw std::runtime_error("the OS random source failed (RAND_bytes)");
  }
  return value;
}

std::uint64_t make_session_seed(const std::optional<std::uint64_t>& fixed_seed,
                                const client_id& id) {
  if (!fixed_seed)
    return random_uint64();
  // FNV-1a over the id text, then mixed with the fixed seed: stable across
  // processes and machines, unlike std::hash.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : id.view()) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return splitmix64(*fixed_seed ^ splitmix64(h));
}

}  // namespace numsequence
