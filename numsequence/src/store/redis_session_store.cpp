#include "numsequence/store/redis_session_store.hpp"

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"
#include "numsequence/protocol/message.hpp"

namespace numsequence {
namespace {

// Each lifecycle transition is one script: Redis runs it atomically, so two
// servers racing on one id see one outcome. Fields: v (format), mode, seed, n,
// batch, state (live|parked|completed), lease, checksum.
//
// mode is normal or test (the random kind) or fibonacci (the kind named by INIT's fifth
// field). The kind lives in mode rather than in a field of its own so that a server of an
// older version, which reads only normal and test, takes a Fibonacci record for a damaged
// one (`session store unavailable`, and the client tries another server) instead of
// serving random numbers for it; and a record an older server wrote reads as random.
//
// KEYS[1] is the session, KEYS[2] the index: a sorted set of session keys scored by
// the time (ms, Redis's clock) their TTL ends. Every script that sets a TTL sets the
// score with it, so the index counts the sessions every server sharing this Redis
// holds; create drops the entries whose time has passed (their keys are gone) before
// counting. That is O(log N) per transition plus each expired entry once: no scan.
constexpr std::string_view prelude = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expire(ttl)
  ttl = tonumber(ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
  if ttl <= 0 then
    redis.call('ZREM', KEYS[2], KEYS[1])
  else
    redis.call('ZADD', KEYS[2], string.format('%.0f', now_ms() + ttl), KEYS[1])
  end
end
)lua";

// ARGV ttl_ms, lease, mode, seed, n, batch, max_sessions (0: no limit).
// 1 created, 0 exists, 2 full.
constexpr std::string_view create_body = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
-- A key expires once Redis's time is past its TTL: '(' keeps entries due this very ms.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%.0f', now_ms()))
local max = tonumber(ARGV[7])
if max > 0 and redis.call('ZCARD', KEYS[2]) >= max then return 2 end
redis.call('HSET', KEYS[1], 'v', '1', 'mode', ARGV[3], 'seed', ARGV[4], 'n', ARGV[5],
           'batch', ARGV[6], 'state', 'live', 'lease', ARGV[2])
expire(ARGV[1])
return 1
)lua";

// ARGV ttl_ms, lease. nil if absent, else
// {v, mode, seed, n, batch, state-before, checksum, previous-live-lease}.
constexpr std::string_view attach_body = R"lua(
local f = redis.call('HMGET', KEYS[1], 'v', 'mode', 'seed', 'n', 'batch', 'state', 'checksum', 'lease')
if not f[6] then return false end
local previous = '0'
if f[6] ~= 'completed' then
  if f[6] == 'live' and f[8] then previous = f[8] end
  redis.call('HSET', KEYS[1], 'state', 'live', 'lease', ARGV[2])
  expire(ARGV[1])
end
return {f[1] or '', f[2] or '', f[3] or '', f[4] or '', f[5] or '', f[6], f[7] or '', previous}
)lua";

// ARGV ttl_ms, lease, mode, seed, n, batch, new-state.
// Park (new-state 'parked') or keep alive (new-state 'live') while `lease` holds
// the session. 1 done, 2 rewritten (the record was gone), 0 held elsewhere or completed.
// A rewritten session existed already, so the session limit does not apply to it.
constexpr std::string_view hold_body = R"lua(
local f = redis.call('HMGET', KEYS[1], 'state', 'lease')
if not f[1] then
  redis.call('HSET', KEYS[1], 'v', '1', 'mode', ARGV[3], 'seed', ARGV[4], 'n', ARGV[5],
             'batch', ARGV[6], 'state', ARGV[7], 'lease', ARGV[2])
  expire(ARGV[1])
  return 2
end
if f[1] == 'live' and f[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'state', ARGV[7])
  expire(ARGV[1])
  return 1
end
return 0
)lua";

// ARGV ttl_ms, checksum. 1 completed (now or before), 0 absent.
// The completion record keeps its index entry until it expires: it counts.
constexpr std::string_view complete_body = R"lua(
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if state ~= 'completed' then
  redis.call('HSET', KEYS[1], 'state', 'completed', 'checksum', ARGV[2])
  redis.call('HDEL', KEYS[1], 'seed', 'lease')
  expire(ARGV[1])
end
return 1
)lua";

std::string with_prelude(std::string_view body) {
  std::string script(prelude);
  script += body;
  return script;
}

const std::string create_script = with_prelude(create_body);
const std::string attach_script = with_prelude(attach_body);
const std::string hold_script = with_prelude(hold_body);
const std::string complete_script = with_prelude(complete_body);

template <class T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty())
    return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::string_view mode_name(sequence_mode mode) {
  switch (mode) {
    case sequence_mode::normal:
      return "normal";
    case sequence_mode::test:
      return "test";
    case sequence_mode::fibonacci:
      return "fibonacci";
  }
  return "normal";  // unreachable: -Wswitch names a new mode
}

std::optional<sequence_mode> mode_of(std::string_view name) {
  for (auto mode : {sequence_mode::normal, sequence_mode::test, sequence_mode::fibonacci}) {
    if (name == mode_name(mode))
      return mode;
  }
  return std::nullopt;
}

// Built outside the coroutines: g++ 12 miscompiles braced lists of temporaries in them.
std::vector<std::string> script_call(std::string_view script, std::string key, std::string index,
                                     std::string ttl, std::string lease_or_checksum) {
  std::vector<std::string> cmd;
  cmd.reserve(13);
  cmd.emplace_back("EVAL");
  cmd.emplace_back(script);
  cmd.emplace_back("2");
  cmd.push_back(std::move(key));
  cmd.push_back(std::move(index));
  cmd.push_back(std::move(ttl));
  cmd.push_back(std::move(lease_or_checksum));
  return cmd;
}

/// A script call that also carries the record (to write it back if Redis lost it), and
/// the new state (hold) or the session limit (create).
std::vector<std::string> script_call(std::string_view script, std::string key, std::string index,
                                     std::string ttl, lease_id lease, const session_record& r,
                                     std::string last) {
  auto cmd =
      script_call(script, std::move(key), std::move(index), std::move(ttl), std::to_string(lease));
  cmd.emplace_back(mode_name(r.sequence.mode));
  cmd.push_back(std::to_string(r.sequence.seed));
  cmd.push_back(std::to_string(r.sequence.n));
  cmd.push_back(std::to_string(r.sequence.batch));
  cmd.push_back(std::move(last));
  return cmd;
}

bool is_integer(const std::optional<redis_reply>& r) {
  return r && r->type == redis_reply::kind::integer;
}

void log_bad_reply(std::string_view op, const std::optional<redis_reply>& r) {
  if (r && r->type == redis_reply::kind::error) {
    log(log_level::error, "Redis refused a store command", log_field("operation", op),
        log_field(log_key::error, r->text));
  } else if (r) {
    log(log_level::error, "unexpected Redis reply to a store command", log_field("operation", op));
  }
  // No reply at all: the client has logged the connection trouble already.
}

/// Rebuilds a record from the attach script's reply; false if any field is damaged.
bool decode_record(const client_id& id, const std::vector<redis_reply>& f, session_record& out) {
  if (f.size() != 8)
    return false;
  for (const auto& e : f) {
    if (e.type != redis_reply::kind::string)
      return false;
  }
  if (f[0].text != "1")
    return false;
  session_record r;
  r.sequence.id = id;
  const auto mode = mode_of(f[1].text);
  if (!mode)
    return false;
  r.sequence.mode = *mode;
  const std::string& state = f[5].text;
  if (state != "live" && state != "parked" && state != "completed")
    return false;
  if (!parse_number(f[3].text, r.sequence.n) || r.sequence.n > max_count)
    return false;
  if (!parse_number(f[4].text, r.sequence.batch) || r.sequence.batch == 0 ||
      r.sequence.batch > max_batch) {
    return false;
  }
  if (state == "completed") {
    r.completed_checksum = md5_from_hex(f[6].text);
    if (!r.completed_checksum)
      return false;
  } else if (!parse_number(f[2].text, r.sequence.seed)) {
    return false;
  }
  out = std::move(r);
  return true;
}

}  // namespace

redis_session_store::redis_session_store(std::shared_ptr<redis_client> redis, duration purge_after,
                                         std::string key_prefix, std::size_t max_sessions)
    : redis_(std::move(redis)),
      purge_after_(purge_after),
      prefix_(std::move(key_prefix)),
      index_(prefix_ + "index"),
      max_sessions_(max_sessions) {}

std::string redis_session_store::key(const client_id& id) const {
  std::string k = prefix_;
  k += id.view();
  return k;
}

std::string redis_session_store::purge_ttl_ms() const {
  // PEXPIRE with 0 deletes the key at once: --purge-after 0 keeps nothing.
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(purge_after_).count());
}

redis_session_store::duration redis_session_store::live_ttl() const {
  // At least a second, so that keep-alives stay rare even with a tiny purge window.
  return std::max<duration>(purge_after_, std::chrono::seconds(1));
}

std::string redis_session_store::live_ttl_ms() const {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(live_ttl()).count());
}

std::optional<redis_session_store::duration> redis_session_store::keep_alive_interval() const {
  return live_ttl() / 3;
}

asio::awaitable<store_status> redis_session_store::async_create(const session_record& record,
                                                                lease_id lease) {
  auto command = script_call(create_script, key(record.sequence.id), index_, live_ttl_ms(), lease,
                             record, std::to_string(max_sessions_));
  const auto reply = co_await redis_->async_command(std::move(command));
  if (!is_integer(reply)) {
    log_bad_reply("create", reply);
    co_return store_status::unavailable;
  }
  if (reply->integer == 2) {
    // Once per episode, not per refused INIT: a full store under load would flood the log.
    if (!full_reported_) {
      full_reported_ = true;
      log(log_level::warning,
          "session limit reached in Redis: new sessions are refused until records expire",
          log_field("max_sessions", max_sessions_));
    }
    co_return store_status::full;
  }
  if (reply->integer == 1)
    full_reported_ = false;
  co_return reply->integer == 1 ? store_status::ok : store_status::already_exists;
}

asio::awaitable<attach_result> redis_session_store::async_attach(const client_id& id,
                                                                 lease_id lease) {
  attach_result result;
  auto command = script_call(attach_script, key(id), index_, live_ttl_ms(), std::to_string(lease));
  const auto reply = co_await redis_->async_command(std::move(command));
  if (!reply || reply->type == redis_reply::kind::error) {
    log_bad_reply("attach", reply);
    result.status = store_status::unavailable;
    co_return result;
  }
  if (reply->type == redis_reply::kind::nil) {
    result.status = store_status::not_found;
    co_return result;
  }
  lease_id previous = 0;
  if (reply->type != redis_reply::kind::array ||
      !decode_record(id, reply->elements, result.record) ||
      !parse_number(reply->elements[7].text, previous)) {
    log(log_level::error, "damaged session record in Redis",
        log_field(log_key::client, redacted_client(id)));
    result.status = store_status::unavailable;
    co_return result;
  }
  result.previous_lease = previous;
  result.status = store_status::ok;
  co_return result;
}

asio::awaitable<void> redis_session_store::async_park(const session_record& record,
                                                      lease_id lease) {
  if (record.completed())
    co_return;
  auto command = script_call(hold_script, key(record.sequence.id), index_, purge_ttl_ms(), lease,
                             record, "parked");
  const auto reply = co_await redis_->async_command(std::move(command));
  if (!is_integer(reply)) {
    // The live record keeps its TTL, so the session still expires one window later.
    log(log_level::warning,
        "could not park session (store unavailable): it expires with its "
        "live TTL",
        log_field(log_key::client, redacted_client(record.sequence.id)),
        log_field(log_key::session, hex64{lease}));
    co_return;
  }
  if (reply->integer == 2) {
    log(log_level::warning, "session missing from Redis (restarted?): written back as parked",
        log_field(log_key::client, redacted_client(record.sequence.id)),
        log_field(log_key::session, hex64{lease}));
  }
}

asio::awaitable<store_status> redis_session_store::async_complete(const client_id& id, lease_id,
                                                                  const md5_digest& checksum) {
  auto command = script_call(complete_script, key(id), index_, purge_ttl_ms(), to_hex(checksum));
  const auto reply = co_await redis_->async_command(std::move(command));
  if (!is_integer(reply)) {
    log_bad_reply("complete", reply);
    co_return store_status::unavailable;
  }
  co_return reply->integer == 1 ? store_status::ok : store_status::not_found;
}

asio::awaitable<store_status> redis_session_store::async_keep_alive(const session_record& record,
                                                                    lease_id lease) {
  auto command = script_call(hold_script, key(record.sequence.id), index_, live_ttl_ms(), lease,
                             record, "live");
  const auto reply = co_await redis_->async_command(std::move(command));
  if (!is_integer(reply)) {
    log_bad_reply("keep-alive", reply);
    co_return store_status::unavailable;
  }
  if (reply->integer == 2) {
    log(log_level::warning,
        "session missing from Redis (restarted?): written back from its live connection",
        log_field(log_key::client, redacted_client(record.sequence.id)),
        log_field(log_key::session, hex64{lease}));
  }
  co_return reply->integer == 0 ? store_status::not_found : store_status::ok;
}

}  // namespace numsequence
