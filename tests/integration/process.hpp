#pragma once
/// @file
/// @brief A child process with captured stdout and stderr, for tests that run the real binaries.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace numsequence::integration {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_clock = std::chrono::steady_clock;

/// @brief What to start: the program, its arguments, environment changes and working directory.
struct process_options {
  /// argv[0] is the program to run (an absolute path or one found through PATH).
  std::vector<std::string> argv;
  /// Variables set in the child on top of the test's own environment.
  std::vector<std::pair<std::string, std::string>> set_env;
  /// Variables removed from the child's environment (so the caller's shell cannot leak
  /// TEST_MODE into a test that needs normal mode).
  std::vector<std::string> unset_env;
  /// Empty: the test's own working directory.
  std::filesystem::path working_dir;
};

/// @brief How a child ended: by exit (code) or by a signal.
struct exit_status {
  bool exited = false;  ///< true: `code` is valid; false: killed by `signal`
  int code = -1;
  int signal = 0;

  bool success() const noexcept { return exited && code == 0; }
  std::string describe() const;
};

/// @brief A running child process whose stdout and stderr are read into memory.
///
/// One reader thread per child drains both pipes with poll() for as long as the child
/// runs, so a chatty child never blocks on a full pipe while the test looks elsewhere,
/// and then reaps it. Every accessor that waits takes a timeout. stdin is /dev/null.
///
/// The destructor kills (SIGKILL) a child that is still running and reaps it, so no test
/// leaks a process, whichever way it ends; a child also gets SIGKILL if the thread that
/// started it dies (PR_SET_PDEATHSIG), so a test binary killed outright leaks none either.
/// The reader stops when both pipes reach end of file or the destructor tells it to.
class child_process {
 public:
  /// @brief Starts the child; throws std::system_error if it cannot be started.
  explicit child_process(process_options options);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// @brief The next stdout line (without '\n') not yet returned by this function (at end
  /// of file, a last line without '\n'); nullopt on timeout or when stdout has ended.
  std::optional<std::string> read_stdout_line(milliseconds timeout);

  /// @brief Waits until stdout (as a whole) contains `text`; false on timeout or end of file.
  bool wait_for_stdout_containing(std::string_view text, milliseconds timeout);
  /// @brief Waits until stderr (as a whole) contains `text`; false on timeout or end of file.
  bool wait_for_stderr_containing(std::string_view text, milliseconds timeout);

  /// @brief Waits for the child to end; nullopt if it is still running after `timeout`.
  /// Once it returns a status, all of the child's output has been captured.
  std::optional<exit_status> wait(milliseconds timeout);

  /// @brief True while the child has not ended (it may be a zombie not yet noticed).
  bool running();

  /// @brief Sends `sig` to the child if it has not been reaped; false if it had already ended.
  bool kill(int sig);

  /// @brief Everything the child wrote to stdout so far.
  std::string stdout_text();
  /// @brief Everything the child wrote to stderr so far.
  std::string stderr_text();

 private:
  void reader_loop();
  template <class Predicate>
  bool wait_until(milliseconds timeout, Predicate ready);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: the destructor signals it to end the reader early

  std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  std::size_t line_cursor_ = 0;  // offset in out_ of the first line not yet returned
  bool out_eof_ = false;
  bool err_eof_ = false;
  bool reaped_ = false;
  exit_status status_;

  std::thread reader_;
};

/// @brief Splits text into lines at '\n' (a last line without '\n' is kept; no empty tail).
std::vector<std::string> split_lines(std::string_view text);

/// @brief Runs a program to completion: its status, stdout and stderr.
struct run_result {
  std::optional<exit_status> status;  ///< nullopt: still running at the timeout (then killed)
  std::string out;
  std::string err;
  std::vector<std::string> out_lines() const { return split_lines(out); }
  int exit_code() const { return status && status->exited ? status->code : -1; }
};

/// @brief Starts `options`, waits up to `timeout`, kills the child if it is still running.
run_result run_process(process_options options, milliseconds timeout);

}  // namespace numsequence::integration
