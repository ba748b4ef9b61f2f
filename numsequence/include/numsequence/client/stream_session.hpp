#pragma once
/// @brief The interactive stream client's rules, without any I/O: a typed line becomes a
/// request, answer frames become lines to print, a dropped connection becomes a resumed request.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "numsequence/sequence/checksum.hpp"

namespace numsequence {

/// @brief A line the user typed, read.
struct stream_line {
  enum class kind {
    blank,    ///< nothing but spaces: ignored
    first_n,  ///< `N`: F(0) … F(N-1)
    range,    ///< `A B`: F(A) … F(B)
    invalid,  ///< anything else: `error` says what is wrong
  };
  kind what = kind::blank;
  std::uint64_t a = 0;  ///< first_n: N; range: A
  std::uint64_t b = 0;  ///< range: B
  std::string error;    ///< invalid: a message for a person, quoting (an excerpt of) the line
};

/// @brief The longest line read as a request, in bytes; a longer one is invalid (a reader
/// may cut a line after max_stream_line + 1 bytes: it is refused all the same).
inline constexpr std::size_t max_stream_line = 200;

/// @brief Reads a line: one or two whole numbers (decimal digits, leading zeros allowed)
/// separated by spaces or tabs, with spaces, tabs and a final CR around them.
///
/// Invalid, each with its message: a negative number, anything that is not a whole number
/// (`abc`, `1.5`, `1e3`, `+5`), more than two numbers, a number past 2^64 - 1, A > B, the
/// range 0 … 2^64 - 1 (its count does not fit in 64 bits), a line over max_stream_line bytes.
/// The server's own limit (`--max-fibonacci`) is the server's to enforce: its error frame says
/// it.
///
/// @code
/// parse_stream_line("10");      // first_n, a = 10
/// parse_stream_line(" 5\t7 ");  // range, a = 5, b = 7
/// parse_stream_line("7 5");     // invalid: "A must not be greater than B, got 7 and 5"
/// @endcode
stream_line parse_stream_line(std::string_view line);

/// @brief One interactive stream client's side of `/v1/stream`, over as many connections as it
/// takes: each typed line is a request answered before the next line is read.
///
/// A good line starts an answer and request() is the JSON text to send:
/// `{"id":K,"sequence":"fibonacci","n":N}` or `…"from":A,"to":B}`, K counting the lines
/// answered (1, 2, …). Each answer frame is checked (its id, that it starts at the next index,
/// that it does not bring more numbers than asked for) and its numbers are appended to `out`,
/// one per line, as the server wrote them. The `done` frame is checked against the numbers
/// received (count, and MD5 of Python's `str(list)` of them, computed here) and the summary
/// line is appended: `done count=C md5=M`, C and M of the whole answer (F(A) … F(B)).
///
/// When the connection drops during an answer, on_connection_lost() makes request() ask for
/// the numbers not yet printed: `{"id":K,"sequence":"fibonacci","from":I,"to":B}` with I the
/// next index, so the output is the whole sequence exactly once. Each part is checked against
/// its own `done` frame; a part cut by a drop has none (its numbers were printed as they came).
/// A drop after the last number but before the `done` frame completes the answer here, with
/// a note in message() that the last part's checksum was lost.
///
/// Not thread-safe; one driver owns it. Not movable.
///
/// @code
/// stream_session s;
/// s.on_line("5");            // true: write request() = {"id":1,"sequence":"fibonacci","n":5}
/// std::string out;
/// s.on_frame(R"({"id":1,"from":0,"numbers":[0,1,1,2,3]})", out);  // more; out "0\n1\n1\n2\n3\n"
/// s.on_frame(R"({"id":1,"done":true,"count":5,"md5":"…"})", out);  // answered; summary added
/// @endcode
class stream_session {
 public:
  /// @brief What an answer frame did.
  enum class frame_result {
    more,      ///< the answer goes on: read the next frame
    answered,  ///< the answer is complete and checked: the summary line is in `out`
    refused,   ///< the server refused the request (its error frame), nothing was printed:
               ///< message() has its text; the connection is still good
    failed,    ///< the answer is wrong or unreadable, or the server stopped it part way:
               ///< message() says how; close the connection (its state is unknown)
  };

  stream_session();
  ~stream_session();
  stream_session(const stream_session&) = delete;
  stream_session& operator=(const stream_session&) = delete;

  /// @brief A typed line. True when it starts an answer (send request()); false when it is
  /// blank (message() empty) or invalid (message() says why: nothing is sent). During an
  /// answer a line is not taken (false, with a message).
  bool on_line(std::string_view line);

  /// @brief An answer is in progress: it has been asked for and is not complete.
  bool answering() const noexcept { return answering_; }
  /// @brief The JSON text of the request to send for the answer in progress: the whole
  /// request, or after a drop the rest of it.
  std::string request() const;

  /// @brief An answer frame (a text message). Appends to `out` what to print.
  frame_result on_frame(std::string_view text, std::string& out);

  /// @brief The connection dropped. During an answer, request() now asks for the rest; true
  /// when the answer goes on (send request() on a new connection), false when it was
  /// complete but for its `done` frame: it is then answered, the summary line in `out` and a
  /// note in message().
  bool on_connection_lost(std::string& out);

  /// @brief The last message for a person: why a line or an answer was refused or failed, or
  /// a note; empty when there is none.
  const std::string& message() const noexcept { return message_; }
  /// @brief The index of the next number to print during an answer.
  std::uint64_t next_index() const noexcept { return next_; }
  /// @brief Numbers printed in this answer (across its parts).
  std::uint64_t printed() const noexcept { return next_ - first_; }

 private:
  frame_result numbers_frame(std::uint64_t from, std::string_view numbers, std::uint64_t count,
                             std::string& out);
  frame_result done_frame(std::uint64_t count, std::string_view md5, std::string& out);
  frame_result fail(std::string why);
  void finish(std::string& out);

  bool answering_ = false;
  std::uint64_t id_ = 0;     // the answer's request id
  bool range_ = false;       // asked as A B (else as N)
  std::uint64_t first_ = 0;  // index of its first number
  std::uint64_t count_ = 0;  // how many numbers in all
  std::uint64_t next_ = 0;   // index of the next number to print
  std::uint64_t part_ = 0;   // index of the first number of the part now asked for
  bool part_frame_ = false;  // the part's first frame has come (an empty one only for 0)
  std::unique_ptr<list_checksum> whole_;  // every number printed in this answer
  std::unique_ptr<list_checksum> piece_;  // the numbers of this part
  std::string message_;
};

}  // namespace numsequence
