#include "numsequence/protocol/error.hpp"

namespace numsequence {
namespace {

// The texts go to the peer verbatim as `ERR,<text>;`, so none may contain ';' and
// each should tell a person typing into nc what to send instead. The frame limit is
// a runtime setting the category cannot see, hence no number in frame_too_long.
class protocol_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "numsequence.protocol"; }

  std::string message(int value) const override {
    switch (static_cast<protocol_errc>(value)) {
      case protocol_errc::frame_too_long:
        return "message too long (every message must end with a semicolon within a few "
               "hundred bytes)";
      case protocol_errc::empty_message:
        return "empty message (nothing before the semicolon)";
      case protocol_errc::invalid_byte:
        return "invalid byte in message (only printable ASCII is allowed)";
      case protocol_errc::unknown_type:
        return "unknown message type (types are case-sensitive, in upper case)";
      case protocol_errc::wrong_field_count:
        return "wrong number of fields for this message type";
      case protocol_errc::invalid_client_id:
        return "invalid client-id (expected a UUID such as "
               "123e4567-e89b-12d3-a456-426614174000)";
      case protocol_errc::invalid_number:
        return "invalid number (expected plain decimal digits)";
      case protocol_errc::number_out_of_range:
        return "number out of range (n is 0..65535, batch 1..65535, a batch index must fit "
               "in 64 bits)";
      case protocol_errc::invalid_checksum:
        return "invalid checksum (expected 32 lowercase hex digits)";
      case protocol_errc::session_not_started:
        return "no session on this connection yet (send INIT or CONT first)";
      case protocol_errc::session_already_started:
        return "session already started on this connection (only one INIT or CONT is "
               "allowed)";
      case protocol_errc::session_completed:
        return "session already completed (no more batches, only FIN is allowed)";
      case protocol_errc::unknown_sequence_kind:
        return "unknown sequence kind (the kinds are random and fibonacci, in lower case)";
    }
    // Not a `default:` label, so -Wswitch flags a new enumerator without a text.
    return "unknown protocol error";
  }
};

}  // namespace

const std::error_category& protocol_category() noexcept {
  static const protocol_category_impl category;
  return category;
}

}  // namespace numsequence
