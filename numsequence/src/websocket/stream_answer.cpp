#include "numsequence/websocket/stream_answer.hpp"

#include "numsequence/sequence/fibonacci_checksum_prefixes.hpp"
#include "numsequence/websocket/json_text.hpp"

namespace numsequence {

namespace {

// `{"id":<id>,` or `{`: every frame of an answer starts the same way.
std::string frame_prefix(const std::optional<std::string>& id) {
  if (!id)
    return "{";
  return "{\"id\":" + *id + ",";
}

constexpr std::string_view numbers_end = "]}";

}  // namespace

stream_answer::stream_answer(std::optional<std::string> id, stream_query query,
                             std::size_t frame_budget)
    : prefix_(frame_prefix(id)),
      query_(query),
      frame_budget_(frame_budget),
      remaining_(query.count),
      cursor_(query.first),
      checksum_(std::make_unique<list_checksum>()) {
  // The first n: go on from the checksum of the longest saved prefix within them.
  if (query.first != 0)
    return;
  if (const auto p = fibonacci_checksum_prefixes::shared().at_most(query.count)) {
    checksum_->restore(*p->state);
    hashed_from_ = p->count;
  }
}

bool stream_answer::next_frame(std::string& out) {
  out.clear();
  switch (stage_) {
    case stage::numbers:
      numbers_frame(out);
      if (remaining_ == 0)
        stage_ = stage::summary;
      return true;
    case stage::summary:
      summary_frame(out);
      stage_ = stage::done;
      return true;
    case stage::done:
      return false;
  }
  return false;
}

void stream_answer::numbers_frame(std::string& out) {
  out += prefix_;
  out += "\"from\":";
  out += std::to_string(cursor_.index());
  out += ",\"numbers\":[";
  bool first = true;
  while (remaining_ > 0) {
    // Another number fits if the frame, closed after it, stays within the budget; the first
    // number goes in whatever its size.
    const std::size_t separator = first ? 0 : 1;
    if (!first &&
        out.size() + separator + cursor_.next_digits() + numbers_end.size() > frame_budget_)
      break;
    if (!first)
      out += ',';
    const std::size_t digits_at = out.size();
    const std::uint64_t index = cursor_.index();
    cursor_.append_next(out);
    if (index >= hashed_from_)
      hash(index, std::string_view(out).substr(digits_at));
    --remaining_;
    first = false;
  }
  out += numbers_end;
}

void stream_answer::hash(std::uint64_t index, std::string_view digits) {
  checksum_->add_decimal(digits);
  auto& prefixes = fibonacci_checksum_prefixes::shared();
  if (query_.first == 0 && prefixes.wants(index + 1))
    prefixes.offer(index + 1, checksum_->save());
}

void stream_answer::summary_frame(std::string& out) {
  out += prefix_;
  out += "\"done\":true,\"count\":";
  out += std::to_string(query_.count);
  out += ",\"md5\":\"";
  out += to_hex(checksum_->finish());
  out += "\"}";
}

std::string stream_error_frame(const std::optional<std::string>& id, std::string_view message) {
  std::string out = frame_prefix(id);
  out += "\"error\":";
  append_json_string(out, message);
  out += '}';
  return out;
}

}  // namespace numsequence
