#include "hostile_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_set>
#include <utility>

#include "../integration/json_fields.hpp"
#include "numsequence/protocol/codec.hpp"
#include "numsequence/sequence/checksum.hpp"

namespace numsequence::hostile {
namespace {

int remaining_ms(test_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - test_clock::now());
  return static_cast<int>(std::clamp<milliseconds::rep>(left.count(), 0, 60'000));
}

bool wait_for(int fd, short events, milliseconds wait) {
  pollfd p{fd, events, 0};
  const auto deadline = test_clock::now() + wait;
  for (int i = 0; i < 1000; ++i) {
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready > 0)
      return true;
    if (ready == 0 || errno != EINTR)
      return false;
  }
  return false;
}

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

// --- raw_conn ---------------------------------------------------------------------------

std::optional<raw_conn> raw_conn::connect(std::uint16_t port, milliseconds timeout,
                                          int receive_buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return std::nullopt;
  raw_conn conn(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (receive_buffer > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
    return conn;
  if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, timeout))
    return std::nullopt;
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
    return std::nullopt;
  return conn;
}

raw_conn::raw_conn(raw_conn&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

raw_conn& raw_conn::operator=(raw_conn&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

raw_conn::~raw_conn() {
  close();
}

raw_conn::io raw_conn::send_some(std::string_view bytes, std::size_t& sent) {
  sent = 0;
  if (fd_ < 0)
    return io::closed;
  for (int i = 0; i < 100; ++i) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      sent = static_cast<std::size_t>(n);
      return io::progress;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return io::would_block;
    return io::closed;
  }
  return io::would_block;
}

std::uint16_t raw_conn::local_port() const noexcept {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

void raw_conn::wait_writable(milliseconds wait) {
  if (fd_ >= 0)
    wait_for(fd_, POLLOUT, wait);
}

bool raw_conn::send_all(std::string_view bytes, milliseconds timeout) {
  const auto deadline = test_clock::now() + timeout;
  // Bounded by the deadline: each pass sends something or waits for room.
  while (!bytes.empty()) {
    std::size_t sent = 0;
    const io r = send_some(bytes, sent);
    if (r == io::closed)
      return false;
    bytes.remove_prefix(sent);
    if (bytes.empty())
      return true;
    if (test_clock::now() >= deadline)
      return false;
    if (r == io::would_block)
      wait_for(fd_, POLLOUT, milliseconds(remaining_ms(deadline)));
  }
  return true;
}

raw_conn::io raw_conn::read_some(std::string& into, milliseconds wait, std::size_t max) {
  if (fd_ < 0)
    return io::closed;
  std::array<char, 65536> chunk{};
  const std::size_t want = std::clamp<std::size_t>(max, 1, chunk.size());
  const auto deadline = test_clock::now() + wait;
  for (int i = 0; i < 1000; ++i) {
    const ssize_t n = ::recv(fd_, chunk.data(), want, 0);
    if (n > 0) {
      into.append(chunk.data(), static_cast<std::size_t>(n));
      return io::progress;
    }
    if (n == 0)
      return io::closed;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return io::closed;
    if (test_clock::now() >= deadline ||
        !wait_for(fd_, POLLIN, milliseconds(remaining_ms(deadline))))
      return io::would_block;
  }
  return io::would_block;
}

bool raw_conn::read_until_closed(std::string& into, milliseconds timeout) {
  const auto deadline = test_clock::now() + timeout;
  for (int i = 0; i < 1'000'000; ++i) {
    const io r = read_some(into, milliseconds(remaining_ms(deadline)));
    if (r == io::closed)
      return true;
    if (r == io::would_block && test_clock::now() >= deadline)
      return false;
  }
  return false;
}

bool raw_conn::peer_closed(milliseconds wait) {
  std::string discard;
  return read_until_closed(discard, wait);
}

void raw_conn::shutdown_write() noexcept {
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_WR);
}

void raw_conn::close_with_reset() noexcept {
  if (fd_ < 0)
    return;
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close();
}

void raw_conn::close() noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

std::vector<raw_conn> open_connections(std::uint16_t port, std::size_t count) {
  std::vector<raw_conn> conns;
  conns.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto c = raw_conn::connect(port, seconds(5));
    if (!c)
      break;
    conns.push_back(std::move(*c));
  }
  return conns;
}

conversation converse_tls(std::uint16_t port, const tls_trust& trust, std::string_view bytes,
                          milliseconds timeout) {
  conversation c;
  auto conn = tcp_client::connect(port, seconds(5), &trust);
  if (!conn)
    return c;
  conn->send(bytes, timeout);
  c.received = conn->read_until_closed(timeout);
  c.closed = conn->closed();
  return c;
}

conversation converse(std::uint16_t port, std::string_view bytes, milliseconds timeout) {
  conversation c;
  auto conn = raw_conn::connect(port, seconds(5));
  if (!conn)
    return c;
  conn->send_all(bytes, timeout);
  c.closed = conn->read_until_closed(c.received, timeout);
  return c;
}

std::string replies(raw_conn& c, std::size_t count, milliseconds timeout) {
  std::string got;
  std::size_t semicolons = 0;
  const auto deadline = test_clock::now() + timeout;
  for (int i = 0; i < 100'000 && semicolons < count && test_clock::now() < deadline; ++i) {
    const auto before = got.size();
    if (c.read_some(got, milliseconds(100)) == raw_conn::io::closed)
      break;
    semicolons += static_cast<std::size_t>(
        std::count(got.begin() + static_cast<std::ptrdiff_t>(before), got.end(), ';'));
  }
  return got;
}

std::string ask(std::uint16_t port, std::string_view bytes, std::size_t count) {
  auto c = raw_conn::connect(port);
  if (!c || !c->send_all(bytes, seconds(5)))
    return {};
  return replies(*c, count);
}

std::string init_for(const std::string& id, std::uint32_t n, std::uint32_t batch) {
  return "INIT," + id + "," + std::to_string(n) + "," + std::to_string(batch) + ";";
}

std::string num_reply(const std::string& id, std::uint32_t n, std::uint32_t batch,
                      std::uint32_t k) {
  const auto numbers = whole_sequence(integration::test_params(id, n, batch));
  std::string out = "NUM,";
  for (std::uint32_t i = k * batch; i < std::min(n, (k + 1) * batch); ++i)
    out += (i > k * batch ? ":" : "") + std::to_string(numbers[i]);
  return out + ";";
}

std::string fac_reply(const std::string& id, std::uint32_t n, std::uint32_t batch) {
  return "FAC," + integration::expected_checksum(integration::test_params(id, n, batch)) + ";";
}

std::string err_reply(protocol_errc e) {
  return "ERR," + make_error_code(e).message() + ";";
}

std::size_t server_side_established(std::uint16_t server_port,
                                    const std::vector<raw_conn*>& conns) {
  std::unordered_set<std::uint16_t> ports;
  for (const auto* c : conns)
    ports.insert(c->local_port());
  std::size_t count = 0;
  for (const auto& s : integration::kernel_tcp_sockets()) {
    if (s.established && s.local_port == server_port && ports.count(s.remote_port) != 0)
      ++count;
  }
  return count;
}

std::optional<std::size_t> server_side_send_queue(std::uint16_t server_port, const raw_conn& conn) {
  const auto client_port = conn.local_port();
  for (const auto& s : integration::kernel_tcp_sockets()) {
    if (s.local_port == server_port && s.remote_port == client_port)
      return s.send_queue;
  }
  return std::nullopt;
}

bool wait_until_write_stalls(std::uint16_t server_port, const raw_conn& conn,
                             milliseconds timeout) {
  return eventually(timeout, [&] {
    const auto before = server_side_send_queue(server_port, conn);
    if (!before || *before == 0)
      return false;
    std::this_thread::sleep_for(milliseconds(300));
    return server_side_send_queue(server_port, conn) == before;
  });
}

// --- process probes ---------------------------------------------------------------------

std::size_t vm_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  for (int i = 0; i < 200 && std::getline(status, line); ++i) {
    if (line.starts_with("VmRSS:")) {
      std::size_t kib = 0;
      std::sscanf(line.c_str() + 6, "%zu", &kib);
      return kib;
    }
  }
  return 0;
}

std::size_t open_fds(pid_t pid) {
  std::error_code ec;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
}

bool set_fd_soft_limit(pid_t pid, rlim_t soft) {
  rlimit current{};
  if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &current) != 0)
    return false;
  const rlimit wanted{std::min(soft, current.rlim_max), current.rlim_max};
  return ::prlimit(pid, RLIMIT_NOFILE, &wanted, nullptr) == 0;
}

rlim_t raise_own_fd_limit(rlim_t wanted) {
  rlimit current{};
  if (::getrlimit(RLIMIT_NOFILE, &current) != 0)
    return 0;
  if (current.rlim_cur < wanted) {
    current.rlim_cur = std::min(wanted, current.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &current);
    ::getrlimit(RLIMIT_NOFILE, &current);
  }
  return current.rlim_cur;
}

std::string random_bytes(std::size_t size, std::uint64_t seed) {
  std::string bytes(size, '\0');
  std::uint64_t x = seed;
  for (auto& ch : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ch = static_cast<char>(x & 0xff);
  }
  return bytes;
}

std::string random_v4_id(std::uint64_t& state) {
  const std::uint64_t hi = splitmix(state);
  const std::uint64_t lo = splitmix(state);
  std::array<char, 40> text{};
  std::snprintf(text.data(), text.size(), "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0x0fff),
                static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return std::string(text.data());
}

// --- legit_session ----------------------------------------------------------------------

namespace {
constexpr milliseconds legit_reply_timeout = seconds(15);
constexpr std::size_t legit_max_reconnects = 200;
}  // namespace

legit_session::legit_session(std::uint16_t port, std::string id, std::uint32_t n,
                             std::uint32_t batch, bool test_mode, const tls_trust* tls)
    : port_(port), tls_(tls), id_(std::move(id)), test_mode_(test_mode) {
  params_ = integration::test_params(id_, n, batch);
  if (test_mode_)
    expected_ = whole_sequence(params_);
}

bool legit_session::fail(std::string why) {
  if (error_.empty())
    error_ = "legit session " + id_ + ": " + std::move(why);
  return false;
}

bool legit_session::reconnect() {
  conn_.reset();
  auto c = tcp_client::connect(port_, seconds(10), tls_);
  if (!c)
    return fail("cannot connect");
  conn_ = std::move(*c);
  // Before the INIT was acknowledged the session may not exist: INIT again.
  const std::string hello = started_ ? "CONT," + id_ + ";"
                                     : "INIT," + id_ + "," + std::to_string(params_.n) + "," +
                                           std::to_string(params_.batch) + ";";
  if (!conn_->send(hello, legit_reply_timeout))
    return false;
  const auto reply = conn_->read_reply(legit_reply_timeout);
  if (!reply)
    return false;
  if (*reply != "ACK;")
    return fail("'" + hello + "' answered with '" + *reply + "'");
  started_ = true;
  return true;
}

std::optional<std::string> legit_session::exchange(const std::string& request) {
  for (std::size_t attempt = 0; attempt < legit_max_reconnects && error_.empty(); ++attempt) {
    if (!conn_ || conn_->closed()) {
      if (conn_)
        ++reconnects_;
      if (!reconnect())
        continue;
    }
    const auto before = test_clock::now();
    if (!conn_->send(request, legit_reply_timeout)) {
      conn_.reset();
      continue;
    }
    auto reply = conn_->read_reply(legit_reply_timeout);
    worst_ = std::max(worst_, std::chrono::duration_cast<milliseconds>(test_clock::now() - before));
    if (reply)
      return reply;
    if (!conn_->closed()) {
      fail("no reply to '" + request + "' within 15 s");
      return std::nullopt;
    }
    conn_.reset();
  }
  fail("gave up on '" + request + "' after " + std::to_string(legit_max_reconnects) +
       " reconnects");
  return std::nullopt;
}

bool legit_session::start() {
  if (!reconnect())
    return fail("INIT failed");
  return true;
}

bool legit_session::advance(std::size_t batches) {
  for (std::size_t i = 0; i < batches && next_ < params_.batch_count(); ++i) {
    const auto reply = exchange("RECV," + std::to_string(next_) + ";");
    if (!reply)
      return false;
    server_message m;
    if (reply->size() < 2 ||
        parse_server_message(std::string_view(*reply).substr(0, reply->size() - 1), m))
      return fail("unparsable reply '" + *reply + "'");
    const auto* num = std::get_if<num_message>(&m);
    if (num == nullptr)
      return fail("RECV," + std::to_string(next_) + " answered with '" + *reply + "'");
    const auto first = next_ * params_.batch;
    const auto last = std::min<std::uint64_t>(params_.n, first + params_.batch);
    if (num->numbers.size() != last - first)
      return fail("wrong count for batch " + std::to_string(next_) + ": " + *reply);
    if (test_mode_ && !std::equal(num->numbers.begin(), num->numbers.end(),
                                  expected_.begin() + static_cast<std::ptrdiff_t>(first))) {
      return fail("wrong numbers for batch " + std::to_string(next_) + ": " + *reply);
    }
    received_.insert(received_.end(), num->numbers.begin(), num->numbers.end());
    ++next_;
  }
  return error_.empty();
}

bool legit_session::finish() {
  if (!advance(params_.batch_count()))
    return false;
  const auto reply = exchange("FIN;");
  if (!reply)
    return false;
  const std::string expected = "FAC," + to_hex(checksum_of(received_)) + ";";
  if (*reply != expected)
    return fail("FIN answered with '" + *reply + "', expected '" + expected + "'");
  if (test_mode_ && to_hex(sequence_checksum(params_)) + ";" != expected.substr(4))
    return fail("the received numbers are not the session's");
  done_ = true;
  conn_.reset();
  return true;
}

// --- client process ---------------------------------------------------------------------

std::unique_ptr<child_process> start_json_client(std::uint16_t port, const std::string& id,
                                                 std::uint32_t n, const std::filesystem::path& dir,
                                                 const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"NEW", std::to_string(n), std::to_string(port), "--client_id",
                                   id,    "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return integration::start_client(std::move(args), dir);
}

void check_json_client(child_process& client, const std::string& id, std::uint32_t n,
                       bool test_mode) {
  const auto status = client.wait(seconds(90));
  const std::string out = client.stdout_text();
  INFO("client stdout: " << out);
  INFO("client stderr: " << client.stderr_text());
  REQUIRE_MESSAGE(status.has_value(), "the client did not finish within 90 s");
  CHECK(status->success());
  CHECK(integration::json_field(out, "valid") == std::optional<std::string>("true"));
  if (test_mode) {
    CHECK(integration::json_field(out, "checksum") ==
          std::optional<std::string>(
              integration::expected_checksum(integration::test_params(id, n))));
  }
}

// --- attack_scene -----------------------------------------------------------------------

namespace {
constexpr std::uint32_t scene_client_n = 500;
}

attack_scene::attack_scene(std::vector<std::string> server_args, bool test_mode,
                           std::uint32_t legit_n, bool tls)
    : pki_(tls ? std::optional(integration::make_throwaway_pki(pki_dir_.path())) : std::nullopt),
      trust_(tls ? std::optional<tls_trust>(std::in_place, pki_->ca) : std::nullopt),
      server_(with_tls(std::move(server_args)), test_mode),
      legit_(server_.port(), integration::numbered_id(1, 0x1e917), legit_n, 5, test_mode,
             trust_ ? &*trust_ : nullptr),
      test_mode_(test_mode),
      client_id_(integration::numbered_id(2, 0xc11e47)) {
  REQUIRE_MESSAGE(legit_.start(), legit_.error());
  REQUIRE_MESSAGE(legit_.advance(1), legit_.error());
  client_ =
      start_json_client(server_.port(), client_id_, scene_client_n, dir_.path(), client_tls_args());
}

std::vector<std::string> attack_scene::with_tls(std::vector<std::string> server_args) {
  if (pki_) {
    server_args.insert(server_args.end(), {"--tls-cert", pki_->server_cert.string(), "--tls-key",
                                           pki_->server_key.string()});
  }
  return server_args;
}

std::vector<std::string> attack_scene::client_tls_args() const {
  if (!pki_)
    return {};
  return {"--tls", "--ca", pki_->ca.string()};
}

attack_scene::~attack_scene() {
  if (!finished_)
    server_.stop(SIGKILL);  // a failed REQUIRE left the scene: no exit-status check
}

void attack_scene::legit_step(std::size_t batches) {
  CHECK_MESSAGE(legit_.advance(batches), legit_.error());
}

void attack_scene::finish() {
  finished_ = true;
  INFO("server stderr (tail): " << [&] {
    const auto err = server_.process().stderr_text();
    return err.size() > 4000 ? err.substr(err.size() - 4000) : err;
  }());
  CHECK_MESSAGE(server_.process().running(), "the server died during the attack");
  if (!legit_.done())
    CHECK_MESSAGE(legit_.finish(), legit_.error());
  check_json_client(*client_, client_id_, scene_client_n, test_mode_);
  // And a session that starts after the attack.
  temp_dir after;
  const std::string late_id = integration::numbered_id(3, 0x1a7e);
  auto late = start_json_client(server_.port(), late_id, 300, after.path(), client_tls_args());
  check_json_client(*late, late_id, 300, test_mode_);
  const auto status = server_.stop(SIGTERM);
  CHECK_MESSAGE(status.has_value(), "the server did not exit within 10 s of SIGTERM");
  if (status)
    CHECK_MESSAGE(status->success(), "the server ended with " << status->describe());
}

}  // namespace numsequence::hostile
