#pragma once
/// @file
/// @brief Tools for the hostile-client suite: raw sockets that can flood, stall and reset,
/// probes of the server process (memory, descriptors, limits), a legitimate session that
/// runs beside every attack, and the scene that ties them together.
///
/// Every case follows one shape: start the real server on port 0, start a legitimate
/// session (raw socket, INIT and a first batch) and a real client process (`--json`),
/// attack, advance the legitimate session during the attack, then finish: the legitimate
/// session and the client both end with the right checksum, a fresh client run does too,
/// and the server exits 0 on SIGTERM.

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../integration/server_fixture.hpp"
#include "../integration/tls_support.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/sequence/sequence.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NUMSEQUENCE_HOSTILE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NUMSEQUENCE_HOSTILE_SANITIZED 1
#endif
#endif

namespace numsequence::hostile {

using integration::child_process;
using integration::milliseconds;
using integration::running_server;
using integration::seconds;
using integration::tcp_client;
using integration::temp_dir;
using integration::test_clock;
using integration::tls_trust;

#ifdef NUMSEQUENCE_HOSTILE_SANITIZED
/// True when this suite (and so the server, built alike) runs under AddressSanitizer or
/// ThreadSanitizer: memory bounds are then loosened for the shadow memory and quarantine.
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

/// Memory bounds in the cases are for a release build; ASan's shadow and quarantine
/// take about this many times more.
inline constexpr std::size_t asan_memory_factor = sanitized ? 4 : 1;

/// @brief A loopback TCP socket with non-blocking I/O for attacks: partial sends that
/// report progress, sends and reads that may run on two threads at once, resets.
class raw_conn {
 public:
  /// @brief Connects to 127.0.0.1:port; nullopt if refused or not connected in time.
  /// A non-zero `receive_buffer` fixes SO_RCVBUF before connecting (no autotuning), so a
  /// client that reads slowly or not at all stalls the server's writes after that much,
  /// whatever the host's tcp_rmem allows.
  static std::optional<raw_conn> connect(std::uint16_t port, milliseconds timeout = seconds(5),
                                         int receive_buffer = 0);

  raw_conn(raw_conn&& other) noexcept;
  raw_conn& operator=(raw_conn&& other) noexcept;
  raw_conn(const raw_conn&) = delete;
  raw_conn& operator=(const raw_conn&) = delete;
  ~raw_conn();

  int fd() const noexcept { return fd_; }
  /// @brief Our end's port (0 if unknown).
  std::uint16_t local_port() const noexcept;

  enum class io { progress, would_block, closed };

  /// @brief Sends what the socket takes without waiting; `sent` gets the count.
  io send_some(std::string_view bytes, std::size_t& sent);
  /// @brief Waits up to `wait` for room to send (or for an error: the next send reports it).
  /// Reads nothing, so a client that never reads can use it.
  void wait_writable(milliseconds wait);
  /// @brief Sends everything, waiting up to `timeout`; false on close, reset or timeout.
  bool send_all(std::string_view bytes, milliseconds timeout);
  /// @brief Appends what arrives within `wait` (at most `max` bytes, 64 KiB at most) to `into`.
  io read_some(std::string& into, milliseconds wait, std::size_t max = 65536);
  /// @brief Reads (and keeps in `into`) until the peer closes or `timeout`; true if closed.
  bool read_until_closed(std::string& into, milliseconds timeout);
  /// @brief True if the peer has closed or reset, looking for at most `wait`; discards data.
  bool peer_closed(milliseconds wait);

  /// @brief Half-close: no more bytes from us, replies still readable.
  void shutdown_write() noexcept;
  /// @brief Closes with a reset (SO_LINGER 0) instead of an orderly FIN.
  void close_with_reset() noexcept;
  void close() noexcept;

 private:
  explicit raw_conn(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

/// @brief Opens up to `count` connections (stopping at the first failure); never throws.
std::vector<raw_conn> open_connections(std::uint16_t port, std::size_t count);

/// @brief What the server sent on a fresh connection after `bytes`, until it closed.
struct conversation {
  std::string received;
  bool closed = false;  ///< false: still open at the timeout
};
/// @brief Connects, sends `bytes` (a server that closes early may take fewer), and reads
/// until the server closes or `timeout` passes.
conversation converse(std::uint16_t port, std::string_view bytes,
                      milliseconds timeout = seconds(10));

/// @brief converse() over TLS: the handshake (verified with `trust`) comes first; `closed`
/// stays false and nothing is received if the handshake fails.
conversation converse_tls(std::uint16_t port, const tls_trust& trust, std::string_view bytes,
                          milliseconds timeout = seconds(10));

/// @brief The first `count` replies read from `c` (fewer if it closes or `timeout` passes).
std::string replies(raw_conn& c, std::size_t count, milliseconds timeout = seconds(10));
/// @brief Connects, sends `bytes`, returns the first `count` replies, and hangs up.
std::string ask(std::uint16_t port, std::string_view bytes, std::size_t count);

/// @brief `INIT,<id>,<n>,<batch>;`
std::string init_for(const std::string& id, std::uint32_t n, std::uint32_t batch);
/// @brief The exact NUM reply for batch `k` of a test-mode session.
std::string num_reply(const std::string& id, std::uint32_t n, std::uint32_t batch, std::uint32_t k);
/// @brief The exact FAC reply of a test-mode session.
std::string fac_reply(const std::string& id, std::uint32_t n, std::uint32_t batch);

/// @brief The exact `ERR,<text>;` the server sends for `e`.
std::string err_reply(protocol_errc e);

/// @brief How many of `conns` the server still holds open: server-side sockets on
/// `server_port` in state ESTABLISHED toward their ports, from /proc/net/tcp.
///
/// This sees the server's close even when our end cannot yet: a server that closes a socket
/// with replies still queued leaves the kernel to deliver them (FIN_WAIT), which takes as long
/// as a slow reader makes it take, though the server has let go of the connection.
std::size_t server_side_established(std::uint16_t server_port, const std::vector<raw_conn*>& conns);

/// @brief The send queue (bytes not yet acknowledged) of the server's end of `conn`, from
/// /proc/net/tcp; nullopt if that socket is gone.
std::optional<std::size_t> server_side_send_queue(std::uint16_t server_port, const raw_conn& conn);

/// @brief Waits until the server is stuck writing to `conn` (a client that does not read):
/// its send queue toward `conn` is non-empty and has not moved for 300 ms.
bool wait_until_write_stalls(std::uint16_t server_port, const raw_conn& conn, milliseconds timeout);

/// @brief Resident memory of a process in KiB (VmRSS in /proc/<pid>/status); 0 if unknown.
std::size_t vm_rss_kib(pid_t pid);
/// @brief Open file descriptors of a process (entries of /proc/<pid>/fd).
std::size_t open_fds(pid_t pid);
/// @brief Sets the soft RLIMIT_NOFILE of another process (prlimit); false on failure.
bool set_fd_soft_limit(pid_t pid, rlim_t soft);
/// @brief Raises this process's soft RLIMIT_NOFILE to `wanted` (capped by the hard
/// limit); returns the soft limit now in force. Children started later inherit it.
rlim_t raise_own_fd_limit(rlim_t wanted);

/// @brief Waits (polling every 20 ms, at most `timeout`) until `ready()` is true.
template <class Predicate>
bool eventually(milliseconds timeout, Predicate ready) {
  const auto deadline = test_clock::now() + timeout;
  for (int i = 0; i < 100'000; ++i) {
    if (ready())
      return true;
    if (test_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

/// @brief `size` pseudo-random bytes (xorshift64 from `seed`): the same garbage on every run.
std::string random_bytes(std::size_t size, std::uint64_t seed);

/// @brief A random version-4 UUID text (lower case) from a seeded generator.
std::string random_v4_id(std::uint64_t& state);

/// @brief A well-behaved client talking raw protocol beside an attack.
///
/// It resumes with CONT whenever the server closes its connection (session timer, idle
/// timer, takeover) and checks the FAC against the MD5 of the numbers it received. Against
/// a test-mode server it also checks every batch against the library's sequence.
class legit_session {
 public:
  /// With `tls`, every connection is TLS, verified against it.
  legit_session(std::uint16_t port, std::string id, std::uint32_t n, std::uint32_t batch = 5,
                bool test_mode = true, const tls_trust* tls = nullptr);

  /// @brief INIT and its ACK. False (see error()) on failure.
  bool start();
  /// @brief The next `batches` batches, one request at a time.
  bool advance(std::size_t batches = 1);
  /// @brief The remaining batches, FIN, and the FAC check.
  bool finish();

  const std::string& error() const noexcept { return error_; }
  const std::string& id() const noexcept { return id_; }
  std::size_t reconnects() const noexcept { return reconnects_; }
  /// @brief The longest time one request waited for its reply.
  milliseconds worst_latency() const noexcept { return worst_; }
  bool done() const noexcept { return done_; }

 private:
  std::optional<std::string> exchange(const std::string& request);
  bool reconnect();
  bool fail(std::string why);

  std::uint16_t port_;
  const tls_trust* tls_;
  std::string id_;
  sequence_params params_;
  bool test_mode_;
  std::vector<std::uint32_t> expected_;  // test mode only
  std::vector<std::uint32_t> received_;
  std::optional<tcp_client> conn_;
  std::uint64_t next_ = 0;
  bool started_ = false;
  bool done_ = false;
  std::size_t reconnects_ = 0;
  milliseconds worst_{0};
  std::string error_;
};

/// @brief numsequence-client NEW n PORT --client_id id --json in `dir`, in the background;
/// `extra` goes after them (e.g. --tls --ca FILE).
std::unique_ptr<child_process> start_json_client(std::uint16_t port, const std::string& id,
                                                 std::uint32_t n, const std::filesystem::path& dir,
                                                 const std::vector<std::string>& extra = {});
/// @brief Waits for a client from start_json_client and checks exit 0 and `valid`, and in
/// test mode the checksum the library expects.
void check_json_client(child_process& client, const std::string& id, std::uint32_t n,
                       bool test_mode = true);

/// @brief A server under attack with a legitimate session and a client process beside it.
///
/// The constructor starts the server (`server_args` after PORT; test mode unless told
/// otherwise), the legitimate raw session (INIT and its first batch) and a real client
/// process; finish() checks that both complete valid, that a fresh client run completes
/// valid after the attack, and that the server exits 0 on SIGTERM.
class attack_scene {
 public:
  /// With `tls`, the server serves TLS with a throwaway certificate, and the legitimate
  /// session and the client processes use TLS too.
  explicit attack_scene(std::vector<std::string> server_args = {}, bool test_mode = true,
                        std::uint32_t legit_n = 200, bool tls = false);
  ~attack_scene();
  attack_scene(const attack_scene&) = delete;
  attack_scene& operator=(const attack_scene&) = delete;

  running_server& server() noexcept { return server_; }
  std::uint16_t port() const noexcept { return server_.port(); }
  pid_t pid() noexcept { return server_.process().pid(); }
  std::size_t rss_kib() noexcept { return vm_rss_kib(pid()); }
  legit_session& legit() noexcept { return legit_; }
  /// @brief The trust a TLS client needs (TLS scenes only).
  const tls_trust& trust() const {
    REQUIRE(trust_.has_value());
    return *trust_;
  }

  /// @brief The legitimate session fetches `batches` more batches, checked, during the attack.
  void legit_step(std::size_t batches = 1);
  /// @brief Everything after the attack (see the class comment). Call once, at the end.
  void finish();

 private:
  std::vector<std::string> with_tls(std::vector<std::string> server_args);
  std::vector<std::string> client_tls_args() const;

  temp_dir pki_dir_;
  std::optional<integration::throwaway_pki> pki_;
  std::optional<tls_trust> trust_;
  running_server server_;
  temp_dir dir_;
  legit_session legit_;
  bool test_mode_;
  std::unique_ptr<child_process> client_;
  std::string client_id_;
  bool finished_ = false;
};

}  // namespace numsequence::hostile
