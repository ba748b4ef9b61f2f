#include "numsequence/store/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <utility>

#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"

namespace numsequence {
namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

redis_reply copy_reply(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.type = redis_reply::kind::nil;
  }
  return out;
}

}  // namespace

std::optional<redis_address> redis_address::parse(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme))
    return std::nullopt;
  url.remove_prefix(scheme.size());
  redis_address a;
  const auto slash = url.find('/');
  const auto hostport = url.substr(0, slash);
  const auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  a.host = std::string(hostport.substr(0, colon));
  const auto port_text = hostport.substr(colon + 1);
  unsigned port = 0;
  auto [pend, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || pec != std::errc{} || pend != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return std::nullopt;
  }
  a.port = static_cast<std::uint16_t>(port);
  if (slash != std::string_view::npos) {
    const auto db_text = url.substr(slash + 1);
    auto [dend, dec] = std::from_chars(db_text.data(), db_text.data() + db_text.size(), a.db);
    if (db_text.empty() || dec != std::errc{} || dend != db_text.data() + db_text.size() ||
        a.db < 0) {
      return std::nullopt;
    }
  }
  return a;
}

std::string redis_address::str() const {
  return "redis://" + host + ':' + std::to_string(port) + '/' + std::to_string(db);
}

/// The Asio side of one hiredis context: the socket's readiness events.
struct redis_client::io_state : std::enable_shared_from_this<io_state> {
  io_state(asio::any_io_executor ex, redisAsyncContext* ac)
      : descriptor(std::move(ex)), context(ac) {}

  asio::posix::stream_descriptor descriptor;
  redisAsyncContext* context;
  bool alive = true;  // false once hiredis has cleaned up (the context is gone)
  bool want_read = false;
  bool want_write = false;
  bool reading = false;  // an async_wait for read is pending
  bool writing = false;

  void arm_read() {
    if (reading || !alive || !want_read)
      return;
    reading = true;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](std::error_code ec) {
                            self->reading = false;
                            if (ec || !self->alive || !self->want_read)
                              return;
                            redisAsyncHandleRead(self->context);  // may clean up: check alive
                            self->arm_read();
                          });
  }

  void arm_write() {
    if (writing || !alive || !want_write)
      return;
    writing = true;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                          [self = shared_from_this()](std::error_code ec) {
                            self->writing = false;
                            if (ec || !self->alive || !self->want_write)
                              return;
                            redisAsyncHandleWrite(self->context);
                            self->arm_write();
                          });
  }

  // hiredis's event hooks; privdata is the io_state.
  static void add_read(void* p) {
    auto* s = static_cast<io_state*>(p);
    s->want_read = true;
    s->arm_read();
  }
  static void del_read(void* p) { static_cast<io_state*>(p)->want_read = false; }
  static void add_write(void* p) {
    auto* s = static_cast<io_state*>(p);
    s->want_write = true;
    s->arm_write();
  }
  static void del_write(void* p) { static_cast<io_state*>(p)->want_write = false; }
  static void cleanup(void* p) {
    auto* s = static_cast<io_state*>(p);
    s->alive = false;
    s->want_read = s->want_write = false;
    // hiredis closes the socket itself: release, never close, or a double close could
    // hit a descriptor the process has reused meanwhile. Pending waits are cancelled.
    std::error_code ignored;
    s->descriptor.cancel(ignored);
    s->descriptor.release();
  }
};

/// One command in flight. The timer doubles as the completion signal: the reply
/// callback cancels it, and a deadline that passes first means no reply in time.
struct redis_client::pending {
  explicit pending(asio::any_io_executor ex) : signal(std::move(ex)) {}
  asio::steady_timer signal;
  std::optional<redis_reply> reply;
  bool answered = false;
};

std::shared_ptr<redis_client> redis_client::make(asio::any_io_executor executor,
                                                 redis_address address, options opts) {
  return std::shared_ptr<redis_client>(
      new redis_client(std::move(executor), std::move(address), opts));
}

redis_client::redis_client(asio::any_io_executor executor, redis_address address, options opts)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      options_(opts),
      reconnect_timer_(executor_),
      backoff_(opts.first_backoff) {}

redis_client::~redis_client() {
  stop();
}

void redis_client::start() {
  stopping_ = false;
  if (context_ == nullptr)
    connect();
}

void redis_client::stop() {
  stopping_ = true;
  reconnect_timer_.cancel();
  if (context_ != nullptr) {
    auto* ac = context_;
    context_ = nullptr;
    connected_ = false;
    redisAsyncFree(ac);  // completes pending commands with no reply
  }
}

void redis_client::connect() {
  redisAsyncContext* ac = redisAsyncConnect(address_.host.c_str(), address_.port);
  if (ac == nullptr) {
    schedule_reconnect("out of memory");
    return;
  }
  if (ac->err != 0) {
    const std::string why = ac->errstr;
    redisAsyncFree(ac);
    schedule_reconnect(why);
    return;
  }
  ac->data = this;
  io_ = std::make_shared<io_state>(executor_, ac);
  io_->descriptor.assign(ac->c.fd);
  ac->ev.data = io_.get();
  ac->ev.addRead = &io_state::add_read;
  ac->ev.delRead = &io_state::del_read;
  ac->ev.addWrite = &io_state::add_write;
  ac->ev.delWrite = &io_state::del_write;
  ac->ev.cleanup = &io_state::cleanup;
  context_ = ac;
  redisAsyncSetDisconnectCallback(ac, &redis_client::on_disconnect);
  // Last: setting the connect callback asks for the first write event, which needs
  // the adapter above already in place.
  redisAsyncSetConnectCallback(ac, &redis_client::on_connect);
}

void redis_client::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<redis_client*>(ac->data);
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback returns.
    self->context_ = nullptr;
    self->schedule_reconnect(ac->errstr);
    return;
  }
  if (self->address_.db != 0) {
    // Pipelined before anything else, so every later command runs in that database.
    redisAsyncCommand(const_cast<redisAsyncContext*>(ac), nullptr, nullptr, "SELECT %d",
                      self->address_.db);
  }
  self->connected_ = true;
  self->backoff_ = self->options_.first_backoff;
  const std::string address = self->address_.str();
  if (self->ever_connected_)
    log(log_level::warning, "connected to Redis again", log_field("redis", address));
  else
    log(log_level::info, "connected to Redis", log_field("redis", address));
  self->ever_connected_ = true;
}

void redis_client::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<redis_client*>(ac->data);
  const bool was_current = self->context_ == ac;
  if (was_current)
    self->context_ = nullptr;
  self->connected_ = false;
  if (self->stopping_ || !was_current)
    return;
  self->schedule_reconnect(status == REDIS_OK ? "connection closed" : ac->errstr);
}

void redis_client::schedule_reconnect(std::string_view why) {
  connected_ = false;
  if (stopping_)
    return;
  const std::string address = address_.str();
  log(log_level::warning, "Redis unreachable, retrying", log_field("redis", address),
      log_field(log_key::error, why),
      log_field("retry_ms",
                std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count()));
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  reconnect_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopping_ || self->context_ != nullptr)
      return;
    self->connect();
  });
}

void redis_client::drop_connection(std::string_view why) {
  if (context_ == nullptr)
    return;
  const std::string address = address_.str();
  log(log_level::warning, "dropping the Redis connection", log_field("redis", address),
      log_field(log_key::error, why));
  auto* ac = context_;
  context_ = nullptr;
  connected_ = false;
  redisAsyncFree(ac);
  schedule_reconnect(why);
}

void redis_client::on_reply(redisAsyncContext*, void* reply, void* privdata) {
  // Owns one reference to the command's state, whatever happened to the coroutine.
  std::unique_ptr<std::shared_ptr<pending>> holder(
      static_cast<std::shared_ptr<pending>*>(privdata));
  pending& p = **holder;
  p.answered = true;
  if (reply != nullptr)
    p.reply = copy_reply(static_cast<redisReply*>(reply));
  p.signal.cancel();
}

asio::awaitable<std::optional<redis_reply>> redis_client::async_command(
    std::vector<std::string> args) {
  if (!connected_ || context_ == nullptr)
    co_return std::nullopt;
  auto op = std::make_shared<pending>(executor_);
  op->signal.expires_after(options_.command_timeout);

  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* holder = new std::shared_ptr<pending>(op);
  if (redisAsyncCommandArgv(context_, &redis_client::on_reply, holder,
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    delete holder;
    co_return std::nullopt;
  }
  // Keep ourselves alive across the wait: the reply callback touches the context.
  auto self = shared_from_this();
  co_await op->signal.async_wait(use_nothrow);
  if (!op->answered) {
    drop_connection("no reply within the command timeout");
    co_return std::nullopt;
  }
  co_return std::move(op->reply);
}

}  // namespace numsequence
