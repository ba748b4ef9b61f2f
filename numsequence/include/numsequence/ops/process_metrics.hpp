#pragma once
/// @brief This process's resource use, read from /proc/self, for the standard `process_*`
/// metrics.

#include <optional>

namespace numsequence {

/// @brief The values of Prometheus's standard process metrics, at the time of reading.
struct process_stats {
  double resident_memory_bytes = 0;  ///< process_resident_memory_bytes
  double virtual_memory_bytes = 0;   ///< process_virtual_memory_bytes
  double cpu_seconds = 0;            ///< process_cpu_seconds_total (user + system)
  double start_time_seconds = 0;     ///< process_start_time_seconds (since the Unix epoch)
  double open_fds = 0;               ///< process_open_fds
  double max_fds = 0;                ///< process_max_fds (the soft RLIMIT_NOFILE)
};

/// @brief Reads /proc/self/stat, /proc/stat, /proc/self/fd and the descriptor limit;
/// nullopt where /proc is not there or not in the expected form (not Linux).
/// Costs a few system calls and a directory walk: meant for scrapes, not hot paths.
std::optional<process_stats> read_process_stats();

}  // namespace numsequence
