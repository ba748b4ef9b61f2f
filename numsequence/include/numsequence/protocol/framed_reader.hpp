#pragma once
/// @brief Buffered framing: bytes in, `;`-terminated frames out, without any I/O.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "numsequence/protocol/frame_decoder.hpp"

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

  /// @brief Room for at least `n` more bytes at the end of what is held.
  /// Must not be called while lent bytes are pending (call keep_rest() first).
  std::span<char> prepare(std::size_t n);
  /// @brief `n` bytes of the last prepare() arrived.
  void commit(std::size_t n) noexcept;

  /// @brief Lends `bytes`, just read: the frames in them follow any held unfinished frame.
  /// If bytes are held, `bytes` is appended to them (copied) instead of lent.
  void feed(std::string_view bytes);

  /// @brief The next frame, need_more (then read more), or an error (then stop: the
  /// connection is beyond repair). need_more also drops separators, so input of only
  /// `\r`, `\n` and spaces cannot pile up.
  frame_result next() noexcept;

  /// @brief Copies what is left of lent bytes into the reader's own buffer, and drops
  /// what was consumed from it. Call before the lent buffer is reused, and before waiting.
  void keep_rest();

  /// @brief Frees the reader's buffer if it holds no byte (an idle connection).
  void release_if_empty() noexcept;

  /// @brief Bytes waiting to be framed (held or lent, not yet consumed).
  std::size_t pending() const noexcept;
  /// @brief Bytes of heap the reader holds (its buffer's capacity beyond the few bytes a
  /// std::string keeps inside itself).
  std::size_t capacity() const noexcept {
    return held_.capacity() > std::string().capacity() ? held_.capacity() : 0;
  }
  std::size_t max_frame() const noexcept { return decoder_.max_frame(); }

 private:
  // Makes held_ hold [begin_, end_) at its front and room for `n` more bytes after it. The
  // string only grows, so the room is zero-filled once, not on every read.
  void make_room(std::size_t n);

  frame_decoder decoder_;
  std::string held_;       // bytes [begin_, end_) are pending when nothing is lent
  std::size_t begin_ = 0;  // consumed bytes at the front of held_ (or of lent_)
  std::size_t end_ = 0;    // end of the bytes held; the rest of held_ is room
  std::string_view lent_;  // the caller's bytes, while they are being framed
};

}  // namespace numsequence
