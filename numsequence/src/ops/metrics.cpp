#include "numsequence/ops/metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <iterator>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "numsequence/ops/process_metrics.hpp"

#ifndef NUMSEQUENCE_LIBRARY_VERSION
#define NUMSEQUENCE_LIBRARY_VERSION "unknown"
#endif

namespace numsequence {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using label_list = std::vector<ClientMetric::Label>;

// Label values. Switches without `default:`, so that -Wswitch names a new enumerator here.
std::string transport_name(metric_transport t) {
  return std::string(name_of(t));
}

static_assert(std::is_same_v<std::variant_alternative_t<0, client_message>, init_message> &&
              std::is_same_v<std::variant_alternative_t<1, client_message>, cont_message> &&
              std::is_same_v<std::variant_alternative_t<2, client_message>, recv_message> &&
              std::is_same_v<std::variant_alternative_t<3, client_message>, fin_message>);
constexpr std::array<const char*, detail::message_type_count> message_type_names = {"INIT", "CONT",
                                                                                    "RECV", "FIN"};

std::string protocol_errc_name(protocol_errc e) {
  switch (e) {
    case protocol_errc::frame_too_long:
      return "frame_too_long";
    case protocol_errc::empty_message:
      return "empty_message";
    case protocol_errc::invalid_byte:
      return "invalid_byte";
    case protocol_errc::unknown_type:
      return "unknown_type";
    case protocol_errc::wrong_field_count:
      return "wrong_field_count";
    case protocol_errc::invalid_client_id:
      return "invalid_client_id";
    case protocol_errc::invalid_number:
      return "invalid_number";
    case protocol_errc::number_out_of_range:
      return "number_out_of_range";
    case protocol_errc::invalid_checksum:
      return "invalid_checksum";
    case protocol_errc::session_not_started:
      return "session_not_started";
    case protocol_errc::session_already_started:
      return "session_already_started";
    case protocol_errc::session_completed:
      return "session_completed";
    case protocol_errc::unknown_sequence_kind:
      return "unknown_sequence_kind";
  }
  return "unknown";
}

std::string refusal_name(refusal r) {
  switch (r) {
    case refusal::already_exists:
      return "already_exists";
    case refusal::does_not_exist:
      return "does_not_exist";
    case refusal::invalid_batch_index:
      return "invalid_batch_index";
    case refusal::store_unavailable:
      return "store_unavailable";
    case refusal::too_many_sessions:
      return "too_many_sessions";
    case refusal::server_busy:
      return "server_busy";
    case refusal::fibonacci_too_large:
      return "fibonacci_too_large";
  }
  return "unknown";
}

std::string transport_error_name(transport_error e) {
  switch (e) {
    case transport_error::http_4xx:
      return "http_4xx";
    case transport_error::http_5xx:
      return "http_5xx";
    case transport_error::websocket_close:
      return "websocket_close";
    case transport_error::accept_failed:
      return "accept_failed";
  }
  return "unknown";
}

/// The label of errors_[index]: protocol_errc, then refusal, then transport_error.
std::string error_reason_name(std::size_t index) {
  if (index < detail::protocol_errc_count)
    return protocol_errc_name(static_cast<protocol_errc>(index + 1));
  index -= detail::protocol_errc_count;
  if (index < detail::refusal_count)
    return refusal_name(static_cast<refusal>(index + 1));
  return transport_error_name(static_cast<transport_error>(index - detail::refusal_count));
}

std::string route_name(http_route r) {
  switch (r) {
    case http_route::fibonacci:
      return "fibonacci";
    case http_route::fibonacci_value:
      return "fibonacci_value";
    case http_route::fib_limit:
      return "fib_limit";
    case http_route::fib_compat:
      return "fib_compat";
    case http_route::page:
      return "page";
    case http_route::stream:
      return "stream";
    case http_route::metrics:
      return "metrics";
    case http_route::healthz:
      return "healthz";
    case http_route::readyz:
      return "readyz";
    case http_route::other:
      return "other";
  }
  return "other";
}

/// The `code` label of an HTTP status slot (detail::http_status_slot()).
std::string status_label(std::size_t slot) {
  if (slot < 5 * 32)
    return std::to_string((slot / 32 + 1) * 100 + slot % 32);
  if (slot < 5 * 32 + 5)
    return std::to_string(slot - 5 * 32 + 1) + "xx";
  return "other";
}

std::string operation_name(store_operation op) {
  switch (op) {
    case store_operation::create:
      return "create";
    case store_operation::attach:
      return "attach";
    case store_operation::park:
      return "park";
    case store_operation::complete:
      return "complete";
    case store_operation::keep_alive:
      return "keep_alive";
  }
  return "unknown";
}

MetricFamily make_family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);  // prometheus-cpp 1.0 writes HELP unescaped: no `\` or newline
  f.type = type;
  return f;
}

void add_value(MetricFamily& f, label_list labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

/// A histogram summed over the shards: per-bucket counts (the last is +Inf) and the sum.
struct histogram_totals {
  std::vector<std::uint64_t> buckets;
  std::uint64_t sum_ns = 0;

  template <std::size_t Bounds>
  void add(const detail::histogram_shard<Bounds>& shard) {
    buckets.resize(Bounds + 1);
    for (std::size_t i = 0; i <= Bounds; ++i)
      buckets[i] += shard.buckets[i].load(std::memory_order_relaxed);
    sum_ns += shard.sum_ns.load(std::memory_order_relaxed);
  }
};

template <std::size_t Bounds>
void add_histogram(MetricFamily& f, label_list labels, const histogram_totals& h,
                   const std::array<std::int64_t, Bounds>& bounds_ns) {
  ClientMetric m;
  m.label = std::move(labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= Bounds; ++i) {
    cumulative += i < h.buckets.size() ? h.buckets[i] : 0;
    const double bound = i < Bounds ? static_cast<double>(bounds_ns[i]) / 1e9
                                    : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  // The count is the buckets' total, so _count and the +Inf bucket always agree.
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(h.sum_ns) / 1e9;
  f.metric.push_back(std::move(m));
}

template <std::size_t N>
void add_counts(std::array<std::uint64_t, N>& to,
                const std::array<detail::metric_counter, N>& from) {
  for (std::size_t i = 0; i < N; ++i)
    to[i] += from[i].load(std::memory_order_relaxed);
}

void add_process_families(std::vector<MetricFamily>& out) {
  const auto p = read_process_stats();
  if (!p)
    return;
  const auto one = [&](const char* name, const char* help, MetricType type, double value) {
    out.push_back(make_family(name, help, type));
    add_value(out.back(), {}, value);
  };
  one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      MetricType::Counter, p->cpu_seconds);
  one("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, p->open_fds);
  one("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge, p->max_fds);
  one("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
      p->virtual_memory_bytes);
  one("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
      p->resident_memory_bytes);
  one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      MetricType::Gauge, p->start_time_seconds);
}

std::atomic<std::uint64_t> next_metrics_id{1};

/// The calling thread's shard of the metrics object `owner` (an id, never reused: a new
/// object at a freed address must not find the old one's shard).
struct thread_shard_cache {
  std::uint64_t owner = 0;
  metrics_shard* shard = nullptr;
};
thread_local thread_shard_cache this_thread_shard;

}  // namespace

void metrics_shard::error(const std::error_code& ec) noexcept {
  if (ec.value() <= 0)
    return;
  const auto value = static_cast<std::size_t>(ec.value());
  if (ec.category() == protocol_category() && value <= detail::protocol_errc_count) {
    count_error(value - 1);
  } else if (ec.category() == refusal_category() && value <= detail::refusal_count) {
    count_error(detail::protocol_errc_count + value - 1);
  }
}

/// The shards and the sources read at scrape time, as a prometheus Collectable.
struct metrics::impl final : prometheus::Collectable {
  /// Every shard summed.
  struct totals {
    std::array<std::uint64_t, detail::message_type_count> messages{};
    std::array<std::uint64_t, detail::transport_count> opened{};
    std::array<std::uint64_t, detail::transport_count> closed{};
    std::array<std::uint64_t, detail::error_reason_count> errors{};
    std::array<std::array<std::uint64_t, detail::http_status_slot_count>, detail::http_route_count>
        http{};
    histogram_totals reply;
    std::array<histogram_totals, detail::store_operation_count> store;
    std::array<std::uint64_t, detail::store_operation_count> store_errors{};
  };

  const std::uint64_t id = next_metrics_id.fetch_add(1);
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<metrics_shard>> shards;  // mutex held; never shrinks
  std::size_t fixed_shards = 0;                        // shards[0, fixed_shards): shard(i)
  std::unordered_map<std::thread::id, metrics_shard*> by_thread;  // mutex held
  std::function<std::optional<session_counts>()> session_source;  // mutex held
  prometheus::Registry registry;                                  // numsequence_build_info

  std::vector<MetricFamily> Collect() const override;
  totals sum_shards() const;
  void add_shard_families(const totals& t, std::vector<MetricFamily>& out) const;
  void add_histogram_families(const totals& t, std::vector<MetricFamily>& out) const;
  void add_session_family(std::vector<MetricFamily>& out) const;
};

metrics::impl::totals metrics::impl::sum_shards() const {
  totals t;
  std::lock_guard lock(mutex);
  for (const auto& s : shards) {
    // Closes before opens: an open that a counted close follows is then counted too.
    add_counts(t.closed, s->closed_);
    add_counts(t.opened, s->opened_);
    add_counts(t.messages, s->messages_);
    add_counts(t.errors, s->errors_);
    for (std::size_t r = 0; r < detail::http_route_count; ++r)
      add_counts(t.http[r], s->http_[r]);
    t.reply.add(s->reply_);
    for (std::size_t op = 0; op < detail::store_operation_count; ++op)
      t.store[op].add(s->store_[op]);
    add_counts(t.store_errors, s->store_errors_);
  }
  return t;
}

void metrics::impl::add_shard_families(const totals& t, std::vector<MetricFamily>& out) const {
  auto& connections = out.emplace_back(make_family(
      "numsequence_connections", "Connections open now, by transport.", MetricType::Gauge));
  for (std::size_t i = 0; i < detail::transport_count; ++i) {
    // A close counted on another shard than its open can be seen first: never below 0.
    const auto open = t.opened[i] > t.closed[i] ? t.opened[i] - t.closed[i] : 0;
    add_value(connections, {{"transport", transport_name(static_cast<metric_transport>(i))}},
              static_cast<double>(open));
  }
  auto& messages = out.emplace_back(make_family("numsequence_messages_total",
                                                "TCP protocol messages received, by type.",
                                                MetricType::Counter));
  for (std::size_t i = 0; i < detail::message_type_count; ++i)
    add_value(messages, {{"type", message_type_names[i]}}, static_cast<double>(t.messages[i]));
  auto& errors = out.emplace_back(make_family(
      "numsequence_errors_total",
      "Errors answered or seen, by reason (protocol errors, refusals, HTTP, WebSocket, accept).",
      MetricType::Counter));
  for (std::size_t i = 0; i < detail::error_reason_count; ++i)
    add_value(errors, {{"reason", error_reason_name(i)}}, static_cast<double>(t.errors[i]));
  auto& http = out.emplace_back(make_family("numsequence_http_requests_total",
                                            "HTTP requests answered, by route and status code.",
                                            MetricType::Counter));
  for (std::size_t r = 0; r < detail::http_route_count; ++r) {
    for (std::size_t slot = 0; slot < detail::http_status_slot_count; ++slot) {
      if (t.http[r][slot] == 0)
        continue;  // route x code is large and sparse: only the pairs seen
      add_value(http,
                {{"route", route_name(static_cast<http_route>(r))}, {"code", status_label(slot)}},
                static_cast<double>(t.http[r][slot]));
    }
  }
  auto& store_errors = out.emplace_back(
      make_family("numsequence_store_errors_total",
                  "Session store calls that found the store unavailable.", MetricType::Counter));
  for (std::size_t op = 0; op < detail::store_operation_count; ++op) {
    add_value(store_errors, {{"operation", operation_name(static_cast<store_operation>(op))}},
              static_cast<double>(t.store_errors[op]));
  }
}

void metrics::impl::add_histogram_families(const totals& t, std::vector<MetricFamily>& out) const {
  auto& reply = out.emplace_back(make_family(
      "numsequence_reply_seconds",
      "Time to answer a TCP message, sampled: one reply in 64 is timed.", MetricType::Histogram));
  add_histogram(reply, {}, t.reply, detail::reply_bounds_ns);
  auto& store = out.emplace_back(make_family("numsequence_store_operation_seconds",
                                             "Time of session store calls, by operation.",
                                             MetricType::Histogram));
  for (std::size_t op = 0; op < detail::store_operation_count; ++op) {
    add_histogram(store, {{"operation", operation_name(static_cast<store_operation>(op))}},
                  t.store[op], detail::store_bounds_ns);
  }
}

void metrics::impl::add_session_family(std::vector<MetricFamily>& out) const {
  std::function<std::optional<session_counts>()> source;
  {
    std::lock_guard lock(mutex);
    source = session_source;
  }
  const auto counts = source ? source() : std::nullopt;
  if (!counts)
    return;
  auto& sessions = out.emplace_back(make_family(
      "numsequence_sessions", "Sessions held by the session store, by state.", MetricType::Gauge));
  add_value(sessions, {{"state", "live"}}, static_cast<double>(counts->live));
  add_value(sessions, {{"state", "parked"}}, static_cast<double>(counts->parked));
  add_value(sessions, {{"state", "completed"}}, static_cast<double>(counts->completed));
}

std::vector<MetricFamily> metrics::impl::Collect() const {
  std::vector<MetricFamily> out;
  const totals t = sum_shards();
  add_shard_families(t, out);
  add_histogram_families(t, out);
  add_session_family(out);
  add_process_families(out);
  auto build = registry.Collect();
  std::move(build.begin(), build.end(), std::back_inserter(out));
  return out;
}

metrics::metrics(std::size_t shards, std::string version) : impl_(std::make_unique<impl>()) {
  for (std::size_t i = 0; i < shards; ++i)
    impl_->shards.push_back(std::make_unique<metrics_shard>());
  impl_->fixed_shards = shards;
  if (version.empty())
    version = NUMSEQUENCE_LIBRARY_VERSION;
  prometheus::BuildGauge()
      .Name("numsequence_build_info")
      .Help("The numsequence version serving, as a label; the value is 1.")
      .Register(impl_->registry)
      .Add({{"version", version}})
      .Set(1);
}

metrics::~metrics() = default;

metrics_shard& metrics::shard(std::size_t index) {
  std::lock_guard lock(impl_->mutex);
  if (index >= impl_->fixed_shards)
    throw std::out_of_range("metrics::shard: no shard " + std::to_string(index));
  return *impl_->shards[index];
}

metrics_shard& metrics::shard_for_this_thread() {
  thread_shard_cache& cache = this_thread_shard;
  if (cache.owner == impl_->id)
    return *cache.shard;
  metrics_shard* s = nullptr;
  {
    std::lock_guard lock(impl_->mutex);
    metrics_shard*& slot = impl_->by_thread[std::this_thread::get_id()];
    if (slot == nullptr)
      slot = impl_->shards.emplace_back(std::make_unique<metrics_shard>()).get();
    s = slot;
  }
  cache = {impl_->id, s};
  return *s;
}

void metrics::set_session_source(std::function<std::optional<session_counts>()> source) {
  std::lock_guard lock(impl_->mutex);
  impl_->session_source = std::move(source);
}

std::string metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->Collect());
}

}  // namespace numsequence
