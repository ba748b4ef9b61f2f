#pragma once
// What a numsequence-bench run is asked to do: its command line, parsed and checked.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace numsequence::bench {

/// @brief The workload a run puts on the server (see the modes in --help).
enum class bench_mode { session, recv, pingpong, hold };

/// @brief The mode's name as --mode spells it and the report prints it.
std::string_view mode_name(bench_mode m);

/// @brief Seconds a run's window may last at most (--duration, --hold).
constexpr double max_duration = 120;

/// @brief One run, as the command line asked for it; every value is checked.
struct bench_options {
  bench_mode mode = bench_mode::session;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string spawn_server;
  std::vector<std::string> server_args;
  std::string server_log;
  unsigned connections = 1;
  unsigned threads = 1;
  double duration = 10;  // seconds; every run is bounded
  std::optional<std::uint64_t> sessions_per_connection;
  std::optional<std::uint64_t> max_requests;
  double think_time = 0;  // recv mode: seconds between a reply and the next request
  std::uint32_t n = 0;
  std::uint32_t batch = 5;
  unsigned pipeline = 1;
  bool test_mode = false;
  double hold_seconds = 1;
  double setup_timeout = 60;
  bool json = false;
};

/// @brief Parses the bench's command line. --help prints the help and exits 0.
/// @throws cli::usage_error for a command line that cannot be run.
bench_options parse_command_line(int argc, char** argv);

}  // namespace numsequence::bench
