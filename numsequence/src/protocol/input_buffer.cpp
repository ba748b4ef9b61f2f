#include "numsequence/protocol/input_buffer.hpp"

#include <cassert>
#include <cstring>

namespace numsequence {

void input_buffer::make_room(std::size_t n) {
  // Drop used bytes first, so the buffer only grows for bytes still pending.
  if (begin_ > 0) {
    std::memmove(held_.data(), held_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (held_.size() < end_ + n)
    held_.resize(end_ + n);
}

std::span<char> input_buffer::prepare(std::size_t n) {
  assert(lent_.empty() && "prepare() while lent bytes are pending");
  make_room(n);
  return {held_.data() + end_, n};
}

void input_buffer::feed(std::string_view bytes) {
  assert(lent_.empty() && "feed() while lent bytes are pending: call keep_rest() first");
  if (end_ > begin_) {
    // An unfinished message is held: the new bytes continue it.
    make_room(bytes.size());
    std::memcpy(held_.data() + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
    return;
  }
  begin_ = end_ = 0;
  lent_ = bytes;
}

void input_buffer::keep_rest() {
  if (lent_.empty())
    return;
  const std::string_view rest = lent_.substr(begin_);
  lent_ = {};
  begin_ = end_ = 0;
  if (rest.empty())
    return;
  make_room(rest.size());
  std::memcpy(held_.data(), rest.data(), rest.size());
  end_ = rest.size();
}

void input_buffer::release_if_empty() noexcept {
  if (lent_.empty() && end_ == begin_) {
    if (capacity() != 0)  // nothing to give back otherwise: the common case, kept cheap
      std::string().swap(held_);
    begin_ = end_ = 0;
  }
}

}  // namespace numsequence
