#include "numsequence/sequence/python_random.hpp"

#include <openssl/evp.h>

#include <cstddef>
#include <stdexcept>
#include <vector>

namespace numsequence {
namespace {

// MT19937 parameters (Matsumoto & Nishimura, mt19937ar.c), as CPython's _randommodule.c uses them.
constexpr int period_offset = 397;  // M
constexpr std::uint32_t matrix_a = 0x9908b0dfU;
constexpr std::uint32_t upper_mask = 0x80000000U;
constexpr std::uint32_t lower_mask = 0x7fffffffU;

constexpr std::size_t sha512_size = 64;

// CPython's random.seed(str) (version 2) turns the text into one big integer,
// then into init_by_array's key. Builds that key.
std::vector<std::uint32_t> key_from_text(std::string_view text) {
  std::vector<unsigned char> bytes(text.begin(), text.end());
  bytes.resize(text.size() + sha512_size);
  unsigned int digest_size = 0;
  if (EVP_Digest(text.data(), text.size(), bytes.data() + text.size(), &digest_size, EVP_sha512(),
                 nullptr) != 1 ||
      digest_size != sha512_size) {
    throw std::runtime_error("SHA-512 failed (EVP_Digest)");
  }

  // int.from_bytes(bytes, "big") has no leading zero bytes, and CPython sizes the
  // key by the integer's bit length: leading zero bytes must not become key words.
  std::size_t first = 0;
  while (first < bytes.size() && bytes[first] == 0)
    ++first;
  const std::size_t significant = bytes.size() - first;
  // At least one word: CPython seeds the integer 0 with the key {0}.
  std::vector<std::uint32_t> key(significant == 0 ? 1 : (significant + 3) / 4, 0);

  // Least significant word first; within a word, the last byte is the lowest.
  std::size_t shift = 0;
  std::size_t word = 0;
  for (std::size_t i = bytes.size(); i > first; --i) {
    key[word] |= std::uint32_t{bytes[i - 1]} << shift;
    shift += 8;
    if (shift == 32) {
      shift = 0;
      ++word;
    }
  }
  return key;
}

}  // namespace

python_random::python_random(std::string_view text) {
  init_by_array(key_from_text(text));
}

python_random::python_random(std::span<const std::uint32_t> key) {
  if (key.empty()) {
    // init_by_array needs at least one word; CPython never passes fewer (seed 0 is {0}).
    static constexpr std::uint32_t zero_key[1] = {0};
    init_by_array(zero_key);
  } else {
    init_by_array(key);
  }
}

void python_random::init_genrand(std::uint32_t s) noexcept {
  mt_[0] = s;
  for (std::size_t i = 1; i < mt_.size(); ++i) {
    mt_[i] = 1812433253U * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
  }
  index_ = state_size;
}

void python_random::init_by_array(std::span<const std::uint32_t> key) noexcept {
  constexpr std::size_t n = state_size;
  init_genrand(19650218U);
  std::size_t i = 1;
  std::size_t j = 0;
  for (std::size_t k = n > key.size() ? n : key.size(); k > 0; --k) {
    // The arithmetic is mod 2^32 by design; uint32_t gives exactly that.
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525U)) + key[j] +
             static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= n) {
      mt_[0] = mt_[n - 1];
      i = 1;
    }
    if (j >= key.size())
      j = 0;
  }
  for (std::size_t k = n - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941U)) -
             static_cast<std::uint32_t>(i);
    ++i;
    if (i >= n) {
      mt_[0] = mt_[n - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000U;  // MSB set: assures a non-zero initial state
  index_ = state_size;
}

void python_random::twist() noexcept {
  constexpr std::size_t n = state_size;
  constexpr std::size_t m = period_offset;
  auto mix = [](std::uint32_t upper, std::uint32_t lower) noexcept {
    const std::uint32_t y = (upper & upper_mask) | (lower & lower_mask);
    return (y >> 1) ^ ((y & 1U) != 0 ? matrix_a : 0U);
  };
  std::size_t k = 0;
  for (; k < n - m; ++k)
    mt_[k] = mt_[k + m] ^ mix(mt_[k], mt_[k + 1]);
  for (; k < n - 1; ++k)
    mt_[k] = mt_[k + m - n] ^ mix(mt_[k], mt_[k + 1]);
  mt_[n - 1] = mt_[m - 1] ^ mix(mt_[n - 1], mt_[0]);
  index_ = 0;
}

std::uint32_t python_random::next_uint32() noexcept {
  if (index_ >= state_size)
    twist();
  std::uint32_t y = mt_[static_cast<std::size_t>(index_++)];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

std::uint32_t python_random::randint_0_100() noexcept {
  // CPython's _randbelow(101): getrandbits(101.bit_length() == 7), which is the
  // top 7 bits of one 32-bit draw, rejected until it is below 101.
  for (;;) {
    const std::uint32_t r = next_uint32() >> 25;
    if (r < 101)
      return r;
  }
}

}  // namespace numsequence
