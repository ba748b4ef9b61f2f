/// @file
/// @brief numsequence-chaos-soak: hundreds of real client sessions through a fault-injecting
/// proxy while clients are SIGKILLed at random; afterwards every session must complete with
/// CONTINUE and every checksum must be the right one.
///
/// The run, all of it on 127.0.0.1 with ports chosen by the kernel:
///  1. Servers: numsequence-server on port 0 with the in-memory store, a purge window far
///     longer than the run (no session may expire) and a short --session-timeout (the
///     server's own cuts join the proxy's). One normal-mode server with --fixed-seed, so
///     every checksum can be computed here independently, and one test-mode server (the
///     reference's numbers) for a share of the sessions. Each gets a numsequence-fault-proxy.
///  2. NEW: every session runs `numsequence-client NEW` through its proxy, with its own
///     directory and state file, with n, batch and pipeline drawn from the seed; at most
///     --parallel at once. A share of them gets SIGKILL at a random moment.
///  3. CONTINUE rounds: every session not yet completed is resumed from its state file
///     through the proxy (the first --kill-rounds rounds kill again), until all are
///     completed or --rounds rounds have run. A session whose client was killed before it
///     wrote its first state file is started again with NEW (no INIT can have left it).
///  4. Verify: every session is checked once more with CONTINUE straight to its server
///     (CONT + FIN against the completion record).
/// A run counts as completed only with exit code 0, "outcome":"valid", and sum, checksum
/// and server checksum equal to the values computed here from the library.
///
/// stdout: one summary line. Exit 0 only if there are no failures and no bound was exceeded.

#include <cxxopts.hpp>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../integration/json_fields.hpp"
#include "../integration/process.hpp"
#include "numsequence/client/state_file.hpp"
#include "numsequence/protocol/client_id.hpp"
#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/sequence.hpp"
#include "numsequence/server/session_seeds.hpp"

#ifndef NUMSEQUENCE_SERVER_BIN
#error "NUMSEQUENCE_SERVER_BIN must name the numsequence-server binary"
#endif
#ifndef NUMSEQUENCE_CLIENT_BIN
#error "NUMSEQUENCE_CLIENT_BIN must name the numsequence-client binary"
#endif
#ifndef NUMSEQUENCE_FAULT_PROXY_BIN
#error "NUMSEQUENCE_FAULT_PROXY_BIN must name the numsequence-fault-proxy binary"
#endif

namespace {

namespace fs = std::filesystem;
using numsequence::integration::child_process;
using numsequence::integration::exit_status;
using numsequence::integration::json_field;
using numsequence::integration::milliseconds;
using numsequence::integration::process_options;
using numsequence::integration::seconds;
using numsequence::integration::test_clock;

struct soak_options {
  unsigned sessions = 200;
  unsigned parallel = 8;
  std::uint64_t seed = 1;
  seconds time_limit{300};
  double kill_rate = 0.3;
  unsigned kill_window_ms = 1500;
  unsigned max_n = 20000;
  unsigned rounds = 12;
  unsigned kill_rounds = 1;
  double test_mode_share = 0.25;
  std::string session_timeout = "0.5";
  std::string fault_rate = "0.5";
  std::string split_rate = "0.15";
  std::string stall_share = "0.05";
  std::string delay_share = "0.05";
  std::string server_bin = NUMSEQUENCE_SERVER_BIN;
  std::string client_bin = NUMSEQUENCE_CLIENT_BIN;
  std::string proxy_bin = NUMSEQUENCE_FAULT_PROXY_BIN;
  fs::path work_parent;
  bool keep = false;
  bool hold_first_hello = false;
};

/// A client's I/O timeout: short, so stalled connections are given up quickly.
constexpr std::string_view client_io_timeout = "2";
/// Longest a single client run may take: retries and back-off end far sooner.
constexpr milliseconds client_run_limit = seconds(120);
/// How long a server or proxy gets to print its ready line, or to exit after SIGTERM.
constexpr milliseconds start_stop_limit = seconds(30);
/// How often the pool looks at its children.
constexpr milliseconds poll_period{10};

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// @brief The port in a "listening on 127.0.0.1:PORT" line; 0 if there is none.
std::uint16_t port_from_ready_line(std::string_view line) {
  constexpr std::string_view prefix = "listening on 127.0.0.1:";
  if (!line.starts_with(prefix)) {
    return 0;
  }
  const auto digits = line.substr(prefix.size());
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value > 65535) {
    return 0;
  }
  return static_cast<std::uint16_t>(value);
}

/// @brief The value of "key=NUMBER" in a line of counters; 0 if absent.
std::uint64_t counter(std::string_view line, std::string_view key) {
  const std::string needle = " " + std::string(key) + "=";
  const auto at = line.find(needle);
  if (at == std::string_view::npos) {
    return 0;
  }
  std::uint64_t value = 0;
  const char* begin = line.data() + at + needle.size();
  std::from_chars(begin, line.data() + line.size(), value);
  return value;
}

/// @brief The last `lines` lines of a child's output, for failure reports.
std::string tail(std::string_view text, std::size_t lines = 3) {
  std::size_t at = text.size();
  while (at > 0 && text[at - 1] == '\n') {
    --at;
  }
  text = text.substr(0, at);
  for (std::size_t seen = 0; at > 0; --at) {
    if (text[at - 1] == '\n' && ++seen == lines) {
      break;
    }
  }
  std::string out(text.substr(at));
  std::replace(out.begin(), out.end(), '\n', '|');
  return out;
}

/// @brief A server and the fault proxy in front of it.
struct lane {
  bool test_mode = false;
  std::unique_ptr<child_process> server;
  std::unique_ptr<child_process> proxy;
  std::uint16_t server_port = 0;
  std::uint16_t proxy_port = 0;
};

struct session {
  std::string id;
  std::uint32_t n = 0;
  std::uint32_t batch = 1;
  unsigned pipeline = 64;
  std::size_t lane = 0;
  std::optional<milliseconds> kill_after;  ///< the NEW run's kill, if it has one
  fs::path dir;
  std::string expected_checksum;
  std::uint64_t expected_sum = 0;

  bool completed = false;        ///< a run ended valid with the expected values
  bool verified = false;         ///< the final direct CONTINUE did too
  bool last_run_killed = false;  ///< the latest run ended by our SIGKILL
  std::string problem;           ///< the first failure; empty while there is none
};

enum class run_kind { fresh, resume, verify };

struct job {
  std::size_t session = 0;
  run_kind kind = run_kind::fresh;
  std::optional<milliseconds> kill_after;
};

struct tally {
  std::uint64_t runs = 0;
  std::uint64_t kills = 0;
  std::uint64_t continues = 0;
  std::uint64_t restarts = 0;
  std::uint64_t gave_up = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t infrastructure_failures = 0;
};

class soak {
 public:
  explicit soak(soak_options options) : o_(std::move(options)) {}

  int run() {
    const auto started = test_clock::now();
    deadline_ = started + o_.time_limit;
    make_work_dir();
    const bool ready = start_lanes();
    bool in_time = ready;
    if (ready) {
      plan_sessions();
      in_time = run_all_phases();
    }
    const auto proxy_lines = stop_lanes();
    const auto elapsed = std::chrono::duration<double>(test_clock::now() - started).count();

    std::uint64_t failures = t_.infrastructure_failures;
    std::uint64_t completed = 0;
    for (const auto& s : sessions_) {
      if (!s.problem.empty()) {
        ++failures;
      } else if (!s.verified) {
        ++failures;  // an unfinished session is a failure, whatever stopped it
      } else {
        ++completed;
      }
    }
    report_problems();

    std::uint64_t cuts = 0;
    std::uint64_t mid_message = 0;
    std::uint64_t stalls = 0;
    std::uint64_t delayed = 0;
    std::uint64_t resets = 0;
    std::uint64_t split = 0;
    std::uint64_t connections = 0;
    std::uint64_t late_hellos = 0;
    for (const auto& line : proxy_lines) {
      std::cerr << line << '\n';
      cuts += counter(line, "cuts");
      mid_message += counter(line, "mid-message");
      stalls += counter(line, "stalls");
      delayed += counter(line, "delayed");
      resets += counter(line, "resets");
      split += counter(line, "split");
      connections += counter(line, "connections");
      late_hellos += counter(line, "late-hellos");
    }
    if (o_.hold_first_hello && late_hellos == 0) {
      // Without it the run would pass without the case it was asked to play.
      std::cerr << "chaos soak: the held first hello was never delivered late\n";
      ++failures;
    }
    std::ostringstream summary;
    summary.setf(std::ios::fixed);
    summary.precision(1);
    summary << "chaos soak: seed=" << o_.seed << " sessions=" << o_.sessions
            << " completed=" << completed << " kills=" << t_.kills << " cuts=" << cuts
            << " (mid-message=" << mid_message << " resets=" << resets << " stalls=" << stalls
            << " delayed=" << delayed << " split=" << split
            << " proxied-connections=" << connections << ")"
            << " continues=" << t_.continues << " restarts=" << t_.restarts
            << " gave-up=" << t_.gave_up << " reconnects=" << t_.reconnects
            << " client-runs=" << t_.runs << " failures=" << failures << " elapsed=" << elapsed
            << "s" << (in_time ? "" : " TIME LIMIT EXCEEDED");
    std::cout << summary.str() << std::endl;

    const bool ok = failures == 0 && in_time && ready;
    if (ok && !o_.keep) {
      std::error_code ignored;
      fs::remove_all(work_dir_, ignored);
    } else {
      std::cerr << "chaos soak: state files kept in " << work_dir_.string() << '\n';
    }
    return ok ? 0 : 1;
  }

 private:
  void make_work_dir() {
    const fs::path parent = o_.work_parent.empty() ? fs::temp_directory_path() : o_.work_parent;
    auto pattern = (parent / "numsequence-chaos-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    work_dir_ = pattern;
  }

  /// The normal-mode servers' --fixed-seed, so the checksums can be computed here.
  std::uint64_t fixed_seed() const noexcept { return splitmix64(o_.seed); }

  bool start_lanes() {
    const bool want_test = o_.test_mode_share > 0.0;
    const bool want_normal = o_.test_mode_share < 1.0;
    for (bool test_mode : {false, true}) {
      if ((test_mode && !want_test) || (!test_mode && !want_normal)) {
        continue;
      }
      lane l;
      l.test_mode = test_mode;
      process_options server;
      // A purge window far beyond the run: a session lost to expiry would be a false failure.
      server.argv = {o_.server_bin,   "0",     "--session-timeout", o_.session_timeout,
                     "--purge-after", "86400", "--idle-timeout",    "10",
                     "--threads",     "2",     "--log-level",       "warning"};
      if (test_mode) {
        server.argv.emplace_back("--test-mode");
      } else {
        server.argv.insert(server.argv.end(), {"--fixed-seed", std::to_string(fixed_seed())});
      }
      server.unset_env.emplace_back("TEST_MODE");
      l.server = std::make_unique<child_process>(std::move(server));
      l.server_port =
          port_from_ready_line(l.server->read_stdout_line(start_stop_limit).value_or(""));
      if (l.server_port == 0) {
        std::cerr << "chaos soak: the server did not start: " << tail(l.server->stderr_text())
                  << '\n';
        ++t_.infrastructure_failures;
        lanes_.push_back(std::move(l));
        return false;
      }

      process_options proxy;
      proxy.argv = {o_.proxy_bin,
                    "--target-port",
                    std::to_string(l.server_port),
                    "--seed",
                    std::to_string(splitmix64(o_.seed + lanes_.size() + 1)),
                    "--fault-rate",
                    o_.fault_rate,
                    "--split-rate",
                    o_.split_rate,
                    "--stall-share",
                    o_.stall_share,
                    "--delay-share",
                    o_.delay_share};
      if (o_.hold_first_hello && lanes_.empty()) {
        proxy.argv.emplace_back("--hold-first-hello");
      }
      l.proxy = std::make_unique<child_process>(std::move(proxy));
      l.proxy_port = port_from_ready_line(l.proxy->read_stdout_line(start_stop_limit).value_or(""));
      if (l.proxy_port == 0) {
        std::cerr << "chaos soak: the proxy did not start: " << tail(l.proxy->stderr_text())
                  << '\n';
        ++t_.infrastructure_failures;
        lanes_.push_back(std::move(l));
        return false;
      }
      lanes_.push_back(std::move(l));
    }
    return true;
  }

  /// @brief Stops proxies and servers; each must exit 0. Returns the proxies' counter lines.
  std::vector<std::string> stop_lanes() {
    std::vector<std::string> lines;
    for (auto& l : lanes_) {
      for (auto* child : {l.proxy.get(), l.server.get()}) {
        if (child == nullptr) {
          continue;
        }
        const bool was_running = child->kill(SIGTERM);
        const auto status = child->wait(start_stop_limit);
        const char* what = child == l.proxy.get() ? "proxy" : "server";
        if (!was_running || !status || !status->success()) {
          ++t_.infrastructure_failures;
          std::cerr << "chaos soak: the " << what << " ("
                    << (l.test_mode ? "test mode" : "normal mode") << ") "
                    << (was_running ? "" : "had already ended; ")
                    << (status ? status->describe() : std::string("did not exit after SIGTERM"))
                    << "; stderr: " << tail(child->stderr_text(), 5) << '\n';
        }
      }
      if (l.proxy) {
        for (const auto& line : numsequence::integration::split_lines(l.proxy->stdout_text())) {
          if (line.starts_with("fault-proxy:")) {
            lines.push_back(line + (l.test_mode ? " (test mode)" : " (normal mode)"));
          }
        }
      }
    }
    return lines;
  }

  void plan_sessions() {
    std::mt19937_64 rng(o_.seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    constexpr std::array<std::uint32_t, 12> batches{1,  2,  3,   5,   8,    10,
                                                    17, 64, 100, 250, 1000, 65535};
    constexpr std::array<unsigned, 5> pipelines{1, 8, 64, 64, 256};
    const double max_n = std::max(2.0, static_cast<double>(o_.max_n));
    sessions_.resize(o_.sessions);
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      session& s = sessions_[i];
      std::array<unsigned char, 16> bytes{};
      for (auto& b : bytes) {
        b = static_cast<unsigned char>(rng());
      }
      bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
      bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
      std::array<char, 40> text{};
      std::snprintf(text.data(), text.size(),
                    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                    bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                    bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14],
                    bytes[15]);
      s.id = text.data();
      // A few empty and one-number sessions, the rest log-uniform up to --max-n.
      const double r = unit(rng);
      if (r < 0.03) {
        s.n = 0;
      } else if (r < 0.06) {
        s.n = 1;
      } else {
        s.n = static_cast<std::uint32_t>(std::lround(std::exp(unit(rng) * std::log(max_n))));
        s.n = std::clamp<std::uint32_t>(s.n, 1, std::min(o_.max_n, 65535u));
      }
      s.batch = batches[rng() % batches.size()];
      s.pipeline = pipelines[rng() % pipelines.size()];
      // One request per round trip is slow through the proxy: keep those sessions short.
      if (s.pipeline == 1 && (s.n + s.batch - 1) / s.batch > 500) {
        s.pipeline = 64;
      }
      const bool test_mode =
          lanes_.size() == 1 ? lanes_[0].test_mode : unit(rng) < o_.test_mode_share;
      s.lane = test_mode && lanes_.size() == 2 ? 1 : 0;
      if (unit(rng) < o_.kill_rate) {
        s.kill_after = kill_moment(rng);
      }
      char name[32];
      std::snprintf(name, sizeof name, "s%05zu", i);
      s.dir = work_dir_ / name;
      fs::create_directories(s.dir);

      numsequence::sequence_params p;
      p.id = *numsequence::client_id::parse(s.id);
      p.n = s.n;
      p.batch = s.batch;
      if (lanes_[s.lane].test_mode) {
        p.mode = numsequence::sequence_mode::test;
      } else {
        p.mode = numsequence::sequence_mode::normal;
        p.seed = numsequence::make_session_seed(fixed_seed(), p.id);
      }
      s.expected_checksum = numsequence::to_hex(numsequence::sequence_checksum(p));
      const auto numbers = numsequence::whole_sequence(p);
      s.expected_sum = std::accumulate(numbers.begin(), numbers.end(), std::uint64_t{0});
    }
  }

  /// @brief When a run is killed, after its start: log-uniform from 1 ms to the kill window,
  /// so kills land during process start, the hello, the transfer and the final save alike
  /// (most sessions take well under the window).
  milliseconds kill_moment(std::mt19937_64& rng) const {
    const double window = std::max(1.0, static_cast<double>(o_.kill_window_ms));
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    return milliseconds(static_cast<milliseconds::rep>(std::exp(u * std::log(window))));
  }

  bool run_all_phases() {
    std::vector<job> jobs;
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      jobs.push_back({i, run_kind::fresh, sessions_[i].kill_after});
    }
    std::cerr << "chaos soak: NEW: " << jobs.size() << " sessions, " << o_.parallel
              << " at a time\n";
    if (!run_wave(std::move(jobs))) {
      return false;
    }

    for (unsigned round = 0; round < o_.rounds; ++round) {
      std::mt19937_64 rng(splitmix64(o_.seed ^ splitmix64(round + 1)));
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      jobs.clear();
      for (std::size_t i = 0; i < sessions_.size(); ++i) {
        std::optional<milliseconds> kill;
        if (round < o_.kill_rounds && unit(rng) < o_.kill_rate) {
          kill = kill_moment(rng);
        }
        if (auto next = next_job(i, kill)) {
          jobs.push_back(*next);
        }
      }
      if (jobs.empty()) {
        break;
      }
      std::cerr << "chaos soak: CONTINUE round " << round + 1 << ": " << jobs.size()
                << " sessions\n";
      if (!run_wave(std::move(jobs))) {
        return false;
      }
    }
    for (auto& s : sessions_) {
      if (!s.completed && s.problem.empty()) {
        s.problem = "not completed after " + std::to_string(o_.rounds) + " CONTINUE rounds";
      }
    }

    jobs.clear();
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
      if (sessions_[i].completed && sessions_[i].problem.empty()) {
        jobs.push_back({i, run_kind::verify, std::nullopt});
      }
    }
    std::cerr << "chaos soak: verify: " << jobs.size() << " sessions, CONTINUE to the server\n";
    return run_wave(std::move(jobs));
  }

  /// @brief What an unfinished session needs next, judged from its state file.
  std::optional<job> next_job(std::size_t index, std::optional<milliseconds> kill) {
    session& s = sessions_[index];
    if (s.completed || !s.problem.empty()) {
      return std::nullopt;
    }
    const fs::path state = s.dir / "state";
    std::error_code ec;
    if (!fs::exists(state, ec)) {
      // The client writes its state file before it connects, so a client killed before
      // that sent no INIT: NEW again with the same id must be accepted.
      if (!s.last_run_killed) {
        s.problem = "no state file after a run that was not killed";
        return std::nullopt;
      }
      ++t_.restarts;
      return job{index, run_kind::fresh, kill};
    }
    try {
      const auto saved = numsequence::load_state(state);
      if (saved.id.view() != s.id || saved.n != s.n || saved.batch != s.batch) {
        s.problem = "the state file holds another session";
        return std::nullopt;
      }
    } catch (const std::exception& e) {
      s.problem = std::string("unreadable state file: ") + e.what();
      return std::nullopt;
    }
    ++t_.continues;
    return job{index, run_kind::resume, kill};
  }

  struct running {
    job what;
    std::unique_ptr<child_process> child;
    test_clock::time_point started;
    bool kill_sent = false;
    bool hung = false;
  };

  std::vector<std::string> client_argv(const job& j) const {
    const session& s = sessions_[j.session];
    const lane& l = lanes_[s.lane];
    const std::string port =
        std::to_string(j.kind == run_kind::verify ? l.server_port : l.proxy_port);
    std::vector<std::string> argv{o_.client_bin};
    if (j.kind == run_kind::fresh) {
      argv.insert(argv.end(), {"NEW", std::to_string(s.n), port, "--client_id", s.id,
                               "--batch-size", std::to_string(s.batch)});
    } else {
      argv.insert(argv.end(), {"CONTINUE", port});
    }
    argv.insert(argv.end(),
                {"--state-file", "state", "--json", "--timeout", std::string(client_io_timeout),
                 "--retries", "10", "--pipeline", std::to_string(s.pipeline)});
    return argv;
  }

  /// @brief Runs `jobs`, at most --parallel at once, killing where a job says so.
  /// False if the time limit passed (everything still running is then killed).
  bool run_wave(std::vector<job> jobs) {
    std::vector<running> live;
    std::size_t next = 0;
    // Bounded by the deadline: every turn either starts, reaps or waits a poll period.
    while (next < jobs.size() || !live.empty()) {
      const auto now = test_clock::now();
      if (now >= deadline_) {
        for (auto& r : live) {
          r.child->kill(SIGKILL);
          sessions_[r.what.session].problem = "still running at the time limit";
        }
        return false;
      }
      while (live.size() < o_.parallel && next < jobs.size()) {
        running r;
        r.what = jobs[next++];
        process_options options;
        options.argv = client_argv(r.what);
        options.working_dir = sessions_[r.what.session].dir;
        options.unset_env.emplace_back("TEST_MODE");
        r.child = std::make_unique<child_process>(std::move(options));
        r.started = test_clock::now();
        ++t_.runs;
        live.push_back(std::move(r));
      }
      for (auto it = live.begin(); it != live.end();) {
        if (auto status = it->child->wait(milliseconds(0))) {
          settle(*it, *status);
          it = live.erase(it);
          continue;
        }
        const auto age = test_clock::now() - it->started;
        if (!it->kill_sent && it->what.kill_after && age >= *it->what.kill_after) {
          it->kill_sent = it->child->kill(SIGKILL);
        } else if (!it->kill_sent && !it->hung && age >= client_run_limit) {
          it->hung = it->child->kill(SIGKILL);
        }
        ++it;
      }
      std::this_thread::sleep_for(poll_period);
    }
    return true;
  }

  void fail(session& s, std::string problem) {
    if (s.problem.empty()) {
      s.problem = std::move(problem);
    }
  }

  void settle(running& r, const exit_status& status) {
    session& s = sessions_[r.what.session];
    const bool verify = r.what.kind == run_kind::verify;
    s.last_run_killed = false;
    const std::string out = r.child->stdout_text();
    const std::string err = r.child->stderr_text();
    if (r.hung) {
      fail(s, "a client run took longer than " + std::to_string(client_run_limit.count() / 1000) +
                  " s");
      return;
    }
    if (!status.exited) {
      if (status.signal == SIGKILL && r.kill_sent) {
        ++t_.kills;
        s.last_run_killed = true;
        return;
      }
      fail(s, "client ended by " + status.describe() + ": " + tail(err));
      return;
    }
    if (const auto reconnects = json_field(out, "reconnects")) {
      std::uint64_t value = 0;
      std::from_chars(reconnects->data(), reconnects->data() + reconnects->size(), value);
      t_.reconnects += value;
    }
    if (status.code == 4 && !verify) {
      ++t_.gave_up;  // the proxy cut too often in a row: the next round resumes it
      return;
    }
    if (status.code != 0) {
      fail(s, std::string(verify                           ? "verify"
                          : r.what.kind == run_kind::fresh ? "NEW"
                                                           : "CONTINUE") +
                  " exited " + std::to_string(status.code) + ": " + tail(out, 1) + " " + tail(err));
      return;
    }
    const auto outcome = json_field(out, "outcome");
    const auto valid = json_field(out, "valid");
    const auto checksum = json_field(out, "checksum");
    const auto server_checksum = json_field(out, "server_checksum");
    const auto sum = json_field(out, "sum");
    const auto id = json_field(out, "client_id");
    if (outcome != "valid" || valid != "true" || checksum != s.expected_checksum ||
        server_checksum != s.expected_checksum || sum != std::to_string(s.expected_sum) ||
        id != s.id) {
      fail(s, "exit 0 but not the expected result (checksum " + s.expected_checksum + ", sum " +
                  std::to_string(s.expected_sum) + "): " + tail(out, 1));
      return;
    }
    (verify ? s.verified : s.completed) = true;
  }

  void report_problems() const {
    std::size_t shown = 0;
    for (const auto& s : sessions_) {
      if (s.problem.empty()) {
        continue;
      }
      if (++shown > 20) {
        std::cerr << "chaos soak: (more failures not shown)\n";
        break;
      }
      std::cerr << "chaos soak: FAILED " << s.dir.filename().string() << " id " << s.id << " n "
                << s.n << " batch " << s.batch << " pipeline " << s.pipeline
                << (lanes_[s.lane].test_mode ? " test mode" : " normal mode") << ": " << s.problem
                << '\n';
    }
  }

  soak_options o_;
  test_clock::time_point deadline_;
  fs::path work_dir_;
  std::vector<lane> lanes_;
  std::vector<session> sessions_;
  tally t_;
};

soak_options parse(int argc, char** argv) {
  cxxopts::Options spec(
      "numsequence-chaos-soak",
      "Chaos soak: client sessions through a fault-injecting proxy, clients SIGKILLed at "
      "random, every session completed with CONTINUE and checked. Exit 0 only with no "
      "failures.");
  auto add = spec.add_options();
  add("sessions", "number of sessions", cxxopts::value<unsigned>()->default_value("200"));
  add("parallel", "client processes at once", cxxopts::value<unsigned>()->default_value("8"));
  add("seed", "seed of everything drawn (sessions, kills, the proxies' fault plans)",
      cxxopts::value<std::uint64_t>()->default_value("1"));
  add("time-limit", "seconds the whole run may take; past it, the run fails",
      cxxopts::value<unsigned>()->default_value("300"));
  add("kill-rate", "share of client runs that get SIGKILL",
      cxxopts::value<double>()->default_value("0.3"));
  add("kill-window-ms", "latest kill after a run's start (log-uniform from 1 ms)",
      cxxopts::value<unsigned>()->default_value("1500"));
  add("max-n", "largest n (log-uniform from 1; a few sessions have 0)",
      cxxopts::value<unsigned>()->default_value("20000"));
  add("rounds", "CONTINUE rounds at most", cxxopts::value<unsigned>()->default_value("12"));
  add("kill-rounds", "how many of the first CONTINUE rounds also kill",
      cxxopts::value<unsigned>()->default_value("1"));
  add("test-mode-share", "share of sessions on the test-mode server",
      cxxopts::value<double>()->default_value("0.25"));
  add("session-timeout", "the servers' --session-timeout",
      cxxopts::value<std::string>()->default_value("0.5"));
  add("fault-rate", "the proxies' --fault-rate",
      cxxopts::value<std::string>()->default_value("0.5"));
  add("split-rate", "the proxies' --split-rate",
      cxxopts::value<std::string>()->default_value("0.15"));
  add("stall-share", "the proxies' --stall-share",
      cxxopts::value<std::string>()->default_value("0.05"));
  add("delay-share", "the proxies' --delay-share",
      cxxopts::value<std::string>()->default_value("0.05"));
  add("server", "numsequence-server binary", cxxopts::value<std::string>());
  add("client", "numsequence-client binary", cxxopts::value<std::string>());
  add("proxy", "numsequence-fault-proxy binary", cxxopts::value<std::string>());
  add("work-dir", "where the run's directory is made (default: the temp directory)",
      cxxopts::value<std::string>());
  add("keep", "keep the state files even when the run passes");
  add("hold-first-hello",
      "the first proxy holds its first connection's INIT until the client has been told the "
      "session does not exist (a late INIT); the run fails if that never happens");
  add("h,help", "this help");
  const auto args = spec.parse(argc, argv);
  if (args.count("help") > 0) {
    std::cout << spec.help();
    std::exit(0);
  }
  soak_options o;
  o.sessions = args["sessions"].as<unsigned>();
  o.parallel = args["parallel"].as<unsigned>();
  o.seed = args["seed"].as<std::uint64_t>();
  o.time_limit = seconds(args["time-limit"].as<unsigned>());
  o.kill_rate = args["kill-rate"].as<double>();
  o.kill_window_ms = args["kill-window-ms"].as<unsigned>();
  o.max_n = args["max-n"].as<unsigned>();
  o.rounds = args["rounds"].as<unsigned>();
  o.kill_rounds = args["kill-rounds"].as<unsigned>();
  o.test_mode_share = args["test-mode-share"].as<double>();
  o.session_timeout = args["session-timeout"].as<std::string>();
  o.fault_rate = args["fault-rate"].as<std::string>();
  o.split_rate = args["split-rate"].as<std::string>();
  o.stall_share = args["stall-share"].as<std::string>();
  o.delay_share = args["delay-share"].as<std::string>();
  if (args.count("server") > 0) {
    o.server_bin = args["server"].as<std::string>();
  }
  if (args.count("client") > 0) {
    o.client_bin = args["client"].as<std::string>();
  }
  if (args.count("proxy") > 0) {
    o.proxy_bin = args["proxy"].as<std::string>();
  }
  if (args.count("work-dir") > 0) {
    o.work_parent = args["work-dir"].as<std::string>();
  }
  o.keep = args.count("keep") > 0;
  o.hold_first_hello = args.count("hold-first-hello") > 0;
  if (o.sessions == 0 || o.parallel == 0 || o.parallel > 256 || o.max_n > 65535 ||
      o.time_limit.count() == 0 || o.kill_rate < 0 || o.kill_rate > 1 || o.test_mode_share < 0 ||
      o.test_mode_share > 1) {
    throw std::invalid_argument(
        "out of range: --sessions and --time-limit above 0, --parallel 1-256, --max-n up to "
        "65535, rates 0-1");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  soak_options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "numsequence-chaos-soak: " << e.what() << '\n';
    return 2;
  }
  try {
    return soak(std::move(options)).run();
  } catch (const std::exception& e) {
    std::cerr << "numsequence-chaos-soak: " << e.what() << '\n';
    return 1;
  }
}
