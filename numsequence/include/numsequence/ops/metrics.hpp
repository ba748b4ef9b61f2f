#pragma once
/// @brief The server's metrics, counted per event-loop thread, served in the Prometheus
/// text format.
///
/// @code
/// metrics m{threads};                       // one shard per event-loop thread
/// metrics_shard& shard = m.shard(i);        // held by thread i, written by it alone
/// shard.message(msg);                       // numsequence_messages_total{type="RECV"}
/// if (shard.sample_reply()) { ...time the reply...; shard.observe_reply(elapsed); }
/// std::string body = m.serialize();         // GET /metrics, with metrics::content_type
/// @endcode
///
/// Why shards: a RECV costs about 3,000 instructions in all, so the counters an event loop
/// bumps per message must cost next to nothing. Each shard is one thread's plain counters on
/// cache lines of its own; a bump is a relaxed load and store (no locked instruction, no
/// shared line), and a scrape sums the shards. Relaxed atomics make a concurrent scrape
/// race-free; a scrape may see the newest events of a thread a moment late.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/protocol/refusal.hpp"
#include "numsequence/session/session_store.hpp"

namespace numsequence {

/// @brief Label `transport` of numsequence_connections.
enum class metric_transport { tcp, http, websocket };

/// @brief The label value of `t` ("tcp", "http", "websocket"); log lines name transports so too.
constexpr std::string_view name_of(metric_transport t) noexcept {
  switch (t) {
    case metric_transport::tcp:
      return "tcp";
    case metric_transport::http:
      return "http";
    case metric_transport::websocket:
      return "websocket";
  }
  return "unknown";
}

/// @brief Label `route` of numsequence_http_requests_total: a bounded set of route names.
enum class http_route {
  fibonacci,        ///< GET /v1/fibonacci?n= or ?from=&to=
  fibonacci_value,  ///< GET /v1/fibonacci/K
  fib_limit,        ///< GET /fib?limit=N
  fib_compat,       ///< GET /fib/N
  page,             ///< GET /
  stream,           ///< GET /v1/stream (WebSocket upgrade)
  metrics,          ///< GET /metrics
  healthz,
  readyz,
  other,  ///< anything else (404s and the like)
};

/// @brief Label `operation` of the store metrics.
enum class store_operation { create, attach, park, complete, keep_alive };

/// @brief Errors counted in numsequence_errors_total besides protocol_errc and refusal.
enum class transport_error {
  http_4xx,         ///< an HTTP request answered with a 4xx status
  http_5xx,         ///< an HTTP request answered with a 5xx status
  websocket_close,  ///< a WebSocket closed by an error (not a normal close)
  /// accept() failed (out of file descriptors, mostly); the listener waits 100 ms and tries
  /// again. Counted once per failed call, so the rate shows a busy loop if there were one.
  accept_failed,
};

namespace detail {

using metric_counter = std::atomic<std::uint64_t>;

/// One writer per counter: a relaxed load and store, not a locked read-modify-write.
inline void bump(metric_counter& c, std::uint64_t by = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

inline constexpr std::size_t transport_count = 3;
inline constexpr std::size_t message_type_count = std::variant_size_v<client_message>;
// protocol_errc and refusal start at 1 and end with these enumerators.
inline constexpr std::size_t protocol_errc_count = static_cast<std::size_t>(last_protocol_errc);
inline constexpr std::size_t refusal_count = static_cast<std::size_t>(last_refusal);
inline constexpr std::size_t transport_error_count =
    static_cast<std::size_t>(transport_error::accept_failed) + 1;
inline constexpr std::size_t error_reason_count =
    protocol_errc_count + refusal_count + transport_error_count;
inline constexpr std::size_t http_route_count = static_cast<std::size_t>(http_route::other) + 1;
inline constexpr std::size_t store_operation_count = 5;

// HTTP status slots: x00-x31 of each class one by one (every status the server sends),
// then one slot per class for the rest (label "4xx"), then one for a status outside
// 100-599 (label "other"). Bounded, so that a shard stays a few kilobytes.
inline constexpr std::size_t http_status_slot_count = 5 * 32 + 5 + 1;

constexpr std::size_t http_status_slot(unsigned status) noexcept {
  if (status < 100 || status > 599)
    return http_status_slot_count - 1;
  const unsigned cls = status / 100 - 1;
  const unsigned rest = status % 100;
  return rest < 32 ? cls * 32 + rest : 5 * 32 + cls;
}

/// Upper bounds (`le`) of the histograms' buckets, in nanoseconds.
inline constexpr std::array<std::int64_t, 15> reply_bounds_ns = {
    10'000,     25'000,     50'000,      100'000,     250'000,
    500'000,    1'000'000,  2'500'000,   5'000'000,   10'000'000,
    25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000};
inline constexpr std::array<std::int64_t, 16> store_bounds_ns = {
    100'000,       250'000,       500'000,       1'000'000,     2'500'000,   5'000'000,
    10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000, 500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

/// One thread's part of a histogram: per-bucket (not cumulative) counts, the last one +Inf.
template <std::size_t Bounds>
struct histogram_shard {
  std::array<metric_counter, Bounds + 1> buckets{};
  metric_counter sum_ns{0};

  void observe(const std::array<std::int64_t, Bounds>& bounds,
               std::chrono::steady_clock::duration d) noexcept {
    const std::int64_t ns =
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    std::size_t i = 0;
    while (i < Bounds && ns > bounds[i])
      ++i;
    bump(buckets[i]);
    bump(sum_ns, static_cast<std::uint64_t>(ns));
  }
};

}  // namespace detail

/// @brief One thread's counters: written by that thread alone, read by scrapes.
///
/// Not thread-safe for writers: two threads bumping one shard lose counts. Hold one per
/// event-loop thread (metrics::shard(i)); where connections move between threads (one
/// io_context run by several threads), take metrics::shard_for_this_thread() at each event.
class alignas(64) metrics_shard {
 public:
  /// @brief The reply-latency histogram times one reply in this many (see sample_reply()).
  static constexpr std::uint32_t reply_sample_interval = 64;

  /// @brief numsequence_messages_total{type=INIT|CONT|RECV|FIN}: one decoded message.
  void message(const client_message& m) noexcept {
    if (m.index() < detail::message_type_count)  // not valueless_by_exception
      detail::bump(messages_[m.index()]);
  }

  /// @brief numsequence_connections{transport}: one more open. A connection may close on
  /// another thread's shard: the gauge is the sum of opens minus the sum of closes.
  void connection_opened(metric_transport t) noexcept {
    detail::bump(opened_[static_cast<std::size_t>(t)]);
  }
  void connection_closed(metric_transport t) noexcept {
    detail::bump(closed_[static_cast<std::size_t>(t)]);
  }

  /// @brief numsequence_errors_total{reason}: the protocol_errc name (`frame_too_long`, ...).
  void error(protocol_errc e) noexcept { count_error(static_cast<std::size_t>(e) - 1); }
  /// @brief numsequence_errors_total{reason}: the refusal name (`server_busy`, ...).
  void error(refusal r) noexcept {
    count_error(detail::protocol_errc_count + static_cast<std::size_t>(r) - 1);
  }
  /// @brief numsequence_errors_total{reason=http_4xx|http_5xx|websocket_close|accept_failed}.
  void error(transport_error e) noexcept {
    count_error(detail::protocol_errc_count + detail::refusal_count + static_cast<std::size_t>(e));
  }
  /// @brief A protocol_errc or refusal as an error_code; codes of other categories are not
  /// counted.
  void error(const std::error_code& ec) noexcept;

  /// @brief numsequence_http_requests_total{route, code}: one answered request.
  void http_request(http_route route, unsigned status) noexcept {
    const auto r = std::min(static_cast<std::size_t>(route), detail::http_route_count - 1);
    detail::bump(http_[r][detail::http_status_slot(status)]);
  }

  /// @brief True once every reply_sample_interval calls: then time this reply and pass the
  /// time to observe_reply(). Sampling keeps clock reads off 63 replies in 64, so the
  /// histogram's _count is about a 64th of the replies (numsequence_messages_total counts
  /// them all) while its shape stays that of every reply.
  bool sample_reply() noexcept { return ++reply_tick_ % reply_sample_interval == 0; }
  /// @brief numsequence_reply_seconds: one (sampled) reply's time.
  void observe_reply(std::chrono::steady_clock::duration d) noexcept {
    reply_.observe(detail::reply_bounds_ns, d);
  }

  /// @brief numsequence_store_operation_seconds{operation}: one store call's time.
  void observe_store(store_operation op, std::chrono::steady_clock::duration d) noexcept {
    store_[static_cast<std::size_t>(op)].observe(detail::store_bounds_ns, d);
  }
  /// @brief numsequence_store_errors_total{operation}: a store call that found the store
  /// unavailable.
  void store_error(store_operation op) noexcept {
    detail::bump(store_errors_[static_cast<std::size_t>(op)]);
  }

 private:
  friend class metrics;
  using counter = detail::metric_counter;

  void count_error(std::size_t index) noexcept {
    if (index < detail::error_reason_count)
      detail::bump(errors_[index]);
  }

  std::array<counter, detail::message_type_count> messages_{};
  std::array<counter, detail::transport_count> opened_{};
  std::array<counter, detail::transport_count> closed_{};
  std::array<counter, detail::error_reason_count> errors_{};
  detail::histogram_shard<detail::reply_bounds_ns.size()> reply_;
  std::uint32_t reply_tick_ = 0;  // the owner's alone: never read by scrapes
  std::array<detail::histogram_shard<detail::store_bounds_ns.size()>, detail::store_operation_count>
      store_;
  std::array<counter, detail::store_operation_count> store_errors_{};
  std::array<std::array<counter, detail::http_status_slot_count>, detail::http_route_count> http_{};
};

/// @brief All of the server's metrics: the shards, the session counts, the process and the
/// build, rendered by serialize() in the Prometheus text format (prometheus-cpp's families
/// and TextSerializer).
///
/// Families: numsequence_connections{transport}, numsequence_sessions{state} (when a session
/// source gives counts), numsequence_messages_total{type}, numsequence_errors_total{reason},
/// numsequence_http_requests_total{route,code} (pairs seen so far), numsequence_reply_seconds,
/// numsequence_store_operation_seconds{operation}, numsequence_store_errors_total{operation},
/// process_* (Linux), numsequence_build_info{version}.
///
/// Thread-safe: shard(), shard_for_this_thread(), set_session_source() and serialize() may be
/// called from any thread. Shards live as long as the metrics object.
class metrics {
 public:
  /// @brief The Content-Type of serialize()'s text.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

  /// @param shards how many shards to make now, for shard(i).
  /// @param version the build_info label; empty: this library's version.
  explicit metrics(std::size_t shards = 0, std::string version = {});
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// @brief The i-th of the shards made by the constructor (throws std::out_of_range beyond).
  metrics_shard& shard(std::size_t index);
  /// @brief The calling thread's own shard, made on its first call (a lock then; later
  /// calls read a thread_local).
  metrics_shard& shard_for_this_thread();

  /// @brief Where numsequence_sessions comes from, called at each scrape (e.g. a store's
  /// count_sessions()); nullopt, or no source, leaves the family out.
  void set_session_source(std::function<std::optional<session_counts>()> source);

  /// @brief Every family in the text exposition format (version 0.0.4).
  std::string serialize() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace numsequence
