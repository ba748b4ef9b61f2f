#pragma once
/// @brief One text frame of the WebSocket stream's answers (`/v1/stream`), read with every
/// number kept exactly, as the digits the server wrote.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief What a frame of an answer says.
struct stream_frame {
  enum class kind {
    numbers,  ///< `{"id":…,"from":K,"numbers":[…]}`
    done,     ///< `{"id":…,"done":true,"count":C,"md5":"…"}`
    error,    ///< `{"id":…,"error":"…"}`: the server refused the request
    invalid,  ///< not one of those: `message` says why
  };
  kind what = kind::invalid;
  /// The "id" member: a number as its digits exactly as written, any other value as compact
  /// text (a string in quotes); nullopt when absent.
  std::optional<std::string> id;
  /// kind::numbers: the index of the first number.
  std::uint64_t from = 0;
  /// kind::numbers: the numbers, each one's decimal digits followed by '\n', in order.
  std::string numbers;
  /// kind::numbers: how many numbers `numbers` holds.
  std::uint64_t number_count = 0;
  /// kind::done: the count the server announces.
  std::uint64_t count = 0;
  /// kind::done: the server's MD5 (32 lowercase hex digits).
  std::string md5;
  /// kind::error: the server's message, decoded; kind::invalid: what is wrong with the frame.
  std::string message;
};

/// @brief Reads one frame.
///
/// JSON numbers are never converted to binary floating point: a Fibonacci number has
/// thousands of digits (F(24999) has 5,225), far past what a double holds (nlohmann-json and
/// RapidJSON stop at about 1.8e308), so the frame is read by yajl, whose number callback hands
/// over each number's text as written. A frame is kind::invalid when it is not JSON (yajl's
/// message), not an object, has a member twice, has none or several of `numbers`, `done` and
/// `error`, lacks a member its kind needs, or has a value of the wrong type: `from` and
/// `count` must be integers within 64 bits, every element of `numbers` a non-negative integer
/// written without sign, fraction or exponent, `done` true, `md5` 32 lowercase hex digits,
/// `error` a string. Other members are ignored.
///
/// @code
/// auto f = read_stream_frame(R"({"id":1,"from":5,"numbers":[5,8,13]})");
/// // f.what == kind::numbers, *f.id == "1", f.from == 5, f.numbers == "5\n8\n13\n"
/// @endcode
stream_frame read_stream_frame(std::string_view text);

}  // namespace numsequence
