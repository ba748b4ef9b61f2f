#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace numsequence::integration {
namespace {

[[noreturn]] void throw_errno(int error, const char* what) {
  throw std::system_error(error, std::generic_category(), what);
}

/// @brief A file descriptor closed on destruction.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct pipe_pair {
  unique_fd read_end;
  unique_fd write_end;
};

pipe_pair make_pipe() {
  std::array<int, 2> fds{};
  // O_CLOEXEC: a write end leaking into another child would keep our reader from ever
  // seeing end of file.
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw_errno(errno, "pipe2");
  }
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

std::vector<std::string> child_environment(const process_options& options) {
  std::vector<std::string> env;
  auto removed = [&](std::string_view entry) {
    const auto eq = entry.find('=');
    const auto name = entry.substr(0, eq);
    for (const auto& u : options.unset_env) {
      if (name == u) {
        return true;
      }
    }
    for (const auto& [key, value] : options.set_env) {
      if (name == key) {
        return true;
      }
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!removed(*e)) {
      env.emplace_back(*e);
    }
  }
  for (const auto& [key, value] : options.set_env) {
    env.push_back(key + "=" + value);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

/// @brief argv[0] as a path to execve: kept if it has a '/', else looked up in PATH
/// (done before fork, where the child may not allocate).
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const auto dir = dirs.substr(0, colon);
    const std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
  }
  return name;  // execve fails with ENOENT and the constructor reports it
}

/// @brief In the child: tells the parent why the start failed, and exits.
[[noreturn]] void report_errno_and_exit(int report_fd) noexcept {
  const int error = errno;
  [[maybe_unused]] auto ignored = ::write(report_fd, &error, sizeof error);
  ::_exit(127);
}

/// @brief The child's half of the start: only async-signal-safe calls between fork and exec.
/// On failure, writes errno to `report_fd` and exits 127.
[[noreturn]] void exec_child(pid_t parent, int out_fd, int err_fd, int report_fd,
                             const char* working_dir, const char* program, char* const* argv,
                             char* const* envp) noexcept {
  // Die with the test: a test binary killed hard (ctest timeout, Ctrl-C) leaves no servers.
  // The signal comes when the thread that forked ends, so tests start children from their
  // own thread, as doctest runs them.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
    ::_exit(127);
  }
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
      ::dup2(err_fd, STDERR_FILENO) < 0) {
    report_errno_and_exit(report_fd);
  }
  if (working_dir != nullptr && ::chdir(working_dir) != 0) {
    report_errno_and_exit(report_fd);
  }
  // Default dispositions and nothing blocked, whatever the test runner did to its own
  // (an ignored SIGPIPE would otherwise be inherited through exec).
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
    ::sigaction(sig, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(program, argv, envp);
  report_errno_and_exit(report_fd);
}

}  // namespace

std::string exit_status::describe() const {
  if (exited) {
    return "exit code " + std::to_string(code);
  }
  return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(start));
      break;
    }
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

child_process::child_process(process_options options) {
  if (options.argv.empty()) {
    throw std::invalid_argument("child_process: empty argv");
  }
  auto out_pipe = make_pipe();
  auto err_pipe = make_pipe();
  unique_fd stop(::eventfd(0, EFD_CLOEXEC));
  if (stop.get() < 0) {
    throw_errno(errno, "eventfd");
  }

  auto report = make_pipe();  // the child writes errno here if it cannot exec
  const std::string program = resolve_program(options.argv[0]);
  const std::string working_dir = options.working_dir.string();
  auto env = child_environment(options);
  auto envp = c_strings(env);
  auto argv = c_strings(options.argv);

  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    throw_errno(errno, "fork");
  }
  if (pid_ == 0) {
    exec_child(parent, out_pipe.write_end.get(), err_pipe.write_end.get(), report.write_end.get(),
               working_dir.empty() ? nullptr : working_dir.c_str(), program.c_str(), argv.data(),
               envp.data());
  }
  // The report pipe is close-on-exec: end of file means the exec succeeded.
  report.write_end.reset();
  int child_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(report.read_end.get(), &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    int ignored = 0;
    while (::waitpid(pid_, &ignored, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    throw std::system_error(child_errno, std::generic_category(),
                            "cannot start " + options.argv[0]);
  }

  out_pipe.write_end.reset();
  err_pipe.write_end.reset();
  out_fd_ = out_pipe.read_end.release();
  err_fd_ = err_pipe.read_end.release();
  stop_fd_ = stop.release();
  reader_ = std::thread([this] { reader_loop(); });
}

child_process::~child_process() {
  kill(SIGKILL);
  // The child is dead; stop reading even if something else still holds its pipes.
  const std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(stop_fd_, &one, sizeof one);
  if (reader_.joinable()) {
    reader_.join();
  }
  for (int fd : {out_fd_, err_fd_, stop_fd_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void child_process::reader_loop() {
  std::array<char, 16384> buffer{};
  bool out_open = true;
  bool err_open = true;
  bool stopped = false;
  // Bounded by the child's life: the pipes reach end of file when it ends, and the
  // destructor kills it and writes to the stop pipe.
  while ((out_open || err_open) && !stopped) {
    std::array<pollfd, 3> fds{{{out_open ? out_fd_ : -1, POLLIN, 0},
                               {err_open ? err_fd_ : -1, POLLIN, 0},
                               {stop_fd_, POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), -1);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (fds[2].revents != 0) {
      stopped = true;
    }
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      const ssize_t got = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) {
        continue;
      }
      std::lock_guard lock(mutex_);
      if (got <= 0) {
        (i == 0 ? out_eof_ : err_eof_) = true;
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? out_ : err_).append(buffer.data(), static_cast<std::size_t>(got));
      }
      changed_.notify_all();
    }
  }
  {
    std::lock_guard lock(mutex_);
    out_eof_ = true;
    err_eof_ = true;
    changed_.notify_all();
  }

  // Wait for the end without reaping, so kill() (under the mutex) never signals a
  // recycled pid; then reap under the mutex.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 &&
         errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  int raw = 0;
  pid_t got = -1;
  do {
    got = ::waitpid(pid_, &raw, 0);
  } while (got < 0 && errno == EINTR);
  if (got == pid_) {
    if (WIFEXITED(raw)) {
      status_.exited = true;
      status_.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
      status_.exited = false;
      status_.signal = WTERMSIG(raw);
    }
  }
  reaped_ = true;
  changed_.notify_all();
}

template <class Predicate>
bool child_process::wait_until(milliseconds timeout, Predicate ready) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, test_clock::now() + timeout, [&] { return ready(); });
}

std::optional<std::string> child_process::read_stdout_line(milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const auto deadline = test_clock::now() + timeout;
  changed_.wait_until(lock, deadline, [&] {
    return out_.find('\n', line_cursor_) != std::string::npos || out_eof_;
  });
  const auto nl = out_.find('\n', line_cursor_);
  if (nl != std::string::npos) {
    std::string line = out_.substr(line_cursor_, nl - line_cursor_);
    line_cursor_ = nl + 1;
    return line;
  }
  if (out_eof_ && line_cursor_ < out_.size()) {
    std::string line = out_.substr(line_cursor_);
    line_cursor_ = out_.size();
    return line;
  }
  return std::nullopt;
}

bool child_process::wait_for_stdout_containing(std::string_view text, milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, test_clock::now() + timeout,
                      [&] { return out_.find(text) != std::string::npos || out_eof_; });
  return out_.find(text) != std::string::npos;
}

bool child_process::wait_for_stderr_containing(std::string_view text, milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, test_clock::now() + timeout,
                      [&] { return err_.find(text) != std::string::npos || err_eof_; });
  return err_.find(text) != std::string::npos;
}

std::optional<exit_status> child_process::wait(milliseconds timeout) {
  if (!wait_until(timeout, [&] { return reaped_; })) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  return status_;
}

bool child_process::running() {
  std::lock_guard lock(mutex_);
  return !reaped_;
}

bool child_process::kill(int sig) {
  std::lock_guard lock(mutex_);
  if (reaped_ || pid_ <= 0) {
    return false;
  }
  return ::kill(pid_, sig) == 0;
}

std::string child_process::stdout_text() {
  std::lock_guard lock(mutex_);
  return out_;
}

std::string child_process::stderr_text() {
  std::lock_guard lock(mutex_);
  return err_;
}

run_result run_process(process_options options, milliseconds timeout) {
  child_process child(std::move(options));
  run_result result;
  result.status = child.wait(timeout);
  if (!result.status) {
    child.kill(SIGKILL);
    child.wait(seconds(10));
  }
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  return result;
}

}  // namespace numsequence::integration
