#include "numsequence/protocol/codec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <variant>

#include "numsequence/protocol/error.hpp"

namespace numsequence {
namespace {

// Space (0x20) passes this check on purpose: ERR texts contain spaces, and inside a
// client message a stray space still gets a precise answer from the field it spoils
// (invalid number, invalid client-id) instead of a vague "invalid byte".
constexpr bool is_allowed_byte(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x7f;
}

// Checked before anything else so that binary garbage is reported as such and
// never reaches the field parsers.
std::error_code check_frame(std::string_view frame) noexcept {
  if (frame.empty())
    return protocol_errc::empty_message;
  if (!std::all_of(frame.begin(), frame.end(), is_allowed_byte)) {
    return protocol_errc::invalid_byte;
  }
  return {};
}

// A frame split at its first ',': the type, then the rest. has_fields tells "FIN"
// (no fields) from "FIN," (one empty field).
struct split_frame {
  std::string_view type;
  std::string_view fields;
  bool has_fields = false;
};

split_frame split_type(std::string_view frame) noexcept {
  const auto comma = frame.find(',');
  if (comma == std::string_view::npos)
    return {frame, {}, false};
  return {frame.substr(0, comma), frame.substr(comma + 1), true};
}

std::size_t field_count(const split_frame& s) noexcept {
  if (!s.has_fields)
    return 0;
  return 1 + static_cast<std::size_t>(std::count(s.fields.begin(), s.fields.end(), ','));
}

// Removes and returns the text up to the next ',' (or all of it).
std::string_view next_field(std::string_view& fields) noexcept {
  const auto comma = fields.find(',');
  const std::string_view field = fields.substr(0, comma);
  fields.remove_prefix(comma == std::string_view::npos ? fields.size() : comma + 1);
  return field;
}

// Plain decimal: one or more ASCII digits, nothing else. Leading zeros are fine
// (they do not change the value), signs are not. Digits are checked before the
// value so "99999999999999999999x" is malformed rather than out of range.
std::error_code parse_decimal(std::string_view text, std::uint64_t min, std::uint64_t max,
                              std::uint64_t& value) noexcept {
  if (text.empty())
    return protocol_errc::invalid_number;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return protocol_errc::invalid_number;
  }
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range)
    return protocol_errc::number_out_of_range;
  if (ec != std::errc{} || ptr != text.data() + text.size())
    return protocol_errc::invalid_number;
  if (v < min || v > max)
    return protocol_errc::number_out_of_range;
  value = v;
  return {};
}

std::error_code parse_u32(std::string_view text, std::uint32_t min, std::uint32_t max,
                          std::uint32_t& value) noexcept {
  std::uint64_t v = 0;
  if (auto ec = parse_decimal(text, min, max, v))
    return ec;
  value = static_cast<std::uint32_t>(v);  // v <= max, which is a uint32
  return {};
}

std::error_code parse_id(std::string_view text, client_id& id) noexcept {
  const auto parsed = client_id::parse(text);
  if (!parsed)
    return protocol_errc::invalid_client_id;
  id = *parsed;
  return {};
}

std::error_code parse_num_list(std::string_view list, std::vector<std::uint32_t>& numbers) {
  numbers.clear();
  if (list.empty())
    return {};  // "NUM,;" is an empty batch
  numbers.reserve(1 + static_cast<std::size_t>(std::count(list.begin(), list.end(), ':')));
  for (;;) {
    const auto colon = list.find(':');
    std::uint32_t v = 0;
    if (auto ec =
            parse_u32(list.substr(0, colon), 0, std::numeric_limits<std::uint32_t>::max(), v)) {
      return ec;
    }
    numbers.push_back(v);
    if (colon == std::string_view::npos)
      return {};
    list.remove_prefix(colon + 1);  // a trailing ':' leaves "" and fails as a number
  }
}

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[std::numeric_limits<std::uint64_t>::digits10 + 1];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // the buffer holds any uint64
  out.append(digits, end);
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// RECV is nearly every message a server parses. "RECV," and 1 to 19 digits is a valid
// RECV whatever the digits (19 digits never exceed 64 bits), so it is answered here without
// the general checks; anything else takes the general path, which gives the same result
// for these frames. Reuses a recv_message already in `out`.
bool parse_plain_recv(std::string_view frame, client_message& out) noexcept {
  constexpr std::string_view prefix = "RECV,";
  constexpr std::size_t max_digits = std::numeric_limits<std::uint64_t>::digits10;  // 19
  if (frame.size() <= prefix.size() || frame.size() > prefix.size() + max_digits ||
      !frame.starts_with(prefix)) {
    return false;
  }
  std::uint64_t index = 0;
  for (const char c : frame.substr(prefix.size())) {
    if (c < '0' || c > '9')
      return false;
    index = index * 10 + static_cast<std::uint64_t>(c - '0');
  }
  auto* recv = std::get_if<recv_message>(&out);
  if (recv == nullptr)
    recv = &out.emplace<recv_message>();
  recv->index = index;
  recv->overflow_digits.clear();
  return true;
}

// INIT's fields, left to right: id, n, batch and the optional kind.
std::error_code parse_init(std::string_view fields, std::size_t count, client_message& out) {
  // The kind is optional: the reference's INIT has three fields.
  if (count != 3 && count != 4)
    return protocol_errc::wrong_field_count;
  init_message m{};
  if (auto ec = parse_id(next_field(fields), m.id))
    return ec;
  if (auto ec = parse_u32(next_field(fields), 0, max_count, m.n))
    return ec;
  if (auto ec = parse_u32(next_field(fields), 1, max_batch, m.batch))
    return ec;
  if (count == 4) {
    const auto kind = parse_kind_name(fields);
    if (!kind)
      return protocol_errc::unknown_sequence_kind;
    m.kind = *kind;
  }
  out = m;
  return {};
}

}  // namespace

std::error_code parse_client_message(std::string_view frame, client_message& out) {
  if (parse_plain_recv(frame, out))
    return {};
  if (auto ec = check_frame(frame))
    return ec;
  const split_frame s = split_type(frame);
  const std::size_t count = field_count(s);
  std::string_view fields = s.fields;

  if (s.type == "INIT")
    return parse_init(fields, count, out);
  if (s.type == "CONT") {
    if (count != 1)
      return protocol_errc::wrong_field_count;
    cont_message m{};
    if (auto ec = parse_id(fields, m.id))
      return ec;
    out = m;
    return {};
  }
  if (s.type == "RECV") {
    if (count != 1)
      return protocol_errc::wrong_field_count;
    recv_message m{};
    if (auto ec = parse_decimal(fields, 0, std::numeric_limits<std::uint64_t>::max(), m.index)) {
      if (ec != protocol_errc::number_out_of_range)
        return ec;
      // Any index is a request for a batch (spec §2): one past 64 bits is simply invalid,
      // answered with the invalid-index error like any other, quoting it as sent.
      m.index = std::numeric_limits<std::uint64_t>::max();
      const auto first = fields.find_first_not_of('0');
      m.overflow_digits = std::string(fields.substr(first));
    }
    out = std::move(m);
    return {};
  }
  if (s.type == "FIN") {
    if (count != 0)
      return protocol_errc::wrong_field_count;
    out = fin_message{};
    return {};
  }
  return protocol_errc::unknown_type;
}

std::error_code parse_server_message(std::string_view frame, server_message& out) {
  if (auto ec = check_frame(frame))
    return ec;
  const split_frame s = split_type(frame);

  if (s.type == "ACK") {
    if (s.has_fields)
      return protocol_errc::wrong_field_count;
    out = ack_message{};
    return {};
  }
  if (s.type == "NUM") {
    if (field_count(s) != 1)
      return protocol_errc::wrong_field_count;
    // Parse into the vector already in `out`, if any: a client receiving batch
    // after batch then allocates once.
    auto* num = std::get_if<num_message>(&out);
    if (num == nullptr)
      num = &out.emplace<num_message>();
    return parse_num_list(s.fields, num->numbers);
  }
  if (s.type == "FAC") {
    if (field_count(s) != 1)
      return protocol_errc::wrong_field_count;
    const auto digest = md5_from_hex(s.fields);
    if (!digest)
      return protocol_errc::invalid_checksum;
    out = fac_message{*digest};
    return {};
  }
  if (s.type == "ERR") {
    // The text is free-form and may itself contain commas.
    if (!s.has_fields)
      return protocol_errc::wrong_field_count;
    auto* err = std::get_if<err_message>(&out);
    if (err == nullptr)
      err = &out.emplace<err_message>();
    err->text.assign(s.fields);
    return {};
  }
  return protocol_errc::unknown_type;
}

void append_init(std::string& out, const init_message& m) {
  out += "INIT,";
  out += m.id.view();
  out += ',';
  append_decimal(out, m.n);
  out += ',';
  append_decimal(out, m.batch);
  if (m.kind != sequence_kind::random) {
    out += ',';
    out += kind_name(m.kind);
  }
  out += ';';
}

void append_cont(std::string& out, const cont_message& m) {
  out += "CONT,";
  out += m.id.view();
  out += ';';
}

void append_recv(std::string& out, std::uint64_t index) {
  out += "RECV,";
  append_decimal(out, index);
  out += ';';
}

void append_fin(std::string& out) {
  out += "FIN;";
}

void append_ack(std::string& out) {
  out += "ACK;";
}

void append_num(std::string& out, std::span<const std::uint32_t> numbers) {
  append_num_piece(out, numbers, num_piece::whole);
}

namespace {

// "00" "01" ... "99": two digits per table look-up.
constexpr std::array<char, 200> two_digits = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[static_cast<std::size_t>(2 * i)] = static_cast<char>('0' + i / 10);
    t[static_cast<std::size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// Writes v in decimal at p, which has room for 10 bytes; returns the end. Two digits per
// step from the right into a scratch buffer, then a copy of a constant 10 bytes (two moves,
// no call) of which the number's own are kept: NUM replies are mostly ten-digit numbers, and
// this is the server's hottest loop.
char* write_u32(char* p, std::uint32_t v) noexcept {
  char tmp[20];
  char* const end = tmp + 10;
  char* t = end;
  while (v >= 100) {
    const std::uint32_t r = v % 100;
    v /= 100;
    t -= 2;
    t[0] = two_digits[2 * r];
    t[1] = two_digits[2 * r + 1];
  }
  if (v >= 10) {
    t -= 2;
    t[0] = two_digits[2 * v];
    t[1] = two_digits[2 * v + 1];
  } else {
    *--t = static_cast<char>('0' + v);
  }
  std::memcpy(p, t, 10);  // t + 10 stays within tmp
  return p + (end - t);
}

}  // namespace

void append_num_piece(std::string& out, std::span<const std::uint32_t> numbers, num_piece where) {
  const bool opens = where == num_piece::whole || where == num_piece::first;
  const bool closes = where == num_piece::whole || where == num_piece::last;
  // Formatted on the stack a chunk at a time and appended, so the string is neither
  // zero-filled nor resized twice.
  constexpr std::size_t chunk = 64;
  char buffer[4 + chunk * 11 + 1 + 10];  // "NUM," ... ":4294967295" ... ";", and write_u32's slack
  std::size_t i = 0;
  do {
    char* p = buffer;
    if (opens && i == 0) {
      std::memcpy(p, "NUM,", 4);
      p += 4;
    }
    const std::size_t end = std::min(numbers.size(), i + chunk);
    for (; i < end; ++i) {
      if (i != 0 || !opens)
        *p++ = ':';
      p = write_u32(p, numbers[i]);
    }
    if (closes && i == numbers.size())
      *p++ = ';';
    out.append(buffer, static_cast<std::size_t>(p - buffer));
  } while (i < numbers.size());
}

void append_fac(std::string& out, const md5_digest& checksum) {
  out += "FAC,";
  out += to_hex(checksum);
  out += ';';
}

void append_err(std::string& out, std::string_view text) {
  out += "ERR,";
  // ';' would end the message early; other bytes outside printable ASCII would
  // make the peer reject the whole message as invalid_byte and lose the reason.
  for (const char c : text) {
    if (c == ';') {
      out += ',';
    } else if (is_allowed_byte(c)) {
      out += c;
    } else {
      out += '?';
    }
  }
  out += ';';
}

std::string encode(const client_message& m) {
  std::string out;
  std::visit(overloaded{
                 [&](const init_message& x) { append_init(out, x); },
                 [&](const cont_message& x) { append_cont(out, x); },
                 [&](const recv_message& x) {
                   if (x.overflow_digits.empty()) {
                     append_recv(out, x.index);
                   } else {
                     out += "RECV," + x.overflow_digits + ";";
                   }
                 },
                 [&](const fin_message&) { append_fin(out); },
             },
             m);
  return out;
}

std::string encode(const server_message& m) {
  std::string out;
  std::visit(overloaded{
                 [&](const ack_message&) { append_ack(out); },
                 [&](const num_message& x) { append_num(out, x.numbers); },
                 [&](const fac_message& x) { append_fac(out, x.checksum); },
                 [&](const err_message& x) { append_err(out, x.text); },
             },
             m);
  return out;
}

}  // namespace numsequence
