#pragma once
// numsequence-bench-web: the stream's answer frames (`{"id":…,"from":K,"numbers":[…]}` … then
// `{"id":…,"done":true,"count":C,"md5":"…"}`), read with yajl, which hands a number over as
// the text it is: Fibonacci numbers have thousands of digits, past any double.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/sequence/checksum.hpp"

namespace numsequence::bench::web {

/// @brief What a frame of the stream is, from its first member after "id".
enum class frame_kind { numbers, done, error, unknown };

/// @brief The frame's kind, read from its beginning only (the parse stops at the first member
/// that is not "id"), so it costs little however long the frame. unknown for text that is not
/// a JSON object.
frame_kind classify_frame(std::string_view frame);

/// @brief Checks one answer, its frames given in order: numbers frames whose "from" continue
/// where the last ended and whose numbers are plain decimal integers, then the done frame,
/// whose count must equal the numbers received and whose md5 must equal their checksum
/// (MD5 of Python's str(list)), computed here, and the expected one when given.
///
/// Each method throws std::runtime_error saying what is wrong.
class answer_check {
 public:
  /// @brief `first`: the index of the answer's first number; `count`: how many are asked for.
  answer_check(std::uint64_t first, std::uint64_t count, std::optional<md5_digest> expected);

  void numbers_frame(std::string_view frame);
  void done_frame(std::string_view frame);

  /// @brief The checksum the server sent (after done_frame()).
  const std::string& server_md5() const noexcept { return server_md5_; }
  std::uint64_t received() const noexcept { return received_; }

 private:
  friend struct frame_callbacks;

  std::uint64_t first_;
  std::uint64_t count_;
  std::optional<md5_digest> expected_;
  list_checksum checksum_;
  std::uint64_t received_ = 0;
  std::string server_md5_;

  // Parse state of the frame being read.
  int depth_ = 0;
  std::string key_;  // the last top-level member name
  bool in_numbers_ = false;
  std::string failure_;  // why a callback stopped the parse
  std::optional<std::uint64_t> from_;
  std::optional<std::uint64_t> done_count_;
  bool done_ = false;
};

}  // namespace numsequence::bench::web
