#pragma once
/// @file
/// @brief The server's side of a WebSocket as the tests read it: frames taken off the bytes
/// received (RFC 6455 section 5.2), and the stream's JSON frames (http.md) checked and taken
/// apart with nlohmann-json, the numbers kept as their exact digits.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace numsequence::integration {

/// @brief One frame as it came over the wire.
struct ws_frame {
  bool fin = true;
  std::uint8_t opcode = 0;
  bool masked = false;  ///< a server never masks (RFC 6455 section 5.1)
  std::string payload;  ///< unmasked

  /// @brief A close frame's code (1005 when it has none).
  std::uint16_t close_code() const {
    if (payload.size() < 2)
      return 1005;
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
  }
};

inline constexpr std::uint8_t ws_text = 0x1;
inline constexpr std::uint8_t ws_close = 0x8;
inline constexpr std::uint8_t ws_ping = 0x9;
inline constexpr std::uint8_t ws_pong = 0xa;

/// @brief The frame at the front of `bytes` and its size on the wire; nullopt while it is not
/// whole.
inline std::optional<std::pair<ws_frame, std::size_t>> frame_at(std::string_view bytes) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  if (bytes.size() < 2)
    return std::nullopt;
  ws_frame f;
  f.fin = (byte(0) & 0x80) != 0;
  f.opcode = byte(0) & 0x0f;
  f.masked = (byte(1) & 0x80) != 0;
  std::uint64_t length = byte(1) & 0x7f;
  std::size_t at = 2;
  const std::size_t extended = length == 126 ? 2 : length == 127 ? 8 : 0;
  if (bytes.size() < at + extended)
    return std::nullopt;
  if (extended != 0) {
    length = 0;
    for (std::size_t i = 0; i < extended; ++i)
      length = (length << 8) | byte(at + i);
    at += extended;
  }
  const std::size_t key_at = at;
  if (f.masked)
    at += 4;
  if (bytes.size() < at || bytes.size() - at < length)
    return std::nullopt;
  f.payload = bytes.substr(at, static_cast<std::size_t>(length));
  if (f.masked) {
    for (std::size_t i = 0; i < f.payload.size(); ++i)
      f.payload[i] = static_cast<char>(f.payload[i] ^ bytes[key_at + i % 4]);
  }
  return std::pair{std::move(f), at + static_cast<std::size_t>(length)};
}

/// @brief Takes the first frame off the front of `bytes`; nullopt while it is not whole.
inline std::optional<ws_frame> take_frame(std::string& bytes) {
  auto f = frame_at(bytes);
  if (!f)
    return std::nullopt;
  bytes.erase(0, f->second);
  return std::move(f->first);
}

/// @brief Every whole frame in `bytes` (what is left of a cut one is dropped).
inline std::vector<ws_frame> split_frames(std::string_view bytes) {
  std::vector<ws_frame> frames;
  std::size_t used = 0;
  while (auto f = frame_at(bytes.substr(used))) {
    frames.push_back(std::move(f->first));
    used += f->second;
  }
  return frames;
}

/// @brief One text frame of the stream, taken apart. `valid` is false unless it is one of
/// the three kinds http.md describes, written as it says (no spaces, "id" first).
struct stream_frame {
  bool valid = false;
  nlohmann::json json;            ///< the frame without its numbers (see `numbers`)
  std::optional<std::string> id;  ///< "id" as compact JSON text
  // A numbers frame:
  std::optional<std::uint64_t> from;
  std::vector<std::string> numbers;  ///< exact digits, as written
  // A done frame:
  bool done = false;
  std::uint64_t count = 0;
  std::string md5;
  // An error frame:
  std::optional<std::string> error;
};

/// @brief Reads one text frame of the stream.
///
/// A numbers frame's list is taken out before nlohmann-json reads the rest: its numbers
/// overflow a double past about 300 digits, which the library refuses to parse. The list's
/// place is fixed by the contract (no spaces, "numbers" last), so it is found by its bytes.
inline stream_frame read_stream_frame(std::string_view text) {
  constexpr std::string_view list_key = R"("numbers":[)";
  stream_frame f;
  std::string skeleton(text);
  std::optional<std::string_view> list;
  if (const auto at = text.find(list_key); at != std::string_view::npos && text.ends_with("]}")) {
    const std::size_t list_at = at + list_key.size();
    list = text.substr(list_at, text.size() - 2 - list_at);
    skeleton = std::string(text.substr(0, list_at)) + "]}";
  }
  f.json = nlohmann::json::parse(skeleton, nullptr, /*allow_exceptions=*/false);
  if (!f.json.is_object())
    return f;
  if (f.json.contains("id"))
    f.id = f.json["id"].dump();
  const std::string prefix = f.id ? R"({"id":)" + *f.id + "," : "{";
  if (!text.starts_with(prefix))
    return f;
  if (f.json.contains("error")) {
    f.error = f.json["error"].is_string() ? f.json["error"].get<std::string>() : "";
    f.valid = f.json.size() == (f.id ? 2u : 1u) && f.json["error"].is_string();
    return f;
  }
  if (f.json.contains("done")) {
    f.done = true;
    f.valid = f.json["done"] == true && f.json.size() == (f.id ? 4u : 3u) &&
              f.json["count"].is_number_unsigned() && f.json["md5"].is_string();
    if (f.valid) {
      f.count = f.json["count"].get<std::uint64_t>();
      f.md5 = f.json["md5"].get<std::string>();
      f.valid = f.md5.size() == 32;
    }
    return f;
  }
  if (!list || !f.json.contains("from") || !f.json["from"].is_number_unsigned() ||
      f.json.size() != (f.id ? 3u : 2u))
    return f;
  f.from = f.json["from"].get<std::uint64_t>();
  if (!text.starts_with(prefix + R"("from":)" + std::to_string(*f.from) + "," +
                        std::string(list_key)))
    return f;
  f.valid = true;
  while (!list->empty()) {
    const auto comma = list->find(',');
    f.numbers.emplace_back(list->substr(0, comma));
    *list = comma == std::string_view::npos ? std::string_view() : list->substr(comma + 1);
  }
  for (const auto& n : f.numbers) {
    // Exact integers, written as JSON writes them: digits, no leading zero.
    f.valid = f.valid && !n.empty() && n.find_first_not_of("0123456789") == std::string::npos &&
              (n == "0" || n[0] != '0');
  }
  return f;
}

/// @brief Python's `str(list)` of numbers given as digits: `[0, 1, 1, 2, 3]`, the text the
/// stream's md5 is of.
inline std::string python_list(const std::vector<std::string>& numbers) {
  std::string s = "[";
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0)
      s += ", ";
    s += numbers[i];
  }
  return s + "]";
}

}  // namespace numsequence::integration
