#pragma once
/// @brief A hiredis asynchronous connection driven by an Asio executor, reconnecting by itself.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;

namespace numsequence {

/// @brief Where Redis is: parsed from `redis://HOST:PORT[/DB]`.
struct redis_address {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;

  /// @brief nullopt unless `url` is redis://HOST:PORT or redis://HOST:PORT/DB (DB 0-15... any
  /// non-negative number Redis accepts).
  static std::optional<redis_address> parse(std::string_view url);
  std::string str() const;
};

/// @brief A reply, copied out of hiredis's memory.
struct redis_reply {
  enum class kind { nil, integer, string, status, error, array };
  kind type = kind::nil;
  long long integer = 0;
  std::string text;  ///< string, status and error replies
  std::vector<redis_reply> elements;
};

/// @brief One connection to Redis over hiredis's async API, on an Asio executor.
///
/// hiredis has no Asio adapter; this one maps its addRead/addWrite/delRead/delWrite
/// callbacks to one-shot `async_wait`s on a stream_descriptor over hiredis's socket,
/// re-armed while hiredis still wants the event. hiredis owns and closes the
/// socket, so cleanup releases the descriptor instead of closing it.
///
/// The connection comes back by itself: a failed connect or a dropped connection
/// schedules a reconnect with exponential back-off (logged). While it is down,
/// commands fail at once instead of queueing. Commands have a deadline; one that
/// passes drops the connection (a Redis that stops answering is treated as gone).
///
/// Not thread-safe: use from the executor's thread only. Create with make().
class redis_client : public std::enable_shared_from_this<redis_client> {
 public:
  using duration = std::chrono::steady_clock::duration;

  struct options {
    duration command_timeout = std::chrono::seconds(2);
    duration first_backoff = std::chrono::milliseconds(100);
    duration max_backoff = std::chrono::seconds(2);
  };

  static std::shared_ptr<redis_client> make(asio::any_io_executor executor, redis_address address,
                                            options opts);
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// @brief Starts connecting (and reconnecting whenever the connection is lost).
  void start();
  /// @brief Disconnects for good; pending commands complete with nullopt.
  void stop();

  /// @brief Connected now. Callable from any thread (a readiness probe on another thread).
  bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
  const redis_address& address() const noexcept { return address_; }

  /// @brief Runs one command. nullopt when Redis is unreachable, the connection drops
  /// before the reply, or the reply does not come within the command timeout.
  /// Error replies (`-ERR ...`) are returned as kind::error.
  asio::awaitable<std::optional<redis_reply>> async_command(std::vector<std::string> args);

 private:
  struct io_state;
  struct pending;

  redis_client(asio::any_io_executor executor, redis_address address, options opts);
  void connect();
  void schedule_reconnect(std::string_view why);
  void drop_connection(std::string_view why);

  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);

  asio::any_io_executor executor_;
  redis_address address_;
  options options_;
  asio::steady_timer reconnect_timer_;
  redisAsyncContext* context_ = nullptr;
  std::shared_ptr<io_state> io_;
  duration backoff_;
  std::atomic<bool> connected_{false};
  bool stopping_ = false;
  bool ever_connected_ = false;
};

}  // namespace numsequence
