#include "numsequence/protocol/refusal.hpp"

#include "numsequence/protocol/codec.hpp"
#include "numsequence/protocol/error.hpp"

namespace numsequence {
namespace {

// The reference's texts, with the subject around which they are built.
constexpr std::string_view already_exists_suffix = " already exist";
constexpr std::string_view does_not_exist_prefix = "Client-id: ";
constexpr std::string_view does_not_exist_suffix = " does not exist";
constexpr std::string_view invalid_index_prefix = "Invalid batch index requested: ";
// The limit is a runtime setting (--max-fibonacci), so it is the subject.
constexpr std::string_view fibonacci_limit_prefix = "n too large for fibonacci (at most ";
constexpr std::string_view fibonacci_limit_suffix = " on this server)";

class refusal_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "numsequence.refusal"; }

  std::string message(int value) const override {
    switch (static_cast<refusal>(value)) {
      case refusal::already_exists:
        return std::string(already_exists_suffix.substr(1));
      case refusal::does_not_exist:
        return std::string(does_not_exist_suffix.substr(1));
      case refusal::invalid_batch_index:
        return std::string(invalid_index_prefix.substr(0, invalid_index_prefix.size() - 2));
      case refusal::store_unavailable:
        return "session store unavailable";
      case refusal::too_many_sessions:
        // A capacity refusal, not a fault: a record expires and a later INIT may succeed.
        return "too many sessions (the server's session limit is reached, try again later)";
      case refusal::server_busy:
        return "server busy";
      case refusal::fibonacci_too_large:
        return "n too large for fibonacci";
    }
    // Not a `default:` label, so -Wswitch flags a new enumerator without a text.
    return "unknown refusal";
  }
};

}  // namespace

const std::error_category& refusal_category() noexcept {
  static const refusal_category_impl category;
  return category;
}

std::string refusal_text(refusal r, std::string_view subject) {
  switch (r) {
    case refusal::already_exists:
      return std::string(subject) + std::string(already_exists_suffix);
    case refusal::does_not_exist:
      return std::string(does_not_exist_prefix) + std::string(subject) +
             std::string(does_not_exist_suffix);
    case refusal::invalid_batch_index:
      return std::string(invalid_index_prefix) + std::string(subject);
    case refusal::fibonacci_too_large:
      return std::string(fibonacci_limit_prefix) + std::string(subject) +
             std::string(fibonacci_limit_suffix);
    case refusal::store_unavailable:
    case refusal::too_many_sessions:
    case refusal::server_busy:
      break;
  }
  return make_error_code(r).message();
}

void append_refusal(std::string& out, refusal r, std::string_view subject) {
  append_err(out, refusal_text(r, subject));
}

bool is_transient(refusal r) noexcept {
  return r == refusal::store_unavailable || r == refusal::server_busy;
}

std::error_code classify_err(std::string_view text) {
  if (text.starts_with(does_not_exist_prefix) && text.ends_with(does_not_exist_suffix))
    return refusal::does_not_exist;
  if (text.ends_with(already_exists_suffix))
    return refusal::already_exists;
  if (text.starts_with(invalid_index_prefix))
    return refusal::invalid_batch_index;
  if (text.starts_with(fibonacci_limit_prefix) && text.ends_with(fibonacci_limit_suffix))
    return refusal::fibonacci_too_large;
  for (auto r : {refusal::store_unavailable, refusal::too_many_sessions, refusal::server_busy}) {
    if (text == refusal_text(r))
      return r;
  }
  // The server's complaints about our own bytes: the protocol_errc texts, in order.
  for (int e = static_cast<int>(protocol_errc::frame_too_long);
       e <= static_cast<int>(last_protocol_errc); ++e) {
    const auto code = make_error_code(static_cast<protocol_errc>(e));
    if (text == code.message())
      return code;
  }
  return {};
}

}  // namespace numsequence
