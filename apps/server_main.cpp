// numsequence-server: serves the resumable number-sequence protocol over TCP.
// This file is the command line; the server itself is numsequence::server_runtime.

#include <algorithm>
#include <cstdlib>
#include <cxxopts.hpp>
#include <iostream>
#include <thread>

#include "cli.hpp"
#include "numsequence/net/tls.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/server/runtime.hpp"

namespace {

using namespace numsequence;

constexpr const char* examples = R"(
Examples:
  numsequence-server 5000                      serve on 127.0.0.1:5000
  TEST_MODE=1 numsequence-server 5000          the reference's numbers (random.seed(client_id))
  numsequence-server 0 --session-timeout 0     any free port, no session timer
  numsequence-server 5000 --purge-after 300 --log-level debug
  numsequence-server 5001 --store redis://127.0.0.1:6379   sessions shared by every such server
  numsequence-server 5443 --tls-cert server.pem --tls-key server.key   TLS on every connection

The first line on stdout is "listening on HOST:PORT" once connections are accepted; with
--http, the second is "http listening on HOST:PORT".
Durations are seconds, fractions allowed; 0 turns the session and idle timers off.
SIGINT or SIGTERM stops the server (exit 0), after --drain-time.
)";

// The option groups, in the order --help shows them (cxxopts would sort them by name).
constexpr const char* protocol_group = "Protocol";
constexpr const char* http_group = "HTTP and WebSocket";
constexpr const char* limits_group = "Limits";
constexpr const char* sessions_group = "Sessions";
constexpr const char* process_group = "Process";

struct parsed_command {
  runtime_options runtime;
  log_level level = log_level::info;
  std::string tls_cert;  // empty: plain TCP
  std::string tls_key;
};

// clang-format off
void add_protocol_options(cxxopts::Options& options) {
  options.add_options()
    ("port", "TCP port, 0 for any free port", cxxopts::value<std::string>());
  options.parse_positional({"port"});
  options.add_options(protocol_group)
    ("host", "address to listen on", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("session-timeout", "close each connection this many seconds after accepting it (0: never)",
     cxxopts::value<std::string>()->default_value("1"))
    ("idle-timeout", "close a connection that completes no message for this long (0: never)",
     cxxopts::value<std::string>()->default_value("10"))
    ("interval", "wait this long before each NUM reply",
     cxxopts::value<std::string>()->default_value("0"))
    ("test-mode", "the reference's numbers: random.seed(client_id), randint(0, 100) "
     "(also set by the TEST_MODE environment variable)")
    ("fixed-seed", "derive normal-mode seeds from this number and the client id "
     "(reproducible sequences across servers)", cxxopts::value<std::string>())
    ("tls-cert", "serve TLS with this certificate chain (PEM); needs --tls-key",
     cxxopts::value<std::string>())
    ("tls-key", "private key (PEM) of --tls-cert", cxxopts::value<std::string>());
}

void add_http_options(cxxopts::Options& options) {
  options.add_options(http_group)
    ("http", "serve HTTP (Fibonacci API, the page, the WebSocket stream, /metrics, /healthz, "
     "/readyz) on this port too; 0 for any free port", cxxopts::value<std::string>())
    ("max-fibonacci", "the largest n (and largest index + 1) of a Fibonacci answer, on every "
     "transport", cxxopts::value<std::string>()->default_value("25000"))
    ("http-cache-bytes", "memory for rendered answers, shared by every thread (0: no cache)",
     cxxopts::value<std::string>()->default_value("67108864"))
    ("http-large-cache-bytes", "memory for answers too large to render whole, kept once "
     "asked for twice (0: none kept; up to twice this while being filled)",
     cxxopts::value<std::string>()->default_value("134217728"))
    ("websocket-idle-timeout", "close a WebSocket that asks for nothing for this long (0: never)",
     cxxopts::value<std::string>()->default_value("600"))
    ("test-drop-websocket-after", "test only: drop every WebSocket after this many answer frames",
     cxxopts::value<std::string>());
}

void add_limit_options(cxxopts::Options& options) {
  options.add_options(limits_group)
    ("max-message", "longest message accepted, in bytes",
     cxxopts::value<std::string>()->default_value("256"))
    ("max-connections", "connections served at once; more are told 'ERR,server busy;' "
     "and closed (0: no limit)", cxxopts::value<std::string>()->default_value("10000"))
    ("output-buffer", "bytes of replies gathered per connection before they are written "
     "(a large NUM is written in pieces; a connection buffers about 1.5 times this at most)",
     cxxopts::value<std::string>()->default_value("65536"))
    ("send-buffer", "kernel send buffer per connection in bytes (SO_SNDBUF; 0: the kernel's "
     "autotuning)", cxxopts::value<std::string>()->default_value("0"));
}

void add_session_options(cxxopts::Options& options) {
  options.add_options(sessions_group)
    ("purge-after", "keep parked sessions and completion records this long",
     cxxopts::value<std::string>()->default_value("30"))
    ("max-sessions", "most sessions held at once (live, parked and completed; with Redis, "
     "counted over every server sharing it); INIT beyond it is refused. 0: no limit",
     cxxopts::value<std::string>()->default_value("1000000"))
    ("store", "where sessions live: 'memory' (this process) or redis://HOST:PORT[/DB] "
     "(shared by every server using it)", cxxopts::value<std::string>()->default_value("memory"));
}

void add_process_options(cxxopts::Options& options) {
  options.add_options(process_group)
    ("threads", "threads serving connections (default: the number of cores)",
     cxxopts::value<std::string>())
    ("io-model", "per-thread: an io_context and a listening socket per thread (SO_REUSEPORT); "
     "shared: one io_context run by every thread, a strand per connection",
     cxxopts::value<std::string>()->default_value("per-thread"))
    ("log-level", "debug, info, warning, error or off",
     cxxopts::value<std::string>()->default_value("info"))
    ("log-format", "text, logfmt or json (one object per line)",
     cxxopts::value<std::string>()->default_value("text"))
    ("drain-time", "on SIGINT/SIGTERM, serve this long with /readyz answering 503, then stop "
     "(a second signal stops at once)", cxxopts::value<std::string>()->default_value("0"))
    ("h,help", "show this help")
    ("version", "show the version");
}
// clang-format on

/// A size flag: plain digits within [min, max], or a usage error naming the flag and range.
std::size_t parse_size(const cxxopts::ParseResult& args, const char* flag, std::size_t min,
                       std::size_t max, const char* expected) {
  const auto value = cli::parse_unsigned<std::size_t>(args[flag].as<std::string>());
  if (!value || *value < min || *value > max)
    throw cli::usage_error(std::string("invalid --") + flag + " (expected " + expected + ")");
  return *value;
}

void read_protocol_options(const cxxopts::ParseResult& args, parsed_command& cmd) {
  auto& c = cmd.runtime.server;
  if (!args.count("port"))
    throw cli::usage_error("missing PORT");
  c.port = cli::parse_port(args["port"].as<std::string>());
  c.host = args["host"].as<std::string>();
  c.session_timeout =
      cli::parse_seconds("session-timeout", args["session-timeout"].as<std::string>());
  c.idle_timeout = cli::parse_seconds("idle-timeout", args["idle-timeout"].as<std::string>());
  c.interval = cli::parse_seconds("interval", args["interval"].as<std::string>());
  c.test_mode = args.count("test-mode") > 0 || std::getenv("TEST_MODE") != nullptr;
  if (args.count("fixed-seed")) {
    const auto seed = cli::parse_unsigned<std::uint64_t>(args["fixed-seed"].as<std::string>());
    if (!seed)
      throw cli::usage_error("invalid --fixed-seed (expected an unsigned 64-bit number)");
    c.fixed_seed = *seed;
  }
  if (args.count("tls-cert") != args.count("tls-key"))
    throw cli::usage_error("--tls-cert and --tls-key go together");
  if (args.count("tls-cert")) {
    cmd.tls_cert = args["tls-cert"].as<std::string>();
    cmd.tls_key = args["tls-key"].as<std::string>();
  }
}

void read_http_options(const cxxopts::ParseResult& args, server_config& c) {
  if (args.count("http"))
    c.http.port = cli::parse_port(args["http"].as<std::string>());
  // The TCP protocol's n field stops at 65535; HTTP and WebSocket answers may go further.
  c.max_fibonacci = parse_size(args, "max-fibonacci", 1, 1'000'000'000, "1-1000000000");
  c.http.cache_bytes =
      parse_size(args, "http-cache-bytes", 0, std::size_t{1} << 40, "0-1099511627776 bytes");
  c.http.large_cache_bytes =
      parse_size(args, "http-large-cache-bytes", 0, std::size_t{1} << 40, "0-1099511627776 bytes");
  c.http.websocket_idle_timeout = cli::parse_seconds(
      "websocket-idle-timeout", args["websocket-idle-timeout"].as<std::string>());
  if (args.count("test-drop-websocket-after")) {
    c.http.websocket_drop_after_frames =
        parse_size(args, "test-drop-websocket-after", 1, 1'000'000'000, "1-1000000000");
  }
}

void read_limit_options(const cxxopts::ParseResult& args, server_config& c) {
  c.max_message = parse_size(args, "max-message", 64, 65536, "64-65536");
  c.max_connections = parse_size(args, "max-connections", 0, 10'000'000, "0-10000000");
  c.output_buffer =
      parse_size(args, "output-buffer", 1024, 64 * 1024 * 1024, "1024-67108864 bytes");
  c.send_buffer = parse_size(args, "send-buffer", 0, 64 * 1024 * 1024, "0 or 4096-67108864 bytes");
  if (c.send_buffer != 0 && c.send_buffer < 4096)
    throw cli::usage_error("invalid --send-buffer (expected 0 or 4096-67108864 bytes)");
}

void read_session_options(const cxxopts::ParseResult& args, runtime_options& r) {
  r.purge_after = cli::parse_seconds("purge-after", args["purge-after"].as<std::string>());
  const auto max_sessions =
      cli::parse_unsigned<std::size_t>(args["max-sessions"].as<std::string>());
  if (!max_sessions)
    throw cli::usage_error("invalid --max-sessions (expected a number, 0 for no limit)");
  r.max_sessions = *max_sessions;
  if (const auto store = args["store"].as<std::string>(); store != "memory") {
    r.redis = redis_address::parse(store);
    if (!r.redis) {
      throw cli::usage_error("invalid --store '" + store +
                             "' (expected 'memory' or redis://HOST:PORT[/DB])");
    }
  }
}

void read_process_options(const cxxopts::ParseResult& args, parsed_command& cmd) {
  auto& r = cmd.runtime;
  r.threads = std::max(1u, std::thread::hardware_concurrency());
  if (args.count("threads")) {
    const auto threads = cli::parse_unsigned<unsigned>(args["threads"].as<std::string>());
    if (!threads || *threads == 0 || *threads > 256)
      throw cli::usage_error("invalid --threads (expected 1-256)");
    r.threads = *threads;
  }
  if (const auto model = args["io-model"].as<std::string>(); model == "shared") {
    r.shared_io_context = true;
  } else if (model != "per-thread") {
    throw cli::usage_error("invalid --io-model '" + model + "' (expected per-thread or shared)");
  }
  const auto level = parse_log_level(args["log-level"].as<std::string>());
  if (!level)
    throw cli::usage_error("invalid --log-level (expected debug, info, warning, error or off)");
  cmd.level = *level;
  r.drain_time = cli::parse_seconds("drain-time", args["drain-time"].as<std::string>());
  const auto format = parse_log_format(args["log-format"].as<std::string>());
  if (!format)
    throw cli::usage_error("invalid --log-format (expected text, logfmt or json)");
  set_log_format(*format);
}

parsed_command parse_command_line(int argc, char** argv) {
  cxxopts::Options options("numsequence-server",
                           "Serves the resumable number-sequence protocol over TCP.");
  options.custom_help("[options]");
  options.positional_help("PORT");
  add_protocol_options(options);
  add_http_options(options);
  add_limit_options(options);
  add_session_options(options);
  add_process_options(options);

  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw cli::usage_error(e.what());
  }
  if (args.count("help")) {
    std::cout << options.help(
                     {protocol_group, http_group, limits_group, sessions_group, process_group})
              << examples;
    std::exit(0);
  }
  if (args.count("version")) {
    std::cout << "numsequence-server " << NUMSEQUENCE_VERSION << '\n';
    std::exit(0);
  }
  if (!args.unmatched().empty())
    throw cli::usage_error("unexpected argument '" + args.unmatched().front() + "'");

  parsed_command cmd;
  read_protocol_options(args, cmd);
  read_http_options(args, cmd.runtime.server);
  read_limit_options(args, cmd.runtime.server);
  read_session_options(args, cmd.runtime);
  read_process_options(args, cmd);
  return cmd;
}

/// Builds the server, says where it listens, serves until SIGINT/SIGTERM.
int serve(parsed_command& cmd) {
  if (!cmd.tls_cert.empty()) {
    try {
      cmd.runtime.server.tls = make_server_tls_context(cmd.tls_cert, cmd.tls_key);
    } catch (const tls_error& e) {
      std::cerr << "numsequence-server: " << e.what() << '\n';
      return 2;
    }
  }
  const auto& c = cmd.runtime.server;
  try {
    server_runtime runtime(cmd.runtime);
    const auto endpoint = runtime.endpoint();
    std::cout << "listening on " << endpoint.address().to_string() << ':' << endpoint.port()
              << '\n';
    if (const auto http = runtime.http_endpoint())
      std::cout << "http listening on " << http->address().to_string() << ':' << http->port()
                << '\n';
    std::cout << std::flush;
    runtime.run();
    return 0;
  } catch (const std::system_error& e) {
    std::cerr << "numsequence-server: cannot serve on " << c.host << ':' << c.port << ": "
              << e.code().message() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "numsequence-server: " << e.what() << '\n';
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  parsed_command cmd;
  try {
    cmd = parse_command_line(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-server: " << e.what() << "\nTry 'numsequence-server --help'.\n";
    return 2;
  }
  set_log_level(cmd.level);
  return serve(cmd);
}
