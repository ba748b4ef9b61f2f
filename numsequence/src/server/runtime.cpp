#include "numsequence/server/runtime.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <csignal>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "numsequence/http/response_cache.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/store/memory_session_store.hpp"
#include "numsequence/store/redis_session_store.hpp"
#include "numsequence/store/serialized_store.hpp"

namespace numsequence {
namespace {

// One io_context with its server, and the Redis connection its connections use.
struct worker {
  explicit worker(int concurrency) : io(concurrency) {}
  asio::io_context io;
  asio::strand<asio::io_context::executor_type> redis_strand{asio::make_strand(io)};
  std::shared_ptr<redis_client> redis;
  std::unique_ptr<session_store> redis_store;
  std::unique_ptr<serialized_store> serialized;  // shared io model only
  std::unique_ptr<server> srv;

  // Connects in the background: RECV is served without Redis, and INIT/CONT answer
  // "session store unavailable" until it is reachable.
  session_store& use_redis(const runtime_options& o, bool serialize) {
    redis = redis_client::make(redis_strand, *o.redis, {});
    redis->start();
    redis_store = std::make_unique<redis_session_store>(
        redis, o.purge_after, redis_session_store::default_key_prefix, o.max_sessions);
    if (!serialize)
      return *redis_store;
    serialized = std::make_unique<serialized_store>(redis_strand, *redis_store);
    return *serialized;
  }

  void stop_when_drained() {
    srv->stop([this] {
      // Connections have parked their sessions; only now may Redis go (on its strand).
      asio::post(redis_strand, [this] {
        if (redis)
          redis->stop();
        io.stop();
      });
    });
  }
};

std::string describe(const runtime_options& o, const asio::ip::tcp::endpoint& endpoint) {
  std::string text = "serving on " + endpoint.address().to_string() + ':' +
                     std::to_string(endpoint.port()) + " with " + std::to_string(o.threads) +
                     (o.threads == 1 ? " thread" : " threads");
  if (o.shared_io_context)
    text += " on one io_context";
  if (o.server.tls)
    text += ", TLS";
  if (o.server.test_mode)
    text += ", test mode";
  text += o.redis ? ", sessions in " + o.redis->str() : ", sessions in memory";
  text += o.max_sessions ? " (at most " + std::to_string(o.max_sessions) + ")" : " (no limit)";
  return text;
}

}  // namespace

struct server_runtime::impl {
  runtime_options options;
  std::vector<std::unique_ptr<worker>> workers;
  std::unique_ptr<memory_session_store> memory_store;
  std::shared_ptr<connection_registry> registry = make_connection_registry();
  std::once_flag stopping;
  // Set up before the constructor returns, so before anyone can learn the server is ready:
  // a SIGTERM right after the "listening on" line must stop the server, not kill it.
  std::unique_ptr<asio::signal_set> signals;

  explicit impl(runtime_options o) : options(std::move(o)) {
    const bool shared = options.shared_io_context;
    const unsigned count = shared ? 1 : options.threads;
    for (unsigned i = 0; i < count; ++i)
      workers.push_back(std::make_unique<worker>(shared ? static_cast<int>(options.threads) : 1));
    if (!options.redis) {
      memory_store = std::make_unique<memory_session_store>(
          workers[0]->io.get_executor(), options.purge_after,
          [](const client_id& id) {
            log(log_level::info, "Purging client info for: ", id.redacted());
          },
          options.max_sessions);
    }
    server_config config = options.server;
    config.shared_io_context = shared;
    config.reuse_port = workers.size() > 1;
    // One cache of rendered answers for the process, whichever thread renders or reads.
    config.http.cache = std::make_shared<response_cache>(config.http.cache_bytes);
    for (auto& w : workers) {
      session_store& store = options.redis ? w->use_redis(options, shared) : *memory_store;
      config.not_ready = [redis = w->redis]() -> std::optional<std::string> {
        if (redis && !redis->connected())
          return "the session store " + redis->address().str() + " is unreachable";
        return std::nullopt;
      };
      w->srv = std::make_unique<server>(w->io, config, store, registry);
      // Port 0: the other threads' listeners join the port the first one picked.
      config.port = w->srv->local_endpoint().port();
      if (const auto http = w->srv->http_endpoint())
        config.http.port = http->port();
    }
    signals = std::make_unique<asio::signal_set>(workers[0]->io, SIGINT, SIGTERM);
    signals->async_wait([this](std::error_code ec, int signal_number) {
      if (ec)
        return;
      log(log_level::info, "signal ", signal_number, ": stopping");
      stop();
    });
  }

  void stop() {
    std::call_once(stopping, [this] {
      for (auto& w : workers)
        asio::post(w->io, [&w = *w] { w.stop_when_drained(); });
    });
  }

  void run() {
    for (auto& w : workers)
      w->srv->start();
    log(log_level::info, describe(options, workers[0]->srv->local_endpoint()));
    // Every thread runs a worker's io_context: its own (per thread) or the one (shared).
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < options.threads; ++i) {
      auto& w = *workers[options.shared_io_context ? 0 : i];
      threads.emplace_back([&w] { w.io.run(); });
    }
    workers[0]->io.run();
    for (auto& t : threads)
      t.join();
    signals->cancel();
    log(log_level::info, "stopped");
  }
};

server_runtime::server_runtime(runtime_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

server_runtime::~server_runtime() = default;

asio::ip::tcp::endpoint server_runtime::endpoint() const {
  return impl_->workers[0]->srv->local_endpoint();
}

std::optional<asio::ip::tcp::endpoint> server_runtime::http_endpoint() const {
  return impl_->workers[0]->srv->http_endpoint();
}

void server_runtime::run() {
  impl_->run();
}

void server_runtime::stop() {
  impl_->stop();
}

}  // namespace numsequence
