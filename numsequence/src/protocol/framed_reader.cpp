#include "numsequence/protocol/framed_reader.hpp"

#include <cassert>

namespace numsequence {

std::span<char> framed_reader::prepare(std::size_t n) {
  assert(lent_.empty() && "prepare() while lent bytes are pending");
  // Drop consumed bytes first, so the buffer only grows for bytes still pending.
  if (begin_ > 0) {
    held_.erase(0, begin_);
    begin_ = 0;
  }
  prepared_ = held_.size();
  held_.resize(prepared_ + n);
  return {held_.data() + prepared_, n};
}

void framed_reader::commit(std::size_t n) noexcept {
  assert(prepared_ + n <= held_.size());
  held_.resize(prepared_ + n);
}

void framed_reader::feed(std::string_view bytes) {
  assert(lent_.empty() && "feed() while lent bytes are pending: call keep_rest() first");
  if (held_.size() > begin_) {
    // An unfinished frame is held: the new bytes continue it.
    held_.append(bytes);
    return;
  }
  held_.clear();
  begin_ = 0;
  lent_ = bytes;
}

frame_result framed_reader::next() noexcept {
  const std::string_view source =
      lent_.empty() ? std::string_view(held_).substr(begin_) : lent_.substr(begin_);
  frame_result r = decoder_.consume(source);
  begin_ += r.consumed;
  return r;
}

void framed_reader::keep_rest() {
  if (!lent_.empty()) {
    held_.assign(lent_.substr(begin_));
    lent_ = {};
  } else {
    held_.erase(0, begin_);
  }
  begin_ = 0;
}

void framed_reader::release_if_empty() noexcept {
  if (lent_.empty() && held_.size() == begin_) {
    std::string().swap(held_);
    begin_ = 0;
  }
}

std::size_t framed_reader::pending() const noexcept {
  return (lent_.empty() ? held_.size() : lent_.size()) - begin_;
}

}  // namespace numsequence
