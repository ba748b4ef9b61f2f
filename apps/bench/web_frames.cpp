#include "bench/web_frames.hpp"

#include <yajl/yajl_parse.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "cli.hpp"

namespace numsequence::bench::web {
namespace {

using handle = std::unique_ptr<yajl_handle_t, decltype(&yajl_free)>;

// yajl's message for a parse that failed (not one a callback stopped).
std::string yajl_message(yajl_handle h, std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  unsigned char* m = yajl_get_error(h, 0, bytes, text.size());
  std::string out = reinterpret_cast<const char*>(m);
  yajl_free_error(h, m);
  return out;
}

std::string_view text_of(const unsigned char* s, std::size_t n) {
  return {reinterpret_cast<const char*>(s), n};
}

// classify_frame(): stops at the first top-level member that is not "id".
struct classify_state {
  int depth = 0;
  frame_kind kind = frame_kind::unknown;
};

int classify_key(void* ctx, const unsigned char* key, std::size_t n) {
  auto& s = *static_cast<classify_state*>(ctx);
  if (s.depth != 1)
    return 1;
  const std::string_view name = text_of(key, n);
  if (name == "id")
    return 1;
  s.kind = name == "from"    ? frame_kind::numbers
           : name == "done"  ? frame_kind::done
           : name == "error" ? frame_kind::error
                             : frame_kind::unknown;
  return 0;  // enough: cancel the parse
}

}  // namespace

frame_kind classify_frame(std::string_view frame) {
  static const yajl_callbacks callbacks{
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      [](void*, const char*, std::size_t) { return 1; },
      nullptr,
      [](void* ctx) {
        ++static_cast<classify_state*>(ctx)->depth;
        return 1;
      },
      &classify_key,
      [](void* ctx) {
        --static_cast<classify_state*>(ctx)->depth;
        return 1;
      },
      [](void* ctx) {
        ++static_cast<classify_state*>(ctx)->depth;
        return 1;
      },
      [](void* ctx) {
        --static_cast<classify_state*>(ctx)->depth;
        return 1;
      },
  };
  classify_state state;
  const handle h(yajl_alloc(&callbacks, nullptr, &state), &yajl_free);
  if (!h)
    throw std::bad_alloc();
  yajl_parse(h.get(), reinterpret_cast<const unsigned char*>(frame.data()), frame.size());
  return state.kind;
}

// answer_check's yajl callbacks, with access to the check they serve (ctx).
struct frame_callbacks {
  static answer_check& self(void* ctx) noexcept { return *static_cast<answer_check*>(ctx); }

  static int stop(answer_check& c, std::string why) {
    c.failure_ = std::move(why);
    return 0;
  }

  static int number(void* ctx, const char* text, std::size_t n) {
    auto& c = self(ctx);
    const std::string_view digits(text, n);
    const bool plain =
        std::all_of(digits.begin(), digits.end(), [](char d) { return d >= '0' && d <= '9'; });
    if (c.in_numbers_) {
      if (!plain)
        return stop(c,
                    "a number that is not a plain integer: " + std::string(digits.substr(0, 40)));
      c.checksum_.add_decimal(digits);
      ++c.received_;
      return 1;
    }
    if (c.depth_ != 1)
      return 1;
    const auto value = cli::parse_unsigned<std::uint64_t>(digits);
    if (c.key_ == "from")
      c.from_ = value;
    else if (c.key_ == "count")
      c.done_count_ = value;
    if ((c.key_ == "from" || c.key_ == "count") && !value)
      return stop(c, "\"" + c.key_ + "\" is not an unsigned integer: " + std::string(digits));
    return 1;
  }

  static int boolean(void* ctx, int value) {
    auto& c = self(ctx);
    if (c.depth_ == 1 && c.key_ == "done")
      c.done_ = value != 0;
    return 1;
  }

  static int string(void* ctx, const unsigned char* s, std::size_t n) {
    auto& c = self(ctx);
    if (c.in_numbers_)
      return stop(c, "a string in \"numbers\"");
    if (c.depth_ == 1 && c.key_ == "md5")
      c.server_md5_.assign(text_of(s, n));
    return 1;
  }

  static int key(void* ctx, const unsigned char* k, std::size_t n) {
    auto& c = self(ctx);
    if (c.depth_ == 1)
      c.key_.assign(text_of(k, n));
    return 1;
  }

  static int open(void* ctx) {
    auto& c = self(ctx);
    if (c.in_numbers_)
      return stop(c, "an array or object in \"numbers\"");
    ++c.depth_;
    if (c.depth_ == 2 && c.key_ == "numbers")
      c.in_numbers_ = true;
    return 1;
  }

  static int close(void* ctx) {
    auto& c = self(ctx);
    --c.depth_;
    c.in_numbers_ = false;
    return 1;
  }

  static int other(void* ctx) {
    auto& c = self(ctx);
    return c.in_numbers_ ? stop(c, "null in \"numbers\"") : 1;
  }

  // Parses a whole frame, throwing for invalid JSON or what a callback refused.
  static void parse(answer_check& c, std::string_view frame) {
    static const yajl_callbacks callbacks{&other, &boolean, nullptr, nullptr, &number, &string,
                                          &open,  &key,     &close,  &open,   &close};
    c.depth_ = 0;
    c.key_.clear();
    c.in_numbers_ = false;
    c.failure_.clear();
    const handle h(yajl_alloc(&callbacks, nullptr, &c), &yajl_free);
    if (!h)
      throw std::bad_alloc();
    const auto* bytes = reinterpret_cast<const unsigned char*>(frame.data());
    yajl_status st = yajl_parse(h.get(), bytes, frame.size());
    if (st == yajl_status_ok)
      st = yajl_complete_parse(h.get());
    if (!c.failure_.empty())
      throw std::runtime_error("bad answer frame: " + c.failure_);
    if (st != yajl_status_ok)
      throw std::runtime_error("answer frame is not JSON: " + yajl_message(h.get(), frame));
  }
};

answer_check::answer_check(std::uint64_t first, std::uint64_t count,
                           std::optional<md5_digest> expected)
    : first_(first), count_(count), expected_(expected) {}

void answer_check::numbers_frame(std::string_view frame) {
  const std::uint64_t before = received_;
  from_.reset();
  frame_callbacks::parse(*this, frame);
  if (!from_ || *from_ != first_ + before)
    throw std::runtime_error("numbers frame \"from\" is " +
                             (from_ ? std::to_string(*from_) : std::string("missing")) +
                             ", expected " + std::to_string(first_ + before));
  if (received_ > count_)
    throw std::runtime_error("more numbers than asked for (" + std::to_string(received_) + ")");
}

void answer_check::done_frame(std::string_view frame) {
  done_ = false;
  done_count_.reset();
  frame_callbacks::parse(*this, frame);
  if (!done_ || !done_count_)
    throw std::runtime_error("done frame without \"done\":true and a count: " +
                             std::string(frame.substr(0, 200)));
  if (*done_count_ != received_ || received_ != count_)
    throw std::runtime_error("count: asked " + std::to_string(count_) + ", received " +
                             std::to_string(received_) + ", done frame says " +
                             std::to_string(*done_count_));
  const std::string mine = to_hex(checksum_.finish());
  if (server_md5_ != mine)
    throw std::runtime_error("md5 of the numbers received is " + mine + ", the server says " +
                             server_md5_);
  if (expected_ && mine != to_hex(*expected_))
    throw std::runtime_error("md5 of the numbers received is " + mine + ", expected " +
                             to_hex(*expected_));
}

}  // namespace numsequence::bench::web
