#include "bench/options.hpp"

#include <chrono>
#include <cstdlib>
#include <cxxopts.hpp>
#include <deque>
#include <iostream>

#include "cli.hpp"
#include "numsequence/protocol/message.hpp"

namespace numsequence::bench {
namespace {

constexpr const char* examples = R"(
Modes:
  session    complete sessions (INIT, RECV every batch, FIN) one after another per connection
  recv       one session of n numbers per connection, then RECV over its batches (wrapping)
             for the duration: the workload comparable with Redis GET
  pingpong   1-byte TCP ping-pong against an echo server inside the bench: the floor
  hold       open the connections mid-session (INIT + one RECV) and report the server's RSS

Examples:
  numsequence-bench --spawn-server build/release/apps/numsequence-server --mode recv \
      --connections 50 --pipeline 16 --duration 3
  numsequence-bench --port 5000 --mode session --connections 8 --n 1000 --json
  numsequence-bench --mode pingpong --duration 3
  numsequence-bench --spawn-server PATH --mode hold --connections 10000 \
      --server-arg=--threads=1

With --spawn-server the bench starts PATH on port 0 with --session-timeout=0 and
--log-level=warning (and --idle-timeout=0 in hold mode) unless a --server-arg sets them,
reports the server's peak RSS (VmHWM) and CPU time, and stops it with SIGTERM.
Exit status: 0 ok, 1 errors or a failed check, 2 usage error.
)";

// The option groups, in the order --help shows them (cxxopts would sort them by name).
constexpr const char* workload_group = "Workload";
constexpr const char* server_group = "Server";
constexpr const char* session_group = "Session";
constexpr const char* output_group = "Output";

/// The arguments left for cxxopts once the --server-arg values are taken out.
struct remaining_arguments {
  std::vector<char*> argv;
  std::deque<std::string> spelled;  // rewritten arguments; a deque keeps their addresses
};

// --server-arg values start with dashes themselves, which cxxopts would take for options:
// take them out first ("--server-arg X" or "--server-arg=X").
remaining_arguments take_server_args(int argc, char** argv, std::vector<std::string>& server_args) {
  remaining_arguments rest;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--server-arg") {
      if (i + 1 >= argc)
        throw cli::usage_error("--server-arg needs a value");
      server_args.emplace_back(argv[++i]);
    } else if (a.starts_with("--server-arg=")) {
      server_args.emplace_back(a.substr(std::string_view("--server-arg=").size()));
    } else if (a == "--n" || a.starts_with("--n=")) {
      // cxxopts takes one-letter long options for malformed short ones.
      rest.spelled.push_back("--numbers" + std::string(a.substr(3)));
      rest.argv.push_back(rest.spelled.back().data());
    } else {
      rest.argv.push_back(argv[i]);
    }
  }
  return rest;
}

// clang-format off
void add_workload_options(cxxopts::Options& options) {
  options.add_options(workload_group)
    ("mode", "session, recv, pingpong or hold", cxxopts::value<std::string>()->default_value("session"))
    ("connections", "concurrent connections", cxxopts::value<std::string>()->default_value("1"))
    ("threads", "bench threads (one io_context each)",
     cxxopts::value<std::string>()->default_value("1"))
    ("duration", "measured seconds (at most 120); also caps runs bounded by a count",
     cxxopts::value<std::string>()->default_value("10"))
    ("sessions-per-connection", "session mode: stop after this many sessions per connection",
     cxxopts::value<std::string>())
    ("max-requests", "recv and pingpong modes: stop after this many round trips per connection",
     cxxopts::value<std::string>())
    ("think-time", "recv mode: seconds a connection waits after each reply before its next "
     "request, so that the server always finds nothing to read (bench/instructions)",
     cxxopts::value<std::string>())
    ("hold", "hold mode: seconds to keep the connections open once all are up",
     cxxopts::value<std::string>()->default_value("1"))
    ("setup-timeout", "seconds allowed for opening the connections",
     cxxopts::value<std::string>()->default_value("60"));
}

void add_server_options(cxxopts::Options& options) {
  options.add_options(server_group)
    ("host", "server address", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("port", "server port (not with --spawn-server)", cxxopts::value<std::string>())
    ("spawn-server", "start this numsequence-server on a free port and measure it",
     cxxopts::value<std::string>())
    ("server-arg", "an argument for the spawned server, e.g. --server-arg=--threads=1 "
     "(repeatable)")
    ("server-log", "append the spawned server's stderr to this file (default: discarded)",
     cxxopts::value<std::string>());
}

void add_session_options(cxxopts::Options& options) {
  options.add_options(session_group)
    ("n,numbers", "numbers per session, --n also works (default: 65535 in recv and hold modes, "
     "100 in session mode)",
     cxxopts::value<std::string>())
    ("batch", "numbers per batch", cxxopts::value<std::string>()->default_value("5"))
    ("pipeline", "requests in flight per connection", cxxopts::value<std::string>()->default_value("1"))
    ("test-mode", "the server runs in test mode (TEST_MODE=1 for a spawned one): check every "
     "number against the reference generator too");
}

void add_output_options(cxxopts::Options& options) {
  options.add_options(output_group)
    ("json", "print one JSON object")
    ("h,help", "show this help");
}
// clang-format on

double parse_positive_seconds(std::string_view option, const std::string& text, double max) {
  const auto d = cli::parse_seconds(option, text);
  const double s = std::chrono::duration<double>(d).count();
  if (s <= 0 || s > max) {
    throw cli::usage_error("invalid --" + std::string(option) + " '" + text +
                           "' (expected seconds, more than 0 and at most " +
                           std::to_string(static_cast<int>(max)) + ")");
  }
  return s;
}

double parse_seconds_option(const cxxopts::ParseResult& args, const char* name, double max) {
  return parse_positive_seconds(name, args[name].as<std::string>(), max);
}

template <class T>
T parse_count_option(const cxxopts::ParseResult& args, const char* name, T min, T max) {
  const auto text = args[name].as<std::string>();
  const auto value = cli::parse_unsigned<T>(text);
  if (!value || *value < min || *value > max) {
    throw cli::usage_error("invalid --" + std::string(name) + " '" + text + "' (expected " +
                           std::to_string(min) + "-" + std::to_string(max) + ")");
  }
  return *value;
}

bench_mode parse_mode(const cxxopts::ParseResult& args) {
  const auto mode = args["mode"].as<std::string>();
  for (const auto m :
       {bench_mode::session, bench_mode::recv, bench_mode::pingpong, bench_mode::hold}) {
    if (mode == mode_name(m))
      return m;
  }
  throw cli::usage_error("invalid --mode '" + mode + "' (session, recv, pingpong or hold)");
}

/// Which server: one at --host/--port, or one the bench spawns; what the mode needs.
void parse_server_group(const cxxopts::ParseResult& args, bench_options& o) {
  o.host = args["host"].as<std::string>();
  if (args.count("spawn-server"))
    o.spawn_server = args["spawn-server"].as<std::string>();
  if (args.count("server-log"))
    o.server_log = args["server-log"].as<std::string>();
  if (args.count("port")) {
    if (!o.spawn_server.empty())
      throw cli::usage_error("--port and --spawn-server exclude each other");
    o.port = cli::parse_port(args["port"].as<std::string>());
  }
  if (o.mode != bench_mode::pingpong && o.spawn_server.empty() && o.port == 0)
    throw cli::usage_error("give --port PORT or --spawn-server PATH");
  if (o.mode == bench_mode::hold && o.spawn_server.empty())
    throw cli::usage_error("hold mode measures the server's memory: it needs --spawn-server");
  if (!o.server_args.empty() && o.spawn_server.empty())
    throw cli::usage_error("--server-arg needs --spawn-server");
}

/// How much load: connections, threads, and what bounds the run.
void parse_load(const cxxopts::ParseResult& args, bench_options& o) {
  constexpr std::uint64_t max_count_bound = std::uint64_t{1} << 40;
  o.connections = parse_count_option<unsigned>(args, "connections", 1, 100000);
  o.threads = parse_count_option<unsigned>(args, "threads", 1, 64);
  o.duration = parse_seconds_option(args, "duration", max_duration);
  if (args.count("sessions-per-connection")) {
    o.sessions_per_connection =
        parse_count_option<std::uint64_t>(args, "sessions-per-connection", 1, max_count_bound);
  }
  if (args.count("max-requests"))
    o.max_requests = parse_count_option<std::uint64_t>(args, "max-requests", 1, max_count_bound);
  if (args.count("think-time"))
    o.think_time = parse_seconds_option(args, "think-time", 1);
}

/// The sessions' shape: numbers, batch, requests in flight, test mode.
void parse_session_group(const cxxopts::ParseResult& args, bench_options& o) {
  o.n = o.mode == bench_mode::session ? 100 : max_count;
  if (args.count("numbers"))
    o.n = parse_count_option<std::uint32_t>(args, "numbers", 1, max_count);
  o.batch = parse_count_option<std::uint32_t>(args, "batch", 1, max_batch);
  o.pipeline = parse_count_option<unsigned>(args, "pipeline", 1, 4096);
  o.test_mode = args.count("test-mode") > 0;
}

}  // namespace

std::string_view mode_name(bench_mode m) {
  switch (m) {
    case bench_mode::session:
      return "session";
    case bench_mode::recv:
      return "recv";
    case bench_mode::pingpong:
      return "pingpong";
    case bench_mode::hold:
      break;
  }
  return "hold";
}

bench_options parse_command_line(int argc, char** argv) {
  bench_options o;
  auto rest = take_server_args(argc, argv, o.server_args);

  cxxopts::Options options("numsequence-bench",
                           "Load generator for numsequence-server: sessions, RECV round trips, "
                           "a TCP ping-pong floor, and server memory with many connections.");
  options.custom_help("[options]");
  add_workload_options(options);
  add_server_options(options);
  add_session_options(options);
  add_output_options(options);

  cxxopts::ParseResult args;
  try {
    args = options.parse(static_cast<int>(rest.argv.size()), rest.argv.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw cli::usage_error(e.what());
  }
  if (args.count("help")) {
    std::cout << options.help({workload_group, server_group, session_group, output_group})
              << examples;
    std::exit(0);
  }
  if (!args.unmatched().empty())
    throw cli::usage_error("unexpected argument '" + args.unmatched().front() + "'");

  // Checked in this order, so that a line with several mistakes names the same one first.
  o.mode = parse_mode(args);
  parse_server_group(args, o);
  parse_load(args, o);
  parse_session_group(args, o);
  o.hold_seconds = parse_seconds_option(args, "hold", max_duration);
  o.setup_timeout = parse_seconds_option(args, "setup-timeout", 600);
  o.json = args.count("json") > 0;
  return o;
}

}  // namespace numsequence::bench
