#pragma once
/// @brief Bytes received from a peer and not used yet, lent or held, without any I/O.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace numsequence {

/// @brief Where bytes read from a peer wait until a protocol parser has used them: the one
/// buffer of every server and client connection, whatever the protocol (framed_reader for the
/// resumable protocol, the HTTP request parser, the WebSocket framing).
///
/// Two ways to give it bytes:
/// - read into it: prepare() room, read into that span, commit() what arrived (a client, a
///   TLS connection: the read may wait with the span);
/// - lend it bytes read elsewhere: feed() a view of a buffer that other connections reuse (a
///   thread's scratch buffer). The parser works on the lent bytes in place, and keep_rest()
///   copies only what is left (usually nothing, or part of one message) before the lender's
///   buffer is reused. So an idle server connection holds no read buffer at all.
///
/// view() is valid until the next call to prepare(), feed() or keep_rest().
class input_buffer {
 public:
  /// @brief Room for at least `n` more bytes after what is held. Not while bytes are lent.
  std::span<char> prepare(std::size_t n);
  /// @brief `n` bytes of the last prepare() arrived.
  void commit(std::size_t n) noexcept { end_ += n; }

  /// @brief Lends `bytes`, just read; they follow any held bytes. If bytes are held, `bytes`
  /// is appended to them (copied) instead of lent. Not while bytes are lent.
  void feed(std::string_view bytes);

  /// @brief The bytes not used yet.
  std::string_view view() const noexcept {
    return lent_.empty() ? std::string_view(held_.data() + begin_, end_ - begin_)
                         : lent_.substr(begin_);
  }
  /// @brief The first `n` bytes of view() are used.
  void consume(std::size_t n) noexcept { begin_ += n; }

  /// @brief Copies what is left of lent bytes into the buffer's own memory, and drops what was
  /// consumed of them. Call before the lender's buffer is reused, and before waiting.
  void keep_rest();
  /// @brief Frees the buffer's memory if it holds no byte (an idle connection).
  void release_if_empty() noexcept;

  /// @brief Bytes waiting to be used (held or lent).
  std::size_t pending() const noexcept { return (lent_.empty() ? end_ : lent_.size()) - begin_; }
  /// @brief Bytes of heap the buffer holds (its capacity beyond the few bytes a std::string
  /// keeps inside itself).
  std::size_t capacity() const noexcept {
    return held_.capacity() > std::string().capacity() ? held_.capacity() : 0;
  }

 private:
  // Makes held_ hold [begin_, end_) at its front and room for `n` more bytes after it. The
  // string only grows, so the room is zero-filled once, not on every read.
  void make_room(std::size_t n);

  std::string held_;       // bytes [begin_, end_) are pending when nothing is lent
  std::size_t begin_ = 0;  // used bytes at the front of held_ (or of lent_)
  std::size_t end_ = 0;    // end of the bytes held; the rest of held_ is room
  std::string_view lent_;  // the caller's bytes, while they are being used
};

}  // namespace numsequence
