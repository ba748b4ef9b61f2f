#include "numsequence/server/runtime.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <csignal>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "numsequence/http/response_cache.hpp"
#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"
#include "numsequence/ops/metrics.hpp"
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

// The line that says what is served and how (max_sessions 0: no limit).
void log_serving(const runtime_options& o, const asio::ip::tcp::endpoint& endpoint,
                 const std::optional<asio::ip::tcp::endpoint>& http) {
  const std::string store = o.redis ? o.redis->str() : "memory";
  const std::string_view io_model = o.shared_io_context ? "shared" : "per-thread";
  std::ostringstream http_address;
  if (http)
    http_address << *http;
  else
    http_address << "off";
  log(log_level::info, "serving", log_field("address", endpoint),
      log_field("http", http_address.str()), log_field("threads", o.threads),
      log_field("io_model", io_model), log_field("tls", o.server.tls != nullptr),
      log_field("test_mode", o.server.test_mode), log_field("store", store),
      log_field("max_sessions", o.max_sessions));
}

// Lines dropped by the log's rate limit are reported this often (with `dropped=N`), so that
// a flood that stops is still accounted for.
constexpr auto log_flush_interval = std::chrono::seconds(5);

}  // namespace

struct server_runtime::impl {
  runtime_options options;
  // Shard i for the server of thread i (per-thread model); one per thread, made as each
  // thread first counts (shared model).
  std::shared_ptr<metrics> counters;
  std::vector<std::unique_ptr<worker>> workers;
  std::unique_ptr<memory_session_store> memory_store;
  std::shared_ptr<connection_registry> registry = make_connection_registry();
  // Set by the first signal when a drain precedes the stop: /readyz then answers 503.
  const std::shared_ptr<std::atomic<bool>> draining = std::make_shared<std::atomic<bool>>(false);
  std::once_flag stopping;
  // Declared after the workers: destroyed before the io_context they wait on. The signals and
  // the runtime's timers share a strand (several threads may run the first io_context).
  std::unique_ptr<asio::strand<asio::io_context::executor_type>> control;
  // Set up before the constructor returns, so before anyone can learn the server is ready:
  // a SIGTERM right after the "listening on" line must stop the server, not kill it.
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> drain_timer;
  std::unique_ptr<asio::steady_timer> log_flush_timer;

  explicit impl(runtime_options o) : options(std::move(o)) {
    const bool shared = options.shared_io_context;
    const unsigned count = shared ? 1 : options.threads;
    counters = std::make_shared<metrics>(shared ? 0 : count);
    for (unsigned i = 0; i < count; ++i)
      workers.push_back(std::make_unique<worker>(shared ? static_cast<int>(options.threads) : 1));
    if (!options.redis)
      use_memory_store();
    server_config config = options.server;
    config.shared_io_context = shared;
    config.reuse_port = workers.size() > 1;
    // One cache of rendered answers for the process, whichever thread renders or reads.
    config.http.cache = std::make_shared<response_cache>(config.http.cache_bytes);
    config.http.large_cache = std::make_shared<response_cache>(config.http.large_cache_bytes, 1);
    config.counters = counters;
    config.metrics_text = [m = counters] { return m->serialize(); };
    for (std::size_t i = 0; i < workers.size(); ++i) {
      auto& w = *workers[i];
      session_store& store = options.redis ? w.use_redis(options, shared) : *memory_store;
      config.not_ready = [redis = w.redis, draining = draining]() -> std::optional<std::string> {
        if (draining->load(std::memory_order_relaxed))
          return "the server is stopping";
        if (redis && !redis->connected())
          return "the session store " + redis->address().str() + " is unreachable";
        return std::nullopt;
      };
      config.counters_shard = i;
      w.srv = std::make_unique<server>(w.io, config, store, registry);
      // Port 0: the other threads' listeners join the port the first one picked.
      config.port = w.srv->local_endpoint().port();
      if (const auto http = w.srv->http_endpoint())
        config.http.port = http->port();
    }
    control = std::make_unique<asio::strand<asio::io_context::executor_type>>(
        asio::make_strand(workers[0]->io));
    drain_timer = std::make_unique<asio::steady_timer>(*control);
    log_flush_timer = std::make_unique<asio::steady_timer>(*control);
    signals = std::make_unique<asio::signal_set>(*control, SIGINT, SIGTERM);
    wait_for_signal();
  }

  ~impl() {
    // The store goes before the metrics object: no scrape may ask it for counts any more.
    counters->set_session_source(nullptr);
  }

  void use_memory_store() {
    memory_store = std::make_unique<memory_session_store>(
        workers[0]->io.get_executor(), options.purge_after,
        [](const client_id& id) {
          log(log_level::info, "Purging client info for",
              log_field(log_key::client, redacted_client(id)));
        },
        options.max_sessions);
    // Counted by the store as records change state: a scrape reads three numbers. (The Redis
    // store cannot count without a query, so its servers leave numsequence_sessions out.)
    counters->set_session_source([store = memory_store.get()] { return store->count_sessions(); });
  }

  // The first signal stops, or drains and then stops; a signal during the drain stops at once.
  void wait_for_signal() {
    signals->async_wait([this](std::error_code ec, int signal_number) {
      if (ec)
        return;
      if (options.drain_time <= std::chrono::steady_clock::duration::zero() ||
          draining->exchange(true)) {
        log(log_level::info, "stopping", log_field("signal", signal_number));
        stop();
        return;
      }
      log(log_level::info, "draining: /readyz answers 503 until the stop",
          log_field("signal", signal_number),
          log_field(
              "drain_ms",
              std::chrono::duration_cast<std::chrono::milliseconds>(options.drain_time).count()));
      drain_timer->expires_after(options.drain_time);
      drain_timer->async_wait([this](std::error_code waited) {
        if (!waited)
          stop();
      });
      wait_for_signal();
    });
  }

  void flush_logs_now_and_then() {
    log_flush_timer->expires_after(log_flush_interval);
    log_flush_timer->async_wait([this](std::error_code ec) {
      if (ec)
        return;
      flush_dropped_log_lines();
      flush_logs_now_and_then();
    });
  }

  void stop() {
    std::call_once(stopping, [this] {
      draining->store(true);
      asio::post(*control, [this] {
        drain_timer->cancel();
        log_flush_timer->cancel();
      });
      for (auto& w : workers)
        asio::post(w->io, [&w = *w] { w.stop_when_drained(); });
    });
  }

  void run() {
    for (auto& w : workers)
      w->srv->start();
    asio::post(*control, [this] { flush_logs_now_and_then(); });
    log_serving(options, workers[0]->srv->local_endpoint(), workers[0]->srv->http_endpoint());
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
    flush_dropped_log_lines();
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
