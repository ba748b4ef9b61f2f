#pragma once
// What one connection does in each mode (see --help). Each runs as a task() on its
// worker, marks itself ready once set up and waits at the gate, then measures.

#include <asio/awaitable.hpp>

#include "bench/worker.hpp"

namespace numsequence::bench {

/// @brief Complete sessions (INIT, RECV every batch, FIN) one after another, each on a
/// fresh connection, until the window ends or --sessions-per-connection are done.
asio::awaitable<void> session_connection(worker& w);

/// @brief One session of n numbers, then RECV round trips over its batches (wrapping)
/// for the window; the session is finished and its FAC checked afterwards.
asio::awaitable<void> recv_connection(worker& w);

/// @brief A connection parked mid-session (INIT and one RECV), kept in the worker's
/// `held` until the run is over.
asio::awaitable<void> hold_connection(worker& w);

/// @brief 1-byte round trips against the bench's own echo server: the floor.
asio::awaitable<void> pingpong_connection(worker& w);

}  // namespace numsequence::bench
