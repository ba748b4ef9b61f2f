// numsequence-server: serves the resumable number-sequence protocol over TCP.

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <cxxopts.hpp>
#include <iostream>

#include "cli.hpp"
#include "numsequence/log.hpp"
#include "numsequence/memory_session_store.hpp"
#include "numsequence/redis_session_store.hpp"
#include "numsequence/server.hpp"

namespace {

constexpr const char* examples = R"(
Examples:
  numsequence-server 5000                      serve on 127.0.0.1:5000
  TEST_MODE=1 numsequence-server 5000          the reference's numbers (random.seed(client_id))
  numsequence-server 0 --session-timeout 0     any free port, no session timer
  numsequence-server 5000 --purge-after 300 --log-level debug
  numsequence-server 5001 --store redis://127.0.0.1:6379   sessions shared by every such server

The first line on stdout is "listening on HOST:PORT" once connections are accepted.
Durations are seconds, fractions allowed; 0 turns the session and idle timers off.
SIGINT or SIGTERM stops the server (exit 0).
)";

struct parsed_command {
  numsequence::server_config config;
  std::chrono::steady_clock::duration purge_after = std::chrono::seconds(30);
  numsequence::log_level level = numsequence::log_level::info;
  std::optional<numsequence::redis_address> redis;  // nullopt: the in-memory store
};

parsed_command parse_command_line(int argc, char** argv) {
  using namespace numsequence;
  cxxopts::Options options("numsequence-server",
                           "Serves the resumable number-sequence protocol over TCP.");
  options.custom_help("[options]");
  options.positional_help("PORT");
  // clang-format off
  options.add_options()
    ("port", "TCP port, 0 for any free port", cxxopts::value<std::string>())
    ("host", "address to listen on", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("session-timeout", "close each connection this many seconds after accepting it (0: never)",
     cxxopts::value<std::string>()->default_value("1"))
    ("idle-timeout", "close a connection that completes no message for this long (0: never)",
     cxxopts::value<std::string>()->default_value("10"))
    ("purge-after", "keep parked sessions and completion records this long",
     cxxopts::value<std::string>()->default_value("30"))
    ("interval", "wait this long before each NUM reply",
     cxxopts::value<std::string>()->default_value("0"))
    ("test-mode", "the reference's numbers: random.seed(client_id), randint(0, 100) "
     "(also set by the TEST_MODE environment variable)")
    ("max-message", "longest message accepted, in bytes",
     cxxopts::value<std::string>()->default_value("256"))
    ("store", "where sessions live: 'memory' (this process) or redis://HOST:PORT[/DB] "
     "(shared by every server using it)", cxxopts::value<std::string>()->default_value("memory"))
    ("fixed-seed", "derive normal-mode seeds from this number and the client id "
     "(reproducible sequences across servers)", cxxopts::value<std::string>())
    ("log-level", "debug, info, warning, error or off",
     cxxopts::value<std::string>()->default_value("info"))
    ("h,help", "show this help")
    ("version", "show the version");
  // clang-format on
  options.parse_positional({"port"});

  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw cli::usage_error(e.what());
  }
  if (args.count("help")) {
    std::cout << options.help() << examples;
    std::exit(0);
  }
  if (args.count("version")) {
    std::cout << "numsequence-server " << NUMSEQUENCE_VERSION << '\n';
    std::exit(0);
  }
  if (!args.unmatched().empty()) {
    throw cli::usage_error("unexpected argument '" + args.unmatched().front() + "'");
  }
  if (!args.count("port"))
    throw cli::usage_error("missing PORT");

  parsed_command cmd;
  auto& c = cmd.config;
  c.port = cli::parse_port(args["port"].as<std::string>());
  c.host = args["host"].as<std::string>();
  c.session_timeout =
      cli::parse_seconds("session-timeout", args["session-timeout"].as<std::string>());
  c.idle_timeout = cli::parse_seconds("idle-timeout", args["idle-timeout"].as<std::string>());
  cmd.purge_after = cli::parse_seconds("purge-after", args["purge-after"].as<std::string>());
  c.interval = cli::parse_seconds("interval", args["interval"].as<std::string>());
  c.test_mode = args.count("test-mode") > 0 || std::getenv("TEST_MODE") != nullptr;
  const auto max_message = cli::parse_unsigned<std::size_t>(args["max-message"].as<std::string>());
  if (!max_message || *max_message < 64 || *max_message > 65536) {
    throw cli::usage_error("invalid --max-message (expected 64-65536)");
  }
  c.max_message = *max_message;
  if (args.count("fixed-seed")) {
    const auto seed = cli::parse_unsigned<std::uint64_t>(args["fixed-seed"].as<std::string>());
    if (!seed)
      throw cli::usage_error("invalid --fixed-seed (expected an unsigned 64-bit number)");
    c.fixed_seed = *seed;
  }
  if (const auto store = args["store"].as<std::string>(); store != "memory") {
    cmd.redis = redis_address::parse(store);
    if (!cmd.redis) {
      throw cli::usage_error("invalid --store '" + store +
                             "' (expected 'memory' or redis://HOST:PORT[/DB])");
    }
  }
  const auto level = parse_log_level(args["log-level"].as<std::string>());
  if (!level)
    throw cli::usage_error("invalid --log-level (expected debug, info, warning, error or off)");
  cmd.level = *level;
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace numsequence;
  parsed_command cmd;
  try {
    cmd = parse_command_line(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-server: " << e.what() << "\nTry 'numsequence-server --help'.\n";
    return 2;
  }
  set_log_level(cmd.level);

  try {
    asio::io_context io(1);
    std::unique_ptr<session_store> store;
    std::shared_ptr<redis_client> redis;
    if (cmd.redis) {
      // Starts connecting in the background: the server serves RECV without Redis,
      // and INIT/CONT answer "session store unavailable" until it is reachable.
      redis = redis_client::make(io.get_executor(), *cmd.redis, {});
      redis->start();
      store = std::make_unique<redis_session_store>(redis, cmd.purge_after);
    } else {
      store = std::make_unique<memory_session_store>(
          io.get_executor(), cmd.purge_after, [](const client_id& id) {
            log(log_level::info, "Purging client info for: ", id.redacted());
          });
    }
    server srv(io, cmd.config, *store);
    const auto endpoint = srv.local_endpoint();
    std::cout << "listening on " << endpoint.address().to_string() << ':' << endpoint.port()
              << std::endl;
    log(log_level::info, "serving on ", endpoint.address().to_string(), ':', endpoint.port(),
        cmd.config.test_mode ? " in test mode" : "",
        cmd.redis ? ", sessions in " + cmd.redis->str() : ", sessions in memory");

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int signal_number) {
      if (ec)
        return;
      log(log_level::info, "signal ", signal_number, ": stopping");
      srv.stop([&io, &redis] {
        // Connections have parked their sessions; only now may Redis go.
        if (redis)
          redis->stop();
        io.stop();
      });
    });
    srv.start();
    io.run();
    log(log_level::info, "stopped");
    return 0;
  } catch (const std::system_error& e) {
    std::cerr << "numsequence-server: cannot serve on " << cmd.config.host << ':' << cmd.config.port
              << ": " << e.code().message() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "numsequence-server: " << e.what() << '\n';
    return 1;
  }
}
