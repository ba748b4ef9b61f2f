#pragma once
// numsequence-bench-web: the three workloads (see web_main.cpp) and what they report.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "numsequence/sequence/checksum.hpp"

namespace numsequence::bench::web {

/// @brief One run, as the command line asked for it; every value is checked.
struct web_options {
  std::string mode = "ws";  ///< http, ws or ws-many
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string target;  ///< http: the request target; empty: /v1/fibonacci?n=N
  std::uint64_t n = 25000;
  unsigned rounds = 3;
  unsigned connections = 1000;
  std::optional<md5_digest> expect_md5;
  pid_t server_pid = 0;  ///< read the server's memory and CPU time from /proc when set
  /// Bytes of answers the run keeps at once (an estimate): this much memory is made ready
  /// before any clock starts, so that no answer's time includes the client's page faults.
  std::size_t memory = 0;
  double timeout = 120;  ///< seconds for the whole run
  bool json = false;
};

/// @brief What a run measured. Times in seconds.
struct web_result {
  std::vector<double> round_seconds;  ///< http, ws: time to the last byte of each answer
  std::uint64_t bytes = 0;            ///< http: body bytes of one answer; ws: frame payloads
  std::uint64_t frames = 0;           ///< ws, ws-many: numbers and done frames of one answer
  std::string md5;                    ///< http: body MD5; ws: the list MD5 (checked)
  // ws-many
  double connect_seconds = 0;  ///< every connection open and upgraded
  double stream_seconds = 0;   ///< every request sent at once, to the last done frame
  std::vector<double> answer_seconds;
  std::uint64_t answers_checked = 0;
  // /proc, with --server-pid (KiB, seconds)
  std::optional<std::uint64_t> server_rss_before_kb;
  std::optional<std::uint64_t> server_rss_during_kb;  ///< ws-many: every answer done, sockets open
  std::optional<std::uint64_t> server_peak_rss_kb;    ///< VmHWM at the end
  std::optional<double> server_cpu_seconds;
  std::optional<double> bench_cpu_seconds;
};

/// @brief Runs the workload; throws std::runtime_error for a failure (a refused handshake,
/// a wrong number or checksum, a timeout).
web_result run_http(const web_options& o);
web_result run_ws(const web_options& o);
web_result run_ws_many(const web_options& o);

}  // namespace numsequence::bench::web
