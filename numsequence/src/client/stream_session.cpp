#include "numsequence/client/stream_session.hpp"

#include <charconv>
#include <limits>
#include <vector>

#include "numsequence/client/stream_frame.hpp"
#include "numsequence/websocket/excerpt.hpp"

namespace numsequence {

namespace {

constexpr bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i]))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i]))
      ++i;
    if (i > start)
      words.push_back(line.substr(start, i - start));
  }
  return words;
}

stream_line invalid_line(std::string why) {
  stream_line l;
  l.what = stream_line::kind::invalid;
  l.error = std::move(why);
  return l;
}

// One word as a whole number, or the complaint about it.
std::string read_number(std::string_view word, std::uint64_t& value) {
  const auto quoted = [&] { return '"' + excerpt(word) + '"'; };
  const bool digits = word.find_first_not_of("0123456789") == std::string_view::npos;
  if (word.size() > 1 && word[0] == '-' &&
      word.substr(1).find_first_not_of("0123456789") == std::string_view::npos)
    return "negative number " + quoted() + ": indexes start at 0";
  if (!digits)
    return quoted() + " is not a whole number";
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (ec != std::errc{} || end != word.data() + word.size())
    return "number too large: " + quoted() + " (the server's limit is far lower)";
  return {};
}

constexpr std::string_view usage_hint = " (type N for F(0) ... F(N-1), or A B for F(A) ... F(B))";

}  // namespace

stream_line parse_stream_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.size() > max_stream_line)
    return invalid_line("line too long (over " + std::to_string(max_stream_line) + " bytes)" +
                        std::string(usage_hint));
  const auto words = words_of(line);
  if (words.empty())
    return {};
  if (words.size() > 2)
    return invalid_line("expected one or two numbers, got " + std::to_string(words.size()) +
                        " words: \"" + excerpt(line) + "\"" + std::string(usage_hint));
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (auto e = read_number(words[0], a); !e.empty())
    return invalid_line(std::move(e) + std::string(usage_hint));
  if (words.size() == 1) {
    stream_line l;
    l.what = stream_line::kind::first_n;
    l.a = a;
    return l;
  }
  if (auto e = read_number(words[1], b); !e.empty())
    return invalid_line(std::move(e) + std::string(usage_hint));
  if (a > b)
    return invalid_line("A must not be greater than B, got " + std::to_string(a) + " and " +
                        std::to_string(b));
  if (a == 0 && b == std::numeric_limits<std::uint64_t>::max())
    return invalid_line("range too large: 0 ... 2^64 - 1 has more numbers than can be counted");
  stream_line l;
  l.what = stream_line::kind::range;
  l.a = a;
  l.b = b;
  return l;
}

stream_session::stream_session()
    : whole_(std::make_unique<list_checksum>()), piece_(std::make_unique<list_checksum>()) {}
stream_session::~stream_session() = default;

bool stream_session::on_line(std::string_view line) {
  message_.clear();
  if (answering_) {
    message_ = "a line came while an answer is in progress: it is not taken";
    return false;
  }
  const stream_line l = parse_stream_line(line);
  if (l.what == stream_line::kind::blank)
    return false;
  if (l.what == stream_line::kind::invalid) {
    message_ = l.error;
    return false;
  }
  ++id_;
  range_ = l.what == stream_line::kind::range;
  first_ = range_ ? l.a : 0;
  count_ = range_ ? l.b - l.a + 1 : l.a;
  next_ = first_;
  part_ = first_;
  part_frame_ = false;
  whole_->finish();  // resets both checksums for the new answer
  piece_->finish();
  answering_ = true;
  return true;
}

std::string stream_session::request() const {
  std::string out = "{\"id\":" + std::to_string(id_) + ",\"sequence\":\"fibonacci\",";
  if (!range_ && next_ == first_)
    return out + "\"n\":" + std::to_string(count_) + "}";
  return out + "\"from\":" + std::to_string(next_) +
         ",\"to\":" + std::to_string(first_ + count_ - 1) + "}";
}

stream_session::frame_result stream_session::on_frame(std::string_view text, std::string& out) {
  message_.clear();
  if (!answering_)
    return fail("a frame came while no answer was asked for: " + excerpt(text));
  const stream_frame f = read_stream_frame(text);
  if (f.what == stream_frame::kind::invalid)
    return fail("unreadable answer frame (" + f.message + "): " + excerpt(text));
  const std::string id = std::to_string(id_);
  if (f.what == stream_frame::kind::error && !f.id && printed() == 0) {
    // A request the server could not read has no id to echo; ours always can, but say it.
    answering_ = false;
    message_ = "the server refused the request: " + excerpt(f.message, 300);
    return frame_result::refused;
  }
  if (f.id != id)
    return fail("an answer frame for another request (id " + (f.id ? *f.id : "missing") +
                ", expected " + id + ")");
  switch (f.what) {
    case stream_frame::kind::numbers:
      return numbers_frame(f.from, f.numbers, f.number_count, out);
    case stream_frame::kind::done:
      return done_frame(f.count, f.md5, out);
    case stream_frame::kind::error:
      if (printed() > 0)
        return fail("the server stopped the answer after " + std::to_string(printed()) +
                    " numbers: " + excerpt(f.message, 300));
      answering_ = false;
      message_ = "the server refused the request: " + excerpt(f.message, 300);
      return frame_result::refused;
    case stream_frame::kind::invalid:
      break;
  }
  return fail("unreadable answer frame");
}

stream_session::frame_result stream_session::numbers_frame(std::uint64_t from,
                                                           std::string_view numbers,
                                                           std::uint64_t count, std::string& out) {
  const std::uint64_t remaining = first_ + count_ - next_;
  if (from != next_)
    return fail("a numbers frame from F(" + std::to_string(from) + "), expected F(" +
                std::to_string(next_) + ")");
  if (count > remaining)
    return fail("a numbers frame with " + std::to_string(count) + " numbers where " +
                std::to_string(remaining) + " were left to come");
  // Only an answer of no numbers has a frame without numbers, its first and only one.
  if (count == 0 && (remaining != 0 || part_frame_))
    return fail("a numbers frame without numbers");
  part_frame_ = true;
  std::size_t at = 0;
  while (at < numbers.size()) {
    const std::size_t end = numbers.find('\n', at);
    const std::string_view digits = numbers.substr(at, end - at);
    whole_->add_decimal(digits);
    piece_->add_decimal(digits);
    at = end + 1;
  }
  out.append(numbers);
  next_ += count;
  return frame_result::more;
}

stream_session::frame_result stream_session::done_frame(std::uint64_t count, std::string_view md5,
                                                        std::string& out) {
  const std::uint64_t received = next_ - part_;
  const std::uint64_t asked = first_ + count_ - part_;
  if (received != asked || count != asked)
    return fail("the server's done frame counts " + std::to_string(count) + " numbers from F(" +
                std::to_string(part_) + "); " + std::to_string(received) + " of the " +
                std::to_string(asked) + " asked for came");
  const std::string mine = to_hex(piece_->finish());
  if (md5 != mine)
    return fail("checksum mismatch: the server's md5 of the numbers from F(" +
                std::to_string(part_) + ") is " + std::string(md5) +
                ", the numbers received give " + mine);
  finish(out);
  return frame_result::answered;
}

bool stream_session::on_connection_lost(std::string& out) {
  message_.clear();
  if (!answering_)
    return false;
  if (next_ - first_ < count_ || (count_ == 0 && !part_frame_)) {
    // The rest, from the next index not printed (request() asks from there); its own done
    // frame checks it.
    part_ = next_;
    part_frame_ = false;
    piece_->finish();
    return true;
  }
  message_ =
      "the connection dropped after the last number, before the server's checksum of "
      "the numbers from F(" +
      std::to_string(part_) + "): those are not checked";
  finish(out);
  return false;
}

stream_session::frame_result stream_session::fail(std::string why) {
  answering_ = false;
  message_ = std::move(why);
  return frame_result::failed;
}

void stream_session::finish(std::string& out) {
  answering_ = false;
  out += "done count=" + std::to_string(count_) + " md5=" + to_hex(whole_->finish()) + "\n";
}

}  // namespace numsequence
