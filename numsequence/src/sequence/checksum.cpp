#include "numsequence/sequence/checksum.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <memory>
#include <stdexcept>

namespace numsequence {

std::string to_hex(const md5_digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(32, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 0x0f];
  }
  return s;
}

std::optional<md5_digest> md5_from_hex(std::string_view hex) noexcept {
  if (hex.size() != 32)
    return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  md5_digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = value(hex[2 * i]);
    const int lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return d;
}

namespace {

// Fetched once: an explicit fetch avoids the provider lookup that the implicit
// EVP_md5() does on every EVP_DigestInit. Never freed; it lives as long as the process.
const EVP_MD* md5_algorithm() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "MD5", nullptr);
    // Throwing leaves the static uninitialised, so a later call tries again.
    if (fetched == nullptr)
      throw std::runtime_error("MD5 is not available (EVP_MD_fetch)");
    return fetched;
  }();
  return md;
}

// The longest piece add() writes: ", " and the ten digits of 4294967295.
constexpr std::size_t max_piece = 2 + 10;

}  // namespace

struct list_checksum::evp_state {
  EVP_MD_CTX* ctx = nullptr;

  evp_state() : ctx(EVP_MD_CTX_new()) {
    if (ctx == nullptr)
      throw std::runtime_error("out of memory (EVP_MD_CTX_new)");
  }
  ~evp_state() { EVP_MD_CTX_free(ctx); }
  evp_state(const evp_state&) = delete;
  evp_state& operator=(const evp_state&) = delete;

  void init() {
    if (EVP_DigestInit_ex2(ctx, md5_algorithm(), nullptr) != 1) {
      throw std::runtime_error("MD5 init failed (EVP_DigestInit_ex2)");
    }
  }
};

list_checksum::list_checksum() {
  auto state = std::make_unique<evp_state>();
  state->init();
  evp_ = state.release();
}

list_checksum::~list_checksum() {
  delete evp_;
}

void list_checksum::add(std::uint32_t value) {
  if (pending_.size() - used_ < max_piece)
    flush();
  if (first_) {
    pending_[used_++] = '[';
    first_ = false;
  } else {
    pending_[used_++] = ',';
    pending_[used_++] = ' ';
  }
  char* const begin = pending_.data() + used_;
  // Cannot fail: max_piece reserves room for the longest uint32.
  const auto result = std::to_chars(begin, pending_.data() + pending_.size(), value);
  used_ += static_cast<std::size_t>(result.ptr - begin);
}

void list_checksum::add_decimal(std::string_view digits) {
  if (pending_.size() - used_ < 2)
    flush();
  if (first_) {
    pending_[used_++] = '[';
    first_ = false;
  } else {
    pending_[used_++] = ',';
    pending_[used_++] = ' ';
  }
  // Short numbers are gathered like add()'s; a long one goes to MD5 directly, uncopied.
  if (digits.size() <= pending_.size() - used_) {
    digits.copy(pending_.data() + used_, digits.size());
    used_ += digits.size();
    return;
  }
  flush();
  if (EVP_DigestUpdate(evp_->ctx, digits.data(), digits.size()) != 1) {
    throw std::runtime_error("MD5 update failed (EVP_DigestUpdate)");
  }
}

void list_checksum::flush() {
  if (used_ == 0)
    return;
  if (EVP_DigestUpdate(evp_->ctx, pending_.data(), used_) != 1) {
    throw std::runtime_error("MD5 update failed (EVP_DigestUpdate)");
  }
  used_ = 0;
}

md5_digest list_checksum::finish() {
  if (pending_.size() - used_ < 2)
    flush();
  if (first_)
    pending_[used_++] = '[';  // the empty list is "[]"
  pending_[used_++] = ']';
  flush();
  md5_digest digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(evp_->ctx, digest.data(), &size) != 1 || size != digest.size()) {
    throw std::runtime_error("MD5 final failed (EVP_DigestFinal_ex)");
  }
  // Ready for the next list, as documented.
  first_ = true;
  evp_->init();
  return digest;
}

struct list_checksum_state {
  list_checksum::evp_state evp;
  bool first = true;
};

std::shared_ptr<const list_checksum_state> list_checksum::save() {
  flush();
  auto state = std::make_shared<list_checksum_state>();
  if (EVP_MD_CTX_copy_ex(state->evp.ctx, evp_->ctx) != 1)
    throw std::runtime_error("MD5 state copy failed (EVP_MD_CTX_copy_ex)");
  state->first = first_;
  return state;
}

void list_checksum::restore(const list_checksum_state& state) {
  if (EVP_MD_CTX_copy_ex(evp_->ctx, state.evp.ctx) != 1)
    throw std::runtime_error("MD5 state copy failed (EVP_MD_CTX_copy_ex)");
  used_ = 0;
  first_ = state.first;
}

md5_digest checksum_of(std::span<const std::uint32_t> values) {
  list_checksum sum;
  sum.add(values);
  return sum.finish();
}

}  // namespace numsequence
