#pragma once
/// @brief Buffered framing: bytes in, `;`-terminated frames out, without any I/O.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "numsequence/protocol/frame_decoder.hpp"
#include "numsequence/protocol/input_buffer.hpp"

namespace numsequence {

/// @brief A frame_decoder with the buffer around it: the one place where bytes read from a
/// peer wait to become messages (server, client and bench all read through it).
///
/// Two ways to give it bytes:
/// - read into it: prepare() room, read into that span, commit() what arrived (a client,
///   a TLS connection: the read may wait with the span);
/// - lend it bytes read elsewhere: feed() a view of a buffer that other connections reuse
///   (a thread's scratch buffer). Frames are then cut from the lent bytes in place, and
///   keep_rest() copies only what is left (usually nothing, or part of one frame) before the
///   lent buffer is reused. So an idle server connection holds no read buffer at all.
///
/// A frame returned by next() is a view valid until the next call to prepare(), feed() or
/// keep_rest().
///
/// @code
/// framed_reader reader{256};
/// reader.feed("RECV,0;RECV,");      // lent: the caller's buffer
/// reader.next();                    // frame "RECV,0"
/// reader.next();                    // need_more
/// reader.keep_rest();               // "RECV," copied: the caller may reuse its buffer
/// reader.feed("1;");
/// reader.next();                    // frame "RECV,1"
/// @endcode
class framed_reader {
 public:
  explicit framed_reader(std::size_t max_frame) noexcept : decoder_(max_frame) {}

  /// @brief Room for at least `n` more bytes (see input_buffer::prepare()).
  std::span<char> prepare(std::size_t n) { return input_.prepare(n); }
  /// @brief `n` bytes of the last prepare() arrived.
  void commit(std::size_t n) noexcept { input_.commit(n); }
  /// @brief Lends `bytes`, just read (see input_buffer::feed()).
  void feed(std::string_view bytes) { input_.feed(bytes); }

  /// @brief The next frame, need_more (then read more), or an error (then stop: the
  /// connection is beyond repair). need_more also drops separators, so input of only
  /// `\r`, `\n` and spaces cannot pile up.
  frame_result next() noexcept {
    frame_result r = decoder_.consume(input_.view());
    input_.consume(r.consumed);
    return r;
  }

  /// @brief Copies what is left of lent bytes (see input_buffer::keep_rest()). Call before
  /// the lent buffer is reused, and before waiting.
  void keep_rest() { input_.keep_rest(); }
  /// @brief Frees the reader's buffer if it holds no byte (an idle connection).
  void release_if_empty() noexcept { input_.release_if_empty(); }

  /// @brief Bytes waiting to be framed (held or lent, not yet consumed).
  std::size_t pending() const noexcept { return input_.pending(); }
  /// @brief Bytes of heap the reader holds.
  std::size_t capacity() const noexcept { return input_.capacity(); }
  std::size_t max_frame() const noexcept { return decoder_.max_frame(); }

 private:
  frame_decoder decoder_;
  input_buffer input_;
};

}  // namespace numsequence
