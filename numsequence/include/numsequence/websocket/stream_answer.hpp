#pragma once
/// @brief The answer to a stream request: its text frames, produced one at a time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci.hpp"
#include "numsequence/websocket/stream_request.hpp"

namespace numsequence {

/// @brief The default most bytes of one numbers frame.
inline constexpr std::size_t default_frame_budget = 16 * 1024;

/// @brief Writes the frames of one answer, each when asked for, so a connection holds one
/// frame of it whatever the count.
///
/// Frames, in order (no spaces; "id" first, and only when the request had one):
/// - `{"id":…,"from":K,"numbers":[…]}` one or more times: K is the index of the frame's first
///   number. A frame is at most `frame_budget` bytes, "id" included, and holds at least one
///   number; a number is never split, so a number too large for the budget goes alone in a
///   frame of its own, the only kind of frame past the budget. A request for no numbers
///   (n = 0) gets one frame with an empty list.
/// - `{"id":…,"done":true,"count":C,"md5":"…"}`: C numbers in all, md5 of Python's
///   `str(list)` of them, hashed as the frames were written (never a second pass). An answer of
///   the first n goes on from the longest prefix whose checksum an earlier answer saved
///   (fibonacci_checksum_prefixes), and saves the ones it passes.
///
/// Not thread-safe; one per request being answered. Movable.
///
/// @code
/// stream_answer a{"7", {0, 5, false}};
/// std::string frame;
/// a.next_frame(frame);  // {"id":7,"from":0,"numbers":[0,1,1,2,3]}
/// a.next_frame(frame);  // {"id":7,"done":true,"count":5,"md5":"…"}
/// a.done();             // true; next_frame() now returns false
/// @endcode
class stream_answer {
 public:
  /// @brief Positions at F(query.first) (one fast doubling). Throws std::out_of_range for an
  /// index past max_fibonacci_index, which a request checked against --max-fibonacci never has.
  stream_answer(std::optional<std::string> id, stream_query query,
                std::size_t frame_budget = default_frame_budget);

  /// @brief Replaces `out` with the next frame's text; false, `out` empty, once all are out.
  bool next_frame(std::string& out);

  /// @brief True once the summary frame has been produced.
  bool done() const noexcept { return stage_ == stage::done; }
  /// @brief Numbers written into frames so far.
  std::uint64_t sent() const noexcept { return query_.count - remaining_; }

 private:
  enum class stage { numbers, summary, done };

  void numbers_frame(std::string& out);
  void summary_frame(std::string& out);
  void hash(std::uint64_t index, std::string_view digits);

  std::string prefix_;  // `{"id":…,` or `{`
  stream_query query_;
  std::size_t frame_budget_;
  std::uint64_t remaining_;
  fibonacci_cursor cursor_;
  std::unique_ptr<list_checksum> checksum_;  // held by pointer: list_checksum does not move
  std::uint64_t hashed_from_ = 0;            // numbers below this index are in checksum_ already
  stage stage_ = stage::numbers;
};

/// @brief The text of `{"id":…,"error":"…"}` ("id" left out when absent), the message as a
/// JSON string.
std::string stream_error_frame(const std::optional<std::string>& id, std::string_view message);

}  // namespace numsequence
