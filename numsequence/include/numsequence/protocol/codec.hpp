#pragma once
/// @brief Parsing frames into typed messages and encoding messages to wire bytes.
///
/// No I/O here: parse functions take one frame (as cut by frame_decoder, without
/// its `;`), encode functions append the complete wire form, `;` included.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "numsequence/protocol/message.hpp"

namespace numsequence {

/// @brief Parses a client-to-server frame. On error `out` is unspecified.
std::error_code parse_client_message(std::string_view frame, client_message& out);

/// @brief Parses a server-to-client frame. NUM numbers must fit uint32.
/// On error `out` is unspecified. Reuses `out`'s vector capacity where it can.
std::error_code parse_server_message(std::string_view frame, server_message& out);

// Client to server.
/// @brief `INIT,<id>,<n>,<batch>;`, with `,<kind>` before the `;` unless the kind is random.
void append_init(std::string& out, const init_message& m);
void append_cont(std::string& out, const cont_message& m);
void append_recv(std::string& out, std::uint64_t index);
void append_fin(std::string& out);

// Server to client.
void append_ack(std::string& out);
/// @brief `NUM,a:b:...;` (an empty batch is `NUM,;`).
void append_num(std::string& out, std::span<const std::uint32_t> numbers);

/// @brief Where a piece of a NUM reply sits in the reply.
enum class num_piece : std::uint8_t {
  whole,   ///< `NUM,a:b;`: the reply in one piece (what append_num writes)
  first,   ///< `NUM,a:b`: more numbers follow
  middle,  ///< `:c:d`: more numbers follow
  last,    ///< `:e:f;`
};
/// @brief Part of a NUM reply, so that a large batch can be formatted and written a piece
/// at a time: first, middle… and last pieces, concatenated, are the bytes of the whole
/// reply. Every piece but `whole` must hold at least one number.
void append_num_piece(std::string& out, std::span<const std::uint32_t> numbers, num_piece where);
void append_fac(std::string& out, const md5_digest& checksum);
/// @brief `ERR,<text>;`; any `;` in text is replaced by `,` so the frame stays one message,
/// and any byte outside printable ASCII (control bytes, UTF-8) by `?` so the peer's
/// parser accepts it.
void append_err(std::string& out, std::string_view text);

/// @brief The wire form of one message, for tests and logs.
std::string encode(const client_message& m);
std::string encode(const server_message& m);

}  // namespace numsequence
