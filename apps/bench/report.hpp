#pragma once
// What a run found, and how it is printed: one JSON object (--json) or a few lines of text.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/options.hpp"
#include "bench/stats.hpp"

namespace numsequence::bench {

/// @brief The spawned server: how it was started and what /proc said about it.
struct server_report {
  std::vector<std::string> command;
  pid_t pid = 0;
  std::optional<std::uint64_t> rss_start_kb;
  std::optional<std::uint64_t> rss_end_kb;
  std::optional<std::uint64_t> peak_rss_kb;
  std::optional<std::uint64_t> rss_held_kb;  // hold mode: with every connection open
  std::optional<double> cpu_seconds;         // inside the measured window
  std::optional<int> exit_code;
  bool stopped = false;
};

/// @brief Everything a run reports.
struct result {
  double elapsed = 0;  // the measured window, seconds
  stats st;
  std::optional<double> bench_cpu_seconds;
  std::optional<server_report> server;
  unsigned connections_held = 0;
  bool cut_short = false;
};

/// @brief Prints the run as one JSON object on one line of stdout.
void print_json(const bench_options& o, const result& r);

/// @brief Prints the run as text on stdout.
void print_text(const bench_options& o, const result& r);

}  // namespace numsequence::bench
