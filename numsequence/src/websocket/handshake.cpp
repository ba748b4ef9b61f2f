#include "numsequence/websocket/handshake.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "numsequence/websocket/excerpt.hpp"

namespace numsequence {

namespace {

// RFC 6455 section 1.3: appended to the key before hashing, so only a server that read the
// RFC can answer (the accept value proves the handshake was understood, not echoed).
constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

constexpr char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

std::string quoted(std::string_view value) {
  return '"' + excerpt(value, 40, excerpt_bytes::ascii) + '"';
}

handshake_result refuse(int status, std::string reason) {
  handshake_result r;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

// A header the request must carry: "missing X header" when absent, else the complaint.
std::string header_complaint(std::string_view name, std::string_view value,
                             std::string_view expectation) {
  if (trim(value).empty())
    return "missing " + std::string(name) + " header (" + std::string(expectation) + ")";
  return std::string(name) + " header must " + std::string(expectation) + ", got " + quoted(value);
}

// RFC 6455 section 4.1: the key is base64 of 16 random bytes, so exactly 22 base64 digits
// and "==". EVP_DecodeBlock rejects other characters but not misplaced '=', hence the
// padding check here.
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==" || key.substr(0, 22).find('=') != key.npos)
    return false;
  std::array<unsigned char, 18> decoded{};
  const int n = EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(key.data()),
                                static_cast<int>(key.size()));
  // 24 characters decode to 18 bytes, the last two being the padding's zeros.
  return n == 18;
}

std::string switching_protocols(std::string_view key) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out += websocket_accept(key);
  out += "\r\n\r\n";
  return out;
}

}  // namespace

std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += websocket_guid;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("SHA-1 failed (EVP_Digest)");
  // base64 of 20 bytes: 28 characters and the terminating NUL EVP_EncodeBlock writes.
  std::array<unsigned char, 29> text{};
  const int n = EVP_EncodeBlock(text.data(), digest.data(), static_cast<int>(digest_size));
  return {reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n)};
}

bool header_has_token(std::string_view header, std::string_view token) noexcept {
  while (!header.empty()) {
    const auto comma = header.find(',');
    if (iequals(trim(header.substr(0, comma)), token))
      return true;
    if (comma == std::string_view::npos)
      break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

handshake_result accept_upgrade(const upgrade_request& request) {
  if (request.method != "GET") {
    auto r =
        refuse(405, "a WebSocket upgrade must be a GET request, got " + quoted(request.method));
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (request.http_version != "HTTP/1.1" && request.http_version != "1.1")
    return refuse(400, "a WebSocket upgrade needs HTTP/1.1, got " + quoted(request.http_version));
  if (!header_has_token(request.upgrade, "websocket"))
    return refuse(400, header_complaint("Upgrade", request.upgrade, "list \"websocket\""));
  if (!header_has_token(request.connection, "upgrade"))
    return refuse(400, header_complaint("Connection", request.connection, "list \"Upgrade\""));
  if (trim(request.ws_version).empty())
    return refuse(400, header_complaint("Sec-WebSocket-Version", request.ws_version, "be 13"));
  if (trim(request.ws_version) != "13") {
    auto r = refuse(426, header_complaint("Sec-WebSocket-Version", request.ws_version,
                                          "be 13 (the only version this server speaks)"));
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    r.headers.emplace_back("Upgrade", "websocket");
    return r;
  }
  const std::string_view key = trim(request.ws_key);
  if (!valid_key(key))
    return refuse(400, header_complaint("Sec-WebSocket-Key", request.ws_key,
                                        "be the base64 encoding of 16 bytes"));
  handshake_result r;
  r.status = 101;
  r.response = switching_protocols(key);
  return r;
}

}  // namespace numsequence
