#pragma once
// The server under test as a child process of numsequence-bench, and what /proc says about
// a process (memory, CPU time). Linux only, like the rest of the bench.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace numsequence::bench {

/// @brief A numsequence-server started by the bench; stopped (SIGTERM) by stop() or the
/// destructor.
class spawned_server {
 public:
  /// @brief Starts `argv` (argv[0] the program) with stdout on a pipe and waits, up to
  /// `timeout`, for its first line `listening on HOST:PORT`. stderr goes to `log_path`
  /// (appended), or to /dev/null when it is empty. `set_env` entries `NAME=value` set a
  /// variable in the child's environment, a bare `NAME` removes it.
  /// @throws std::runtime_error if it does not start or does not say where it listens.
  spawned_server(const std::vector<std::string>& argv, const std::vector<std::string>& set_env,
                 const std::string& log_path, std::chrono::milliseconds timeout);
  ~spawned_server();
  spawned_server(const spawned_server&) = delete;
  spawned_server& operator=(const spawned_server&) = delete;

  pid_t pid() const noexcept { return pid_; }
  const std::string& host() const noexcept { return host_; }
  std::uint16_t port() const noexcept { return port_; }

  /// @brief True while the child has not exited.
  bool running();

  /// @brief SIGTERM, then waits up to `timeout` (SIGKILL after it). The exit code, or
  /// nullopt if the child had to be killed or died of a signal.
  std::optional<int> stop(std::chrono::milliseconds timeout);

 private:
  /// Reads the child's stdout up to its first newline, within `timeout` (stops the child
  /// and throws if it does not come).
  std::string read_first_line(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string host_;
  std::uint16_t port_ = 0;
};

/// @brief A `Vm...:` field of /proc/<pid>/status in KiB (e.g. "VmHWM", "VmRSS");
/// nullopt if it cannot be read. pid 0 means this process.
std::optional<std::uint64_t> proc_status_kb(pid_t pid, const char* field);

/// @brief User + system CPU time a process has used so far; nullopt if unreadable.
/// pid 0 means this process (all its threads).
std::optional<double> proc_cpu_seconds(pid_t pid);

/// @brief Raises the soft open-file limit to the hard limit; returns the soft limit now.
std::uint64_t raise_open_file_limit();

}  // namespace numsequence::bench
