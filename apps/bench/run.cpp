#include "bench/run.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/echo_server.hpp"
#include "bench/modes.hpp"
#include "bench/process.hpp"
#include "bench/report.hpp"
#include "bench/worker.hpp"

namespace numsequence::bench {
namespace {

using asio::ip::tcp;

// After the measured window, connections finish what they started (drain in-flight
// requests, check the FAC); a run still going this long after the window is cut.
constexpr auto drain_grace = std::chrono::seconds(30);

steady::duration seconds(double s) {
  return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}

bool has_server_option(const std::vector<std::string>& args, std::string_view name) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == name || (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=');
  });
}

/// The spawned server's command line: the caller's --server-arg values after the defaults
/// a bench run needs (each left out if the caller sets it).
std::vector<std::string> server_command(const bench_options& o) {
  std::vector<std::string> command = {o.spawn_server, "0"};
  if (!has_server_option(o.server_args, "--session-timeout"))
    command.emplace_back("--session-timeout=0");
  if (o.mode == bench_mode::hold && !has_server_option(o.server_args, "--idle-timeout"))
    command.emplace_back("--idle-timeout=0");
  if (!has_server_option(o.server_args, "--log-level"))
    command.emplace_back("--log-level=warning");
  // The load is the point: the server's connection limit must not turn it away.
  if (!has_server_option(o.server_args, "--max-connections"))
    command.emplace_back("--max-connections=0");
  command.insert(command.end(), o.server_args.begin(), o.server_args.end());
  return command;
}

/// What one connection does, by mode.
asio::awaitable<void> connection(worker& w) {
  switch (w.run.opts.mode) {
    case bench_mode::session:
      return session_connection(w);
    case bench_mode::recv:
      return recv_connection(w);
    case bench_mode::pingpong:
      return pingpong_connection(w);
    case bench_mode::hold:
      break;
  }
  return hold_connection(w);
}

/// One run, step by step. Members are destroyed in reverse order: the workers (and the
/// connections they hold) before the state they point to, the servers last.
class bench_run {
 public:
  explicit bench_run(const bench_options& o) : o_(o), state_(o) {}

  result run() {
    start_server();
    find_target();
    start_connections();
    const bool setup_complete = wait_for_setup();
    measure_window();
    drain(setup_complete);
    if (o_.mode == bench_mode::hold && server_)
      measure_held();
    if (server_)
      stop_server();
    echo_.reset();
    return std::move(r_);
  }

 private:
  void start_server() {
    if (o_.spawn_server.empty())
      return;
    server_report rep;
    rep.command = server_command(o_);
    // "TEST_MODE" alone removes it: a normal-mode run must not inherit the caller's.
    const std::vector<std::string> env = {o_.test_mode ? "TEST_MODE=1" : "TEST_MODE"};
    server_ =
        std::make_unique<spawned_server>(rep.command, env, o_.server_log, std::chrono::seconds(10));
    rep.pid = server_->pid();
    rep.rss_start_kb = proc_status_kb(server_->pid(), "VmRSS");
    r_.server = rep;
  }

  void find_target() {
    if (o_.mode == bench_mode::pingpong) {
      echo_ = std::make_unique<echo_server>();
      state_.endpoint = echo_->endpoint();
      return;
    }
    const std::string host = server_ ? server_->host() : o_.host;
    const std::uint16_t port = server_ ? server_->port() : o_.port;
    asio::io_context resolver_io;
    tcp::resolver resolver(resolver_io);
    state_.endpoint = *resolver.resolve(host, std::to_string(port)).begin();
  }

  void start_connections() {
    for (unsigned i = 0; i < o_.threads; ++i)
      workers_.push_back(std::make_unique<worker>(state_, i));
    for (unsigned i = 0; i < o_.connections; ++i) {
      worker& w = *workers_[i % o_.threads];
      asio::co_spawn(w.io, task(w, connection(w)), asio::detached);
    }
    for (auto& w : workers_)
      w->thread = std::thread([&io = w->io] { io.run(); });
  }

  /// Every connection is up (or failed), within the setup timeout. False if not.
  bool wait_for_setup() {
    std::unique_lock lock(state_.mutex);
    state_.changed.wait_for(lock, seconds(o_.setup_timeout),
                            [&] { return state_.ready.load() >= o_.connections; });
    return state_.ready.load() >= o_.connections;
  }

  /// Opens the gate and waits for the window to end (or every task, if sooner). CPU times
  /// are read then, before connections check their sessions.
  void measure_window() {
    const auto cpu_before = proc_cpu_seconds(0);
    const auto server_cpu_before =
        server_ ? proc_cpu_seconds(server_->pid()) : std::optional<double>();
    state_.go = steady::now();
    state_.stop_at = state_.go + seconds(o_.duration);
    if (o_.mode == bench_mode::hold)
      state_.stop_at = state_.go;
    for (auto& w : workers_) {
      asio::post(w->io, [&w = *w] {
        w.gate_open = true;
        w.gate.cancel();
      });
    }
    {
      std::unique_lock lock(state_.mutex);
      state_.changed.wait_until(lock, state_.stop_at,
                                [&] { return state_.done.load() >= o_.connections; });
    }
    const auto window_end = std::min(steady::now(), state_.stop_at);
    r_.elapsed = std::chrono::duration<double>(window_end - state_.go).count();
    if (o_.mode == bench_mode::hold)
      r_.elapsed = 0;
    const auto cpu_after = proc_cpu_seconds(0);
    if (cpu_before && cpu_after)
      r_.bench_cpu_seconds = *cpu_after - *cpu_before;
    if (server_) {
      const auto after = proc_cpu_seconds(server_->pid());
      if (server_cpu_before && after)
        r_.server->cpu_seconds = *after - *server_cpu_before;
    }
  }

  /// Until every task is done, within the grace period; then the threads end and their
  /// measurements are merged.
  void drain(bool setup_complete) {
    {
      std::unique_lock lock(state_.mutex);
      const bool finished = state_.changed.wait_until(
          lock, state_.stop_at + drain_grace, [&] { return state_.done.load() >= o_.connections; });
      r_.cut_short = !finished || !setup_complete;
    }
    if (r_.cut_short) {
      for (auto& w : workers_)
        w->io.stop();
    }
    for (auto& w : workers_)
      w->thread.join();
    for (auto& w : workers_) {
      r_.st.merge(w->st);
      r_.connections_held += static_cast<unsigned>(w->held.size());
    }
    if (r_.cut_short) {
      r_.st.error(setup_complete ? "the run did not end within 30 s after its window"
                                 : "not every connection was up within --setup-timeout");
    }
  }

  /// Every connection is open mid-session and idle now: this is what they cost the server.
  void measure_held() {
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.hold_seconds));
    r_.server->rss_held_kb = proc_status_kb(server_->pid(), "VmRSS");
    for (auto& w : workers_)
      w->held.clear();
  }

  void stop_server() {
    if (!server_->running())
      r_.st.error("the server exited during the run");
    r_.server->rss_end_kb = proc_status_kb(server_->pid(), "VmRSS");
    r_.server->peak_rss_kb = proc_status_kb(server_->pid(), "VmHWM");
    r_.server->exit_code = server_->stop(std::chrono::seconds(10));
    if (!r_.server->exit_code || *r_.server->exit_code != 0) {
      r_.st.error("the server did not stop cleanly on SIGTERM (exit " +
                  (r_.server->exit_code ? std::to_string(*r_.server->exit_code)
                                        : std::string("by a signal")) +
                  ")");
    }
  }

  const bench_options& o_;
  result r_;
  std::unique_ptr<spawned_server> server_;
  std::unique_ptr<echo_server> echo_;
  run_state state_;
  std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace

int run(const bench_options& o) {
  raise_open_file_limit();
  const result r = bench_run(o).run();
  if (o.json) {
    print_json(o, r);
  } else {
    print_text(o, r);
  }
  const bool checked_enough =
      (o.mode != bench_mode::session && o.mode != bench_mode::recv) || r.st.checksums_verified > 0;
  if (!checked_enough && r.st.errors == 0 && !o.json)
    std::cerr << "numsequence-bench: no checksum was verified\n";
  return r.st.errors == 0 && checked_enough ? 0 : 1;
}

}  // namespace numsequence::bench
