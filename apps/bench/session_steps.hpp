#pragma once
// The steps every mode's sessions are made of: INIT, RECVs kept in flight, FIN with its
// checksum checked. Each records what it measured and any error in a stats.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "bench/options.hpp"
#include "bench/sequence_check.hpp"
#include "bench/stats.hpp"
#include "bench/wire.hpp"
#include "numsequence/protocol/client_id.hpp"
#include "numsequence/protocol/message.hpp"

namespace numsequence::bench {

/// @brief Yields the batch to ask for next, or nullopt when there is none.
using batch_source = std::function<std::optional<std::uint32_t>()>;

/// @brief The checks for a session `id` of the options' n and batch (and the generator's
/// numbers in test mode).
sequence_check check_for(const bench_options& o, const client_id& id);

/// @brief Sends RECVs for the batches `next_index` yields, keeping `window` in flight, until
/// it yields nothing or `stop_sending` passes; checks every reply. Round trips completed by
/// `count_until` are counted (never, with time_point::min()). False after an error
/// (recorded in `st`).
asio::awaitable<bool> run_recvs(wire& c, stats& st, sequence_check& seq, unsigned window,
                                const batch_source& next_index, steady::time_point stop_sending,
                                steady::time_point count_until,
                                steady::duration think_time = steady::duration::zero());

/// @brief Sends one request and reads its reply; an error text, or empty.
asio::awaitable<std::string> exchange(wire& c, std::string_view request, server_message& reply);

/// @brief Connects and sends INIT; an error text, or empty once ACK arrived.
asio::awaitable<std::string> open_session(wire& c, const asio::ip::tcp::endpoint& endpoint,
                                          const client_id& id, std::uint32_t n,
                                          std::uint32_t batch);

/// @brief Fetches any batch not seen yet, sends FIN and checks FAC against the numbers; an
/// error text, or empty (also when run_recvs recorded an error itself).
asio::awaitable<std::string> finish_session(wire& c, stats& st, sequence_check& seq,
                                            unsigned window);

}  // namespace numsequence::bench
