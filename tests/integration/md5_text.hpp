#pragma once
/// @file
/// @brief MD5 of bytes as 32 lowercase hex digits (OpenSSL), to compare what the server sent
/// with MD5s Python computed.

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

namespace numsequence::integration {

inline std::string md5_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_md5(), nullptr) != 1)
    throw std::runtime_error("MD5 failed (EVP_Digest)");
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += "0123456789abcdef"[digest[i] >> 4];
    hex += "0123456789abcdef"[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace numsequence::integration
