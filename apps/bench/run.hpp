#pragma once
// One run of the bench: the server (spawned or not), the connections on their threads,
// setup, the measured window, the drain, and the report.

#include "bench/options.hpp"

namespace numsequence::bench {

/// @brief Runs the bench as `o` says and prints its report; the exit status (0 ok, 1
/// errors or no checksum verified where one must be).
/// @throws std::exception if the server cannot be started or the target not resolved.
int run(const bench_options& o);

}  // namespace numsequence::bench
