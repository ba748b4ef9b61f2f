// numsequence-server: serves the resumable number-sequence protocol over TCP.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <csignal>
#include <cstdlib>
#include <cxxopts.hpp>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/store/memory_session_store.hpp"
#include "numsequence/store/redis_session_store.hpp"
#include "numsequence/server/server.hpp"
#include "numsequence/net/tls.hpp"

namespace {

constexpr const char* examples = R"(
Examples:
  numsequence-server 5000                      serve on 127.0.0.1:5000
  TEST_MODE=1 numsequence-server 5000          the reference's numbers (random.seed(client_id))
  numsequence-server 0 --session-timeout 0     any free port, no session timer
  numsequence-server 5000 --purge-after 300 --log-level debug
  numsequence-server 5001 --store redis://127.0.0.1:6379   sessions shared by every such server
  numsequence-server 5443 --tls-cert server.pem --tls-key server.key   TLS on every connection

The first line on stdout is "listening on HOST:PORT" once connections are accepted.
Durations are seconds, fractions allowed; 0 turns the session and idle timers off.
SIGINT or SIGTERM stops the server (exit 0).
)";

struct parsed_command {
  numsequence::server_config config;
  std::chrono::steady_clock::duration purge_after = std::chrono::seconds(30);
  numsequence::log_level level = numsequence::log_level::info;
  std::optional<numsequence::redis_address> redis;  // nullopt: the in-memory store
  std::size_t max_sessions = 1'000'000;             // 0: no limit
  unsigned threads = 1;
  std::string tls_cert;  // empty: plain TCP
  std::string tls_key;
  bool shared_io = false;  // --io-model shared: one io_context run by every thread
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
    ("max-connections", "connections served at once; more are told 'ERR,server busy;' "
     "and closed (0: no limit)", cxxopts::value<std::string>()->default_value("10000"))
    ("output-buffer", "bytes of replies gathered per connection before they are written "
     "(a large NUM is written in pieces; a connection buffers about 1.5 times this at most)",
     cxxopts::value<std::string>()->default_value("65536"))
    ("send-buffer", "kernel send buffer per connection in bytes (SO_SNDBUF; 0: the kernel's "
     "autotuning)", cxxopts::value<std::string>()->default_value("0"))
    ("tls-cert", "serve TLS with this certificate chain (PEM); needs --tls-key",
     cxxopts::value<std::string>())
    ("tls-key", "private key (PEM) of --tls-cert", cxxopts::value<std::string>())
    ("max-sessions", "most sessions held at once (live, parked and completed; with Redis, "
     "counted over every server sharing it); INIT beyond it is refused. 0: no limit",
     cxxopts::value<std::string>()->default_value("1000000"))
    ("store", "where sessions live: 'memory' (this process) or redis://HOST:PORT[/DB] "
     "(shared by every server using it)", cxxopts::value<std::string>()->default_value("memory"))
    ("threads", "threads serving connections (default: the number of cores)",
     cxxopts::value<std::string>())
    ("io-model", "per-thread: an io_context and a listening socket per thread (SO_REUSEPORT); "
     "shared: one io_context run by every thread, a strand per connection",
     cxxopts::value<std::string>()->default_value("per-thread"))
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
  const auto max_connections =
      cli::parse_unsigned<std::size_t>(args["max-connections"].as<std::string>());
  if (!max_connections || *max_connections > 10'000'000)
    throw cli::usage_error("invalid --max-connections (expected 0-10000000)");
  c.max_connections = *max_connections;
  const auto output_buffer =
      cli::parse_unsigned<std::size_t>(args["output-buffer"].as<std::string>());
  if (!output_buffer || *output_buffer < 1024 || *output_buffer > 64 * 1024 * 1024)
    throw cli::usage_error("invalid --output-buffer (expected 1024-67108864 bytes)");
  c.output_buffer = *output_buffer;
  const auto send_buffer = cli::parse_unsigned<std::size_t>(args["send-buffer"].as<std::string>());
  if (!send_buffer || (*send_buffer != 0 && *send_buffer < 4096) || *send_buffer > 64 * 1024 * 1024)
    throw cli::usage_error("invalid --send-buffer (expected 0 or 4096-67108864 bytes)");
  c.send_buffer = *send_buffer;
  if (args.count("tls-cert") != args.count("tls-key"))
    throw cli::usage_error("--tls-cert and --tls-key go together");
  if (args.count("tls-cert")) {
    cmd.tls_cert = args["tls-cert"].as<std::string>();
    cmd.tls_key = args["tls-key"].as<std::string>();
  }
  if (args.count("fixed-seed")) {
    const auto seed = cli::parse_unsigned<std::uint64_t>(args["fixed-seed"].as<std::string>());
    if (!seed)
      throw cli::usage_error("invalid --fixed-seed (expected an unsigned 64-bit number)");
    c.fixed_seed = *seed;
  }
  const auto max_sessions =
      cli::parse_unsigned<std::size_t>(args["max-sessions"].as<std::string>());
  if (!max_sessions)
    throw cli::usage_error("invalid --max-sessions (expected a number, 0 for no limit)");
  cmd.max_sessions = *max_sessions;
  if (const auto store = args["store"].as<std::string>(); store != "memory") {
    cmd.redis = redis_address::parse(store);
    if (!cmd.redis) {
      throw cli::usage_error("invalid --store '" + store +
                             "' (expected 'memory' or redis://HOST:PORT[/DB])");
    }
  }
  cmd.threads = std::max(1u, std::thread::hardware_concurrency());
  if (args.count("threads")) {
    const auto threads = cli::parse_unsigned<unsigned>(args["threads"].as<std::string>());
    if (!threads || *threads == 0 || *threads > 256) {
      throw cli::usage_error("invalid --threads (expected 1-256)");
    }
    cmd.threads = *threads;
  }
  if (const auto model = args["io-model"].as<std::string>(); model == "shared") {
    cmd.shared_io = true;
  } else if (model != "per-thread") {
    throw cli::usage_error("invalid --io-model '" + model + "' (expected per-thread or shared)");
  }
  const auto level = parse_log_level(args["log-level"].as<std::string>());
  if (!level)
    throw cli::usage_error("invalid --log-level (expected debug, info, warning, error or off)");
  cmd.level = *level;
  return cmd;
}

/// Runs a store's operations on one strand, whichever thread calls: the Redis client under
/// the Redis store is not thread-safe, and with a shared io_context any thread may call.
class serialized_store final : public numsequence::session_store {
 public:
  using strand = asio::strand<asio::io_context::executor_type>;
  serialized_store(strand s, numsequence::session_store& inner) : strand_(s), inner_(inner) {}

  asio::awaitable<numsequence::store_status> async_create(const numsequence::session_record& r,
                                                          numsequence::lease_id lease) override {
    co_return co_await asio::co_spawn(strand_, inner_.async_create(r, lease), asio::use_awaitable);
  }
  asio::awaitable<numsequence::attach_result> async_attach(const numsequence::client_id& id,
                                                           numsequence::lease_id lease) override {
    co_return co_await asio::co_spawn(strand_, inner_.async_attach(id, lease), asio::use_awaitable);
  }
  asio::awaitable<void> async_park(const numsequence::session_record& r,
                                   numsequence::lease_id lease) override {
    co_await asio::co_spawn(strand_, inner_.async_park(r, lease), asio::use_awaitable);
  }
  asio::awaitable<numsequence::store_status> async_complete(
      const numsequence::client_id& id, numsequence::lease_id lease,
      const numsequence::md5_digest& checksum) override {
    co_return co_await asio::co_spawn(strand_, inner_.async_complete(id, lease, checksum),
                                      asio::use_awaitable);
  }
  std::optional<std::chrono::steady_clock::duration> keep_alive_interval() const override {
    return inner_.keep_alive_interval();
  }
  asio::awaitable<numsequence::store_status> async_keep_alive(
      const numsequence::session_record& r, numsequence::lease_id lease) override {
    co_return co_await asio::co_spawn(strand_, inner_.async_keep_alive(r, lease),
                                      asio::use_awaitable);
  }

 private:
  strand strand_;
  numsequence::session_store& inner_;
};

/// --io-model shared: one server on one io_context, run by every thread.
int run_shared(const parsed_command& cmd) {
  using namespace numsequence;
  asio::io_context io{static_cast<int>(cmd.threads)};
  std::unique_ptr<memory_session_store> memory_store;
  std::shared_ptr<redis_client> redis;
  std::unique_ptr<session_store> redis_store;
  std::unique_ptr<serialized_store> serialized;
  session_store* store = nullptr;
  const auto redis_strand = asio::make_strand(io);
  if (cmd.redis) {
    redis = redis_client::make(redis_strand, *cmd.redis, {});
    redis->start();
    redis_store = std::make_unique<redis_session_store>(
        redis, cmd.purge_after, redis_session_store::default_key_prefix, cmd.max_sessions);
    serialized = std::make_unique<serialized_store>(redis_strand, *redis_store);
    store = serialized.get();
  } else {
    memory_store = std::make_unique<memory_session_store>(
        io.get_executor(), cmd.purge_after,
        [](const client_id& id) {
          log(log_level::info, "Purging client info for: ", id.redacted());
        },
        cmd.max_sessions);
    store = memory_store.get();
  }
  server_config config = cmd.config;
  config.shared_io_context = true;
  server srv(io, config, *store);
  const auto endpoint = srv.local_endpoint();
  std::cout << "listening on " << endpoint.address().to_string() << ':' << endpoint.port()
            << std::endl;
  log(log_level::info, "serving on ", endpoint.address().to_string(), ':', endpoint.port(),
      " with ", cmd.threads, cmd.threads == 1 ? " thread" : " threads", " on one io_context",
      cmd.config.tls ? ", TLS" : "", cmd.config.test_mode ? ", test mode" : "",
      cmd.redis ? ", sessions in " + cmd.redis->str() : ", sessions in memory",
      cmd.max_sessions ? " (at most " + std::to_string(cmd.max_sessions) + ")" : " (no limit)");

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int signal_number) {
    if (ec)
      return;
    log(log_level::info, "signal ", signal_number, ": stopping");
    srv.stop([&] {
      // Connections have parked their sessions; only now may Redis go (on its strand).
      asio::post(redis_strand, [&] {
        if (redis)
          redis->stop();
        io.stop();
      });
    });
  });
  srv.start();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < cmd.threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads)
    t.join();
  log(log_level::info, "stopped");
  return 0;
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
  if (!cmd.tls_cert.empty()) {
    try {
      cmd.config.tls = make_server_tls_context(cmd.tls_cert, cmd.tls_key);
    } catch (const tls_error& e) {
      std::cerr << "numsequence-server: " << e.what() << '\n';
      return 2;
    }
  }

  try {
    if (cmd.shared_io)
      return run_shared(cmd);
    // One io_context per thread, each with its own server on the same port (SO_REUSEPORT):
    // a connection lives on one thread, with no locks on its path. The in-memory store and
    // the connection registry are shared (and locked); Redis gets one connection per thread
    // (hiredis contexts are not thread-safe).
    struct worker {
      asio::io_context io{1};
      std::shared_ptr<redis_client> redis;
      std::unique_ptr<session_store> redis_store;
      std::unique_ptr<server> srv;
    };
    std::vector<std::unique_ptr<worker>> workers;
    for (unsigned i = 0; i < cmd.threads; ++i)
      workers.push_back(std::make_unique<worker>());

    std::unique_ptr<memory_session_store> memory_store;
    if (!cmd.redis) {
      memory_store = std::make_unique<memory_session_store>(
          workers[0]->io.get_executor(), cmd.purge_after,
          [](const client_id& id) {
            log(log_level::info, "Purging client info for: ", id.redacted());
          },
          cmd.max_sessions);
    }
    auto registry = make_connection_registry();
    server_config config = cmd.config;
    config.reuse_port = cmd.threads > 1;
    for (auto& w : workers) {
      session_store* store = memory_store.get();
      if (cmd.redis) {
        // Connects in the background: RECV is served without Redis, and INIT/CONT answer
        // "session store unavailable" until it is reachable.
        w->redis = redis_client::make(w->io.get_executor(), *cmd.redis, {});
        w->redis->start();
        w->redis_store = std::make_unique<redis_session_store>(
            w->redis, cmd.purge_after, redis_session_store::default_key_prefix, cmd.max_sessions);
        store = w->redis_store.get();
      }
      w->srv = std::make_unique<server>(w->io, config, *store, registry);
      config.port = w->srv->local_endpoint().port();  // port 0: the others join the one picked
    }
    const auto endpoint = workers[0]->srv->local_endpoint();
    std::cout << "listening on " << endpoint.address().to_string() << ':' << endpoint.port()
              << std::endl;
    log(log_level::info, "serving on ", endpoint.address().to_string(), ':', endpoint.port(),
        " with ", cmd.threads, cmd.threads == 1 ? " thread" : " threads",
        cmd.config.tls ? ", TLS" : "", cmd.config.test_mode ? ", test mode" : "",
        cmd.redis ? ", sessions in " + cmd.redis->str() : ", sessions in memory",
        cmd.max_sessions ? " (at most " + std::to_string(cmd.max_sessions) + ")" : " (no limit)");

    asio::signal_set signals(workers[0]->io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int signal_number) {
      if (ec)
        return;
      log(log_level::info, "signal ", signal_number, ": stopping");
      for (auto& w : workers) {
        asio::post(w->io, [&w = *w] {
          w.srv->stop([&w] {
            // Connections have parked their sessions; only now may Redis go.
            if (w.redis)
              w.redis->stop();
            w.io.stop();
          });
        });
      }
    });
    for (auto& w : workers)
      w->srv->start();

    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < workers.size(); ++i) {
      threads.emplace_back([&w = *workers[i]] { w.io.run(); });
    }
    workers[0]->io.run();
    for (auto& t : threads)
      t.join();
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
