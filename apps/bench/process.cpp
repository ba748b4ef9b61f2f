#include "bench/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

namespace numsequence::bench {
namespace {

using steady = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// "listening on 127.0.0.1:40123" -> host, port.
bool parse_listening_line(std::string_view line, std::string& host, std::uint16_t& port) {
  constexpr std::string_view prefix = "listening on ";
  if (!line.starts_with(prefix))
    return false;
  line.remove_prefix(prefix.size());
  const auto colon = line.rfind(':');
  if (colon == std::string_view::npos)
    return false;
  std::uint32_t value = 0;
  const auto digits = line.substr(colon + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535)
    return false;
  host = std::string(line.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Where the child's stderr goes: the log (appended), or /dev/null. -1 on failure.
int open_stderr_target(const std::string& log_path) {
  return log_path.empty()
             ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
             : ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

// Our environment with `set_env` applied: "NAME=value" sets NAME, a bare "NAME" removes it.
std::vector<std::string> child_environment(const std::vector<std::string>& set_env) {
  auto name_of = [](std::string_view s) { return s.substr(0, s.find('=')); };
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(set_env.begin(), set_env.end(), [&](const std::string& s) {
      return name_of(s) == name_of(entry);
    });
    if (!replaced)
      env.emplace_back(entry);
  }
  for (const auto& s : set_env) {
    if (s.find('=') != std::string::npos)
      env.push_back(s);
  }
  return env;
}

// The null-terminated array execve() takes; valid while `strings` is.
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The child after fork(): only async-signal-safe calls from here on.
[[noreturn]] void exec_child(pid_t parent, int out_fd, int err_fd, char* const* args,
                             char* const* env) noexcept {
  // A bench that dies must not leave a server behind.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent)
    ::_exit(127);
  const int null_in = ::open("/dev/null", O_RDONLY);
  if (null_in < 0 || ::dup2(null_in, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
    ::_exit(127);
  ::execve(args[0], args, env);
  ::_exit(127);
}

}  // namespace

spawned_server::spawned_server(const std::vector<std::string>& argv,
                               const std::vector<std::string>& set_env, const std::string& log_path,
                               std::chrono::milliseconds timeout) {
  if (argv.empty())
    throw std::invalid_argument("no server program given");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw_errno("pipe2");
  const int err_fd = open_stderr_target(log_path);
  if (err_fd < 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw_errno(log_path.empty() ? "open /dev/null" : "open the server log");
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  const std::vector<char*> args = c_strings(argv);
  const std::vector<std::string> env_store = child_environment(set_env);
  const std::vector<char*> env = c_strings(env_store);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(out[0]);
    ::close(out[1]);
    ::close(err_fd);
    throw_errno("fork");
  }
  if (pid_ == 0)
    exec_child(parent, out[1], err_fd, args.data(), env.data());
  ::close(out[1]);
  ::close(err_fd);
  stdout_fd_ = out[0];

  const std::string line = read_first_line(timeout);
  if (!parse_listening_line(line, host_, port_)) {
    stop(std::chrono::milliseconds(2000));
    throw std::runtime_error("unexpected first line from the server: '" + line + "'");
  }
}

std::string spawned_server::read_first_line(std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = steady::now() + timeout;
  for (;;) {
    const auto newline = line.find('\n');
    if (newline != std::string::npos) {
      line.resize(newline);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    pollfd p{stdout_fd_, POLLIN, 0};
    const int ready = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0) {
      stop(std::chrono::milliseconds(2000));
      throw std::runtime_error("the server did not print 'listening on HOST:PORT' in time");
    }
    char buf[256];
    const ssize_t got = ::read(stdout_fd_, buf, sizeof buf);
    if (got <= 0) {
      const auto code = stop(std::chrono::milliseconds(2000));
      throw std::runtime_error("the server exited before listening (exit " +
                               (code ? std::to_string(*code) : std::string("by a signal")) +
                               "; see its log)");
    }
    line.append(buf, static_cast<std::size_t>(got));
  }
}

spawned_server::~spawned_server() {
  if (pid_ > 0 && !reaped_)
    stop(std::chrono::milliseconds(5000));
  if (stdout_fd_ >= 0)
    ::close(stdout_fd_);
}

bool spawned_server::running() {
  if (reaped_)
    return false;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_)
    reaped_ = true;
  return !reaped_;
}

std::optional<int> spawned_server::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return std::nullopt;
  if (running()) {
    ::kill(pid_, SIGTERM);
    const auto deadline = steady::now() + timeout;
    while (running() && steady::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      if (::waitpid(pid_, &status_, 0) == pid_)
        reaped_ = true;
      return std::nullopt;
    }
  }
  if (WIFEXITED(status_))
    return WEXITSTATUS(status_);
  return std::nullopt;
}

std::optional<std::uint64_t> proc_status_kb(pid_t pid, const char* field) {
  const std::string path =
      pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status";
  std::ifstream in(path);
  const std::string wanted = std::string(field) + ":";
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(wanted)) {
      std::istringstream fields(line.substr(wanted.size()));
      std::uint64_t kb = 0;
      if (fields >> kb)
        return kb;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<double> proc_cpu_seconds(pid_t pid) {
  if (pid == 0) {
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0)
      return std::nullopt;
    auto seconds = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; fields are counted after its ')'.
  const auto paren = text.rfind(')');
  if (paren == std::string::npos)
    return std::nullopt;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  // After ')': state(3) ... utime is field 14, stime 15: skip fields 3..13.
  for (int i = 3; i <= 13; ++i)
    fields >> skip;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  if (!(fields >> utime >> stime))
    return std::nullopt;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      limit = raised;
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

}  // namespace numsequence::bench
