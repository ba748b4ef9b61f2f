#include "numsequence/websocket/stream_request.hpp"

#include <array>

#include "numsequence/websocket/excerpt.hpp"
#include "numsequence/websocket/json_text.hpp"

namespace numsequence {

namespace {

using kind = json_value_text::kind;

// The members read, in this order.
constexpr std::array<std::string_view, 5> member_names = {"id", "sequence", "n", "from", "to"};
enum member : std::size_t { id_member, sequence_member, n_member, from_member, to_member };

constexpr std::string_view served_sequence = "fibonacci";

// A count or an index: the value, or the complaint naming `field`.
struct count_check {
  std::uint64_t value = 0;
  std::string error;
};

// `below`: the value must be below it (to: B < max_fibonacci), else at most it (n <= max).
count_check check_count(std::string_view field, const json_value_text& v, std::uint64_t limit,
                        bool below) {
  const std::string got = ", got " + excerpt(v.text);
  const auto limit_text = [&] {
    return std::string(field) + (below ? " must be below " : " must be at most ") +
           std::to_string(limit) + " (the server's limit)" + got;
  };
  switch (v.what) {
    case kind::unsigned_integer:
      if (below ? v.number >= limit : v.number > limit)
        return {0, limit_text()};
      return {v.number, {}};
    case kind::large_integer:
      return {0, limit_text()};
    default:
      return {0, std::string(field) + " must be a non-negative integer" + got};
  }
}

std::string check_sequence(const json_value_text& sequence) {
  if (sequence.what != kind::string)
    return "sequence must be a string, got " + excerpt(sequence.text);
  if (sequence.string != served_sequence)
    return "unknown sequence " + excerpt(sequence.text) + ": this stream serves \"" +
           std::string(served_sequence) + "\"";
  return {};
}

// Which of n / from / to are there: the complaint when the combination is wrong.
std::string check_presence(bool n, bool from, bool to) {
  if (n && (from || to))
    return "give either n or from and to, not both";
  if (n)
    return {};
  if (!from && !to)
    return "missing field n (or from and to)";
  if (!to)
    return "missing field to (from needs it)";
  if (!from)
    return "missing field from (to needs it)";
  return {};
}

stream_query range_query(std::uint64_t from, std::uint64_t to) {
  return {from, to - from + 1, true};
}

// The fields, once the JSON is known to be an object.
std::string check_fields(const json_members& m, std::uint64_t max_fibonacci, stream_query& query) {
  if (const auto& sequence = m.values[sequence_member]) {
    if (auto e = check_sequence(*sequence); !e.empty())
      return e;
  }
  const auto& n = m.values[n_member];
  const auto& from = m.values[from_member];
  const auto& to = m.values[to_member];
  if (auto e = check_presence(n.has_value(), from.has_value(), to.has_value()); !e.empty())
    return e;
  if (n) {
    auto c = check_count("n", *n, max_fibonacci, false);
    query = {0, c.value, false};
    return std::move(c.error);
  }
  auto a = check_count("from", *from, max_fibonacci, true);
  if (!a.error.empty())
    return std::move(a.error);
  auto b = check_count("to", *to, max_fibonacci, true);
  if (!b.error.empty())
    return std::move(b.error);
  if (a.value > b.value)
    return "from must not be greater than to, got from " + excerpt(from->text) + " and to " +
           excerpt(to->text);
  query = range_query(a.value, b.value);
  return {};
}

// The JSON itself, before its fields: not JSON, not an object, a field twice.
std::string check_json(const json_members& m, std::string_view text) {
  switch (m.result) {
    case json_members::status::ok:
      return {};
    case json_members::status::not_json:
      return "request is not valid JSON: " + m.detail;
    case json_members::status::not_object:
      return "request must be a JSON object, got " + excerpt(text);
    case json_members::status::duplicate_member:
      return "field " + m.detail + " given twice";
  }
  return {};
}

// The member whose number (too large for a double) stopped the JSON parser.
std::string check_stopped(std::size_t field, const json_value_text& v,
                          std::uint64_t max_fibonacci) {
  switch (field) {
    case sequence_member:
      return check_sequence(v);
    case n_member:
    case from_member:
    case to_member:
      return check_count(member_names[field], v, max_fibonacci, field != n_member).error;
    default:  // the id: valid JSON, echoed as written, but the rest went unread
      return "id is a number too large to read: " + excerpt(v.text);
  }
}

}  // namespace

stream_request parse_stream_request(std::string_view text, std::uint64_t max_fibonacci) {
  stream_request r;
  const json_members m = read_json_members(text, member_names);
  if (r.error = check_json(m, text); !r.error.empty())
    return r;
  if (const auto& id = m.values[id_member])
    r.id = id->text;
  if (m.stopped_at) {
    // The parser stopped at this member's number: it is the one to report, before fields
    // that only look missing because parsing ended there.
    r.error = check_stopped(*m.stopped_at, *m.values[*m.stopped_at], max_fibonacci);
    return r;
  }
  r.error = check_fields(m, max_fibonacci, r.query);
  return r;
}

}  // namespace numsequence
