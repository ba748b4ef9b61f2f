#include "numsequence/client/stream_frame.hpp"

#include <yajl/yajl_parse.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <utility>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/websocket/excerpt.hpp"

namespace numsequence {

namespace {

enum class member : std::size_t { other, id, from, numbers, done, count, md5, error, none };

constexpr std::array<std::string_view, 7> member_names = {"id",    "from", "numbers", "done",
                                                          "count", "md5",  "error"};

constexpr bool is_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The SAX events of one frame, kept as the frame's fields. Returning false stops yajl.
class frame_reader {
 public:
  stream_frame frame;
  std::string problem;  // set when a value is wrong: the frame is invalid

  bool value(std::string_view text, bool is_number, bool is_string);
  bool open(bool is_object);
  bool close();
  bool key(std::string_view name);

  bool has(member m) const noexcept { return seen_[static_cast<std::size_t>(m)]; }

 private:
  bool member_value(std::string_view text, bool is_number, bool is_string);
  bool number_element(std::string_view text, bool is_number);
  bool fail(std::string why) {
    problem = std::move(why);
    return false;
  }

  std::size_t depth_ = 0;  // containers open, the root object counted
  member current_ = member::none;
  bool in_numbers_ = false;  // inside the array of `numbers`
  std::array<bool, 8> seen_{};
};

bool frame_reader::key(std::string_view name) {
  if (depth_ != 1)
    return true;
  current_ = member::other;
  for (std::size_t i = 0; i < member_names.size(); ++i) {
    if (member_names[i] == name)
      current_ = static_cast<member>(i + 1);
  }
  if (current_ == member::other)
    return true;
  auto& seen = seen_[static_cast<std::size_t>(current_)];
  if (seen)
    return fail("member \"" + std::string(name) + "\" given twice");
  seen = true;
  return true;
}

bool frame_reader::value(std::string_view text, bool is_number, bool is_string) {
  if (depth_ == 0)
    return fail("not a JSON object");
  if (depth_ == 1)
    return member_value(text, is_number, is_string);
  if (in_numbers_ && depth_ == 2)
    return number_element(text, is_number);
  return true;  // inside an ignored member or the id
}

bool frame_reader::number_element(std::string_view text, bool is_number) {
  if (!is_number || !is_digits(text))
    return fail("numbers must hold non-negative integers only, got " + excerpt(text));
  frame.numbers.append(text);
  frame.numbers += '\n';
  ++frame.number_count;
  return true;
}

bool frame_reader::member_value(std::string_view text, bool is_number, bool is_string) {
  const member m = std::exchange(current_, member::none);
  const auto integer = [&](std::string_view name, std::uint64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (!is_number || !is_digits(text) || ec != std::errc{} || end != text.data() + text.size())
      return fail(std::string(name) + " must be an integer from 0 to 2^64 - 1, got " +
                  excerpt(text));
    return true;
  };
  switch (m) {
    case member::id:
      frame.id = is_string ? '"' + excerpt(text) + '"' : std::string(text);
      return true;
    case member::from:
      return integer("from", frame.from);
    case member::count:
      return integer("count", frame.count);
    case member::done:
      if (is_number || is_string || text != "true")
        return fail("done must be true, got " + excerpt(text));
      return true;
    case member::md5:
      if (!is_string || !md5_from_hex(text))
        return fail("md5 must be 32 lowercase hex digits, got " + excerpt(text));
      frame.md5.assign(text);
      return true;
    case member::error:
      if (!is_string)
        return fail("error must be a string, got " + excerpt(text));
      frame.message.assign(text);
      return true;
    case member::numbers:
      return fail("numbers must be an array, got " + excerpt(text));
    case member::other:
    case member::none:
      return true;
  }
  return true;
}

bool frame_reader::open(bool is_object) {
  if (depth_++ == 0)
    return is_object ? true : fail("not a JSON object");
  if (depth_ == 2) {
    const member m = std::exchange(current_, member::none);
    if (m == member::numbers && !is_object) {
      in_numbers_ = true;
      return true;
    }
    if (m == member::id) {
      frame.id = is_object ? "{...}" : "[...]";
      return true;
    }
    if (m != member::other)
      return fail(std::string(member_names[static_cast<std::size_t>(m) - 1]) +
                  (is_object ? " must not be an object" : " must not be an array"));
    return true;
  }
  if (in_numbers_ && depth_ == 3)
    return fail("numbers must hold non-negative integers only, got a nested value");
  return true;
}

bool frame_reader::close() {
  if (--depth_ == 1)
    in_numbers_ = false;
  return true;
}

// yajl's callbacks, each forwarding to the frame_reader in ctx.
frame_reader& reader(void* ctx) {
  return *static_cast<frame_reader*>(ctx);
}
std::string_view text_of(const unsigned char* s, std::size_t n) {
  return {reinterpret_cast<const char*>(s), n};
}

int on_null(void* ctx) {
  return reader(ctx).value("null", false, false) ? 1 : 0;
}
int on_boolean(void* ctx, int b) {
  return reader(ctx).value(b != 0 ? "true" : "false", false, false) ? 1 : 0;
}
int on_number(void* ctx, const char* s, std::size_t n) {
  return reader(ctx).value({s, n}, true, false) ? 1 : 0;
}
int on_string(void* ctx, const unsigned char* s, std::size_t n) {
  return reader(ctx).value(text_of(s, n), false, true) ? 1 : 0;
}
int on_key(void* ctx, const unsigned char* s, std::size_t n) {
  return reader(ctx).key(text_of(s, n)) ? 1 : 0;
}
int on_start_map(void* ctx) {
  return reader(ctx).open(true) ? 1 : 0;
}
int on_start_array(void* ctx) {
  return reader(ctx).open(false) ? 1 : 0;
}
int on_end(void* ctx) {
  return reader(ctx).close() ? 1 : 0;
}

// The members of a frame of each kind; the kind is the one of numbers, done and error present.
std::string classify(const frame_reader& r, stream_frame::kind& what) {
  const bool numbers = r.has(member::numbers);
  const bool done = r.has(member::done);
  const bool error = r.has(member::error);
  if (numbers + done + error > 1)
    return "a frame holds one of \"numbers\", \"done\" and \"error\", not several";
  if (numbers) {
    what = stream_frame::kind::numbers;
    return r.has(member::from) ? "" : "a numbers frame without \"from\"";
  }
  if (done) {
    what = stream_frame::kind::done;
    if (!r.has(member::count))
      return "a done frame without \"count\"";
    return r.has(member::md5) ? "" : "a done frame without \"md5\"";
  }
  if (error) {
    what = stream_frame::kind::error;
    return {};
  }
  return "not an answer frame: no \"numbers\", \"done\" or \"error\"";
}

// yajl's message without its trailing newline, or a fixed text when it has none.
std::string yajl_message(yajl_handle h) {
  unsigned char* text = yajl_get_error(h, 0, nullptr, 0);
  std::string message = text != nullptr ? reinterpret_cast<const char*>(text) : "invalid JSON";
  yajl_free_error(h, text);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
    message.pop_back();
  return message;
}

stream_frame invalid(std::string why) {
  stream_frame f;
  f.what = stream_frame::kind::invalid;
  f.message = std::move(why);
  return f;
}

}  // namespace

stream_frame read_stream_frame(std::string_view text) {
  // With yajl_number set, yajl passes every number as its text and never converts it.
  static constexpr yajl_callbacks callbacks{
      on_null,      on_boolean, nullptr, nullptr,        on_number, on_string,
      on_start_map, on_key,     on_end,  on_start_array, on_end,
  };
  frame_reader r;
  const std::unique_ptr<yajl_handle_t, void (*)(yajl_handle)> handle(
      yajl_alloc(&callbacks, nullptr, &r), yajl_free);
  if (!handle)
    return invalid("out of memory");
  yajl_status st =
      yajl_parse(handle.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  if (st == yajl_status_ok)
    st = yajl_complete_parse(handle.get());
  if (!r.problem.empty())
    return invalid(std::move(r.problem));
  if (st != yajl_status_ok)
    return invalid("not valid JSON: " + yajl_message(handle.get()));
  stream_frame::kind what = stream_frame::kind::invalid;
  if (std::string why = classify(r, what); !why.empty())
    return invalid(std::move(why));
  r.frame.what = what;
  return std::move(r.frame);
}

}  // namespace numsequence
