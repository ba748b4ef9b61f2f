// Several numsequence servers sharing one real redis-server: one session served by any of
// them, behind a real HAProxy, through server deaths and Redis restarts.

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster_fixture.hpp"
#include "numsequence/protocol/codec.hpp"

using namespace numsequence;
using namespace numsequence::cluster;

namespace {

std::vector<std::unique_ptr<running_server>> start_servers(std::size_t count,
                                                           const redis_instance& redis,
                                                           std::vector<std::string> args) {
  args.insert(args.end(), {"--store", redis.url()});
  std::vector<std::unique_ptr<running_server>> servers;
  for (std::size_t i = 0; i < count; ++i)
    servers.push_back(std::make_unique<running_server>(args));
  return servers;
}

/// The value of `"key":` in the client's one-line JSON (numbers and strings, no nesting).
std::string json_field(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos)
    return {};
  auto start = at + key.size() + 3;
  if (json[start] == '"') {
    ++start;
    return json.substr(start, json.find('"', start) - start);
  }
  return json.substr(start, json.find_first_of(",}", start) - start);
}

/// The NUM reply for batch k of a session.
std::string expected_num(const sequence_params& p, std::uint32_t k) {
  sequence_generator g(p);
  std::string out;
  append_num(out, g.batch(k));
  return out;
}

/// True if the server has logged serving the session (creating or continuing it).
bool served_session(running_server& s) {
  const auto log = s.process().stderr_text();
  return log.find("session created") != std::string::npos ||
         log.find("session continued") != std::string::npos;
}

}  // namespace

TEST_CASE("cluster: two and three servers behind HAProxy complete one 65535-number session") {
  if (!have_program("redis-server") || !have_program("haproxy"))
    return;
  for (unsigned count : {2u, 3u}) {
    CAPTURE(count);
    redis_instance redis;
    // A short session timer and a pause per batch make many connections, so round-robin
    // spreads them over every server.
    auto servers =
        start_servers(count, redis, {"--session-timeout", "0.1", "--interval", "0.0002"});
    std::vector<std::uint16_t> ports;
    for (auto& s : servers)
      ports.push_back(s->port());
    haproxy_instance proxy(ports);

    temp_dir dir;
    const std::string id = numbered_id(count, 0xc1u);
    std::vector<std::string> args = {"NEW",         "65535", std::to_string(proxy.port()),
                                     "--client_id", id,      "--json"};
    for (auto p : ports)
      args.insert(args.end(), {"--server", "127.0.0.1:" + std::to_string(p)});
    const auto result = run_client(args, dir.path(), seconds(90));
    INFO("client stdout: " << result.out << "\nclient stderr: " << result.err);
    REQUIRE(result.exit_code() == 0);
    const auto params = test_params(id, 65535);
    CHECK(json_field(result.out, "valid") == "true");
    CHECK(json_field(result.out, "sum") == std::to_string(expected_sum(params)));
    CHECK(json_field(result.out, "checksum") == expected_checksum(params));
    CHECK(std::stoi(json_field(result.out, "reconnects")) >= static_cast<int>(count));
    for (auto& s : servers)
      CHECK_MESSAGE(served_session(*s), "a server never served the session");
  }
}

TEST_CASE("cluster: a server killed mid-transfer, the client completes through another") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  auto servers = start_servers(2, redis, {"--session-timeout", "0", "--interval", "0.0005"});
  temp_dir dir;
  const std::string id = numbered_id(1, 0xd1u);
  auto client = start_client({"NEW", "20000", servers[0]->port_text(), "--client_id", id,
                              "--server", "127.0.0.1:" + servers[1]->port_text(), "--json"},
                             dir.path());
  REQUIRE(servers[0]->process().wait_for_stderr_containing("session created", seconds(10)));
  const auto killed = servers[0]->stop(SIGKILL);
  REQUIRE(killed.has_value());
  CHECK_FALSE(killed->exited);

  const auto status = client->wait(seconds(60));
  INFO("client stdout: " << client->stdout_text() << "\nclient stderr: " << client->stderr_text());
  REQUIRE(status.has_value());
  CHECK(status->success());
  const auto params = test_params(id, 20000);
  const auto out = client->stdout_text();
  CHECK(json_field(out, "valid") == "true");
  CHECK(json_field(out, "sum") == std::to_string(expected_sum(params)));
  CHECK(servers[1]->process().stderr_text().find("session continued") != std::string::npos);
}

TEST_CASE(
    "cluster: SIGTERM under load: replies in flight are finished, the server exits 0, and "
    "every session completes on the other server") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  // A paces each NUM by 50 ms, so a 65535-number session (13,107 batches) would take about
  // 11 minutes there: every session is surely mid-transfer when the signal comes. B does not
  // pace, so the rest goes quickly.
  running_server a({"--store", redis.url(), "--session-timeout", "0", "--interval", "0.05"});
  running_server b({"--store", redis.url(), "--session-timeout", "0"});

  constexpr unsigned client_count = 4;
  std::vector<std::unique_ptr<temp_dir>> dirs;
  std::vector<std::unique_ptr<child_process>> clients;
  std::vector<std::string> ids;
  for (unsigned k = 0; k < client_count; ++k) {
    ids.push_back(numbered_id(1, 0x57e10000u + k));  // distinct first 8 characters, as logged
    dirs.push_back(std::make_unique<temp_dir>());
    // --verbose with --json writes the transcript to stderr: "Received: NUM,..." is the
    // progress line that says the session is being served by A.
    clients.push_back(
        start_client({"NEW", "65535", a.port_text(), "--client_id", ids.back(), "--server",
                      "127.0.0.1:" + b.port_text(), "--json", "--verbose", "--pipeline", "64"},
                     dirs.back()->path()));
  }
  for (unsigned k = 0; k < client_count; ++k) {
    INFO("client " << k << " stderr: " << clients[k]->stderr_text());
    REQUIRE_MESSAGE(clients[k]->wait_for_stderr_containing("Received: NUM,", seconds(10)),
                    "client " << k << " got no batch from server A within 10 s");
  }

  // A raw connection mid-stream as well, to see exactly what arrives: 100 RECVs in one write,
  // 5 s of pacing (under 1 KiB: the server reads them all at once, so its close is a FIN,
  // not a reset over unread bytes).
  const std::string raw_id = numbered_id(1, 0x57e1ffffu);
  const auto raw_params = test_params(raw_id, 65535);
  auto raw = a.connect();
  std::string request = "INIT," + raw_id + ",65535,5;";
  for (int k = 0; k < 100; ++k)
    request += "RECV," + std::to_string(k) + ";";
  REQUIRE(raw.send(request, reply_timeout));
  const auto first = raw.read_replies(2, reply_timeout);
  REQUIRE(first.size() == 2);
  CHECK(first[0] == "ACK;");
  CHECK(first[1] == expected_num(raw_params, 0));
  const auto stopped = a.stop(SIGTERM);
  INFO("server A stderr: " << a.process().stderr_text());
  REQUIRE_MESSAGE(stopped.has_value(), "server A did not exit within 10 s of SIGTERM");
  CHECK_MESSAGE(stopped->success(), "server A ended with " << stopped->describe());
  CHECK(a.process().stderr_text().find("could not park") == std::string::npos);

  // The raw connection: only whole replies, the next batches in order, then an orderly close.
  const auto rest = raw.read_until_closed(reply_timeout);
  CHECK(raw.closed());
  CHECK_FALSE(raw.reset());
  CHECK((rest.empty() || rest.back() == ';'));  // nothing cut off after the last reply
  const auto tail = split_replies(rest);
  std::uint32_t next = 1;
  for (const auto& reply : tail) {
    CAPTURE(next);
    CHECK(reply == expected_num(raw_params, next));
    ++next;
  }
  // When the signal came, A was pacing (or writing) the reply to RECV,1 or a later one: that
  // reply is finished, so at least batch 1 arrives. Then A stops mid-stream.
  CHECK_MESSAGE(next >= 2, "the reply in flight at SIGTERM was not finished");
  CHECK(next < 100);
  // Parked by A in Redis: B continues it where it stopped and completes it.
  auto resumed = b.connect();
  REQUIRE(
      resumed.send("CONT," + raw_id + ";RECV," + std::to_string(next) + ";FIN;", reply_timeout));
  const auto replies = resumed.read_replies(3, reply_timeout);
  REQUIRE(replies.size() == 3);
  CHECK(replies[0] == "ACK;");
  CHECK(replies[1] == expected_num(raw_params, next));
  CHECK(replies[2] == "FAC," + expected_checksum(raw_params) + ";");

  // Every stock client resumes on B and completes with the right checksum.
  for (unsigned k = 0; k < client_count; ++k) {
    CAPTURE(k);
    const auto status = clients[k]->wait(seconds(60));
    const auto out = clients[k]->stdout_text();
    INFO("client stdout: " << out);
    REQUIRE_MESSAGE(status.has_value(), "client did not finish within 60 s");
    CHECK_MESSAGE(status->success(), "client ended with " << status->describe());
    const auto params = test_params(ids[k], 65535);
    CHECK(json_field(out, "valid") == "true");
    CHECK(json_field(out, "sum") == std::to_string(expected_sum(params)));
    CHECK(json_field(out, "checksum") == expected_checksum(params));
    CHECK(std::stoi(json_field(out, "reconnects")) >= 1);
    CHECK_MESSAGE(b.process().stderr_text().find("session continued client=" +
                                                 ids[k].substr(0, 8)) != std::string::npos,
                  "server B never continued session " << ids[k]);
  }
}

TEST_CASE("cluster: CONT on another server takes the session over, and the first server lets go") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  // Keep-alives every purge-after / 3 = 0.3 s tell server A it lost the session.
  auto servers = start_servers(2, redis, {"--session-timeout", "0", "--purge-after", "0.9"});
  const std::string id = numbered_id(1, 0xe1u);
  auto on_a = servers[0]->connect();
  REQUIRE(on_a.send("INIT," + id + ",10,5;RECV,0;", reply_timeout));
  REQUIRE(on_a.read_replies(2, reply_timeout).size() == 2);

  auto on_b = servers[1]->connect();
  REQUIRE(on_b.send("CONT," + id + ";RECV,1;", reply_timeout));
  const auto replies = on_b.read_replies(2, reply_timeout);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0] == "ACK;");
  CHECK(replies[1].starts_with("NUM,"));

  CHECK_MESSAGE(on_a.wait_closed_silently(seconds(5)),
                "server A kept serving a session that server B took over");
  REQUIRE(on_b.send("FIN;", reply_timeout));
  const auto fac = on_b.read_reply(reply_timeout);
  REQUIRE(fac.has_value());
  CHECK(*fac == "FAC," + expected_checksum(test_params(id, 10)) + ";");
}

TEST_CASE("cluster: a Fibonacci session started on one server continues on another") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  auto servers = start_servers(2, redis, {"--session-timeout", "0", "--purge-after", "30"});
  const std::string id = numbered_id(1, 0xf1bu);
  {
    auto on_a = servers[0]->connect();
    REQUIRE(on_a.send("INIT," + id + ",100,7,fibonacci;RECV,0;", reply_timeout));
    const auto replies = on_a.read_replies(2, reply_timeout);
    REQUIRE(replies.size() == 2);
    CHECK(replies[1] == "NUM,0:1:1:2:3:5:8;");
  }  // closed: server A parks the session in Redis
  auto on_b = servers[1]->connect();
  REQUIRE(on_b.send("CONT," + id + ";RECV,14;FIN;", reply_timeout));
  // Python: fib[98], fib[99]; md5(str(fib[:100])).
  CHECK(on_b.read_until_closed(reply_timeout) ==
        "ACK;NUM,135301852344706746049:218922995834555169026;"
        "FAC,f4f4d43dc76e43a356a380f6296ec6de;");
}

TEST_CASE("cluster: a server killed mid-transfer of a Fibonacci session, another completes it") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  auto servers = start_servers(2, redis, {"--session-timeout", "0", "--interval", "0.001"});
  temp_dir dir;
  const std::string id = numbered_id(2, 0xf1bu);
  auto client = start_client(
      {"NEW", "3000", servers[0]->port_text(), "--client_id", id, "--batch-size", "10",
       "--sequence", "fibonacci", "--server", "127.0.0.1:" + servers[1]->port_text(), "--json"},
      dir.path());
  REQUIRE(servers[0]->process().wait_for_stderr_containing("session created", seconds(10)));
  const auto killed = servers[0]->stop(SIGKILL);
  REQUIRE(killed.has_value());

  const auto status = client->wait(seconds(60));
  INFO("client stdout: " << client->stdout_text() << "\nclient stderr: " << client->stderr_text());
  REQUIRE(status.has_value());
  CHECK(status->success());
  const auto out = client->stdout_text();
  CHECK(json_field(out, "valid") == "true");
  // Python: md5(str(fib[:3000])); sum(fib[:3000]) has 627 digits.
  CHECK(json_field(out, "checksum") == "d3b3f24665650e00bd4a883468779a3f");
  const auto sum = json_field(out, "sum");
  CHECK(sum.size() == 627);
  CHECK(sum.starts_with("66439046036696007228"));
  CHECK(sum.ends_with("59144173304364898000"));
  CHECK(servers[1]->process().stderr_text().find(" continued") != std::string::npos);
}

TEST_CASE(
    "cluster: Redis stopped mid-session, new sessions get a clear ERR, live ones go on, "
    "restarted, new sessions work again") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  auto servers = start_servers(1, redis, {"--session-timeout", "0", "--threads", "2"});
  auto& server = *servers[0];
  const std::string live_id = numbered_id(1, 0xf1u);
  auto live = server.connect();
  REQUIRE(live.send("INIT," + live_id + ",100,5;RECV,0;", reply_timeout));
  REQUIRE(live.read_replies(2, reply_timeout).size() == 2);

  redis.stop(SIGKILL);
  // RECV never touches Redis: the live connection is served as before.
  REQUIRE(live.send("RECV,1;", reply_timeout));
  const auto num = live.read_reply(reply_timeout);
  REQUIRE(num.has_value());
  CHECK(num->starts_with("NUM,"));

  auto refused = server.connect();
  REQUIRE(refused.send("INIT," + numbered_id(2, 0xf1u) + ",10,5;", reply_timeout));
  CHECK(refused.read_until_closed(reply_timeout) == "ERR,session store unavailable;");
  auto refused_cont = server.connect();
  REQUIRE(refused_cont.send("CONT," + live_id + ";", reply_timeout));
  CHECK(refused_cont.read_until_closed(reply_timeout) == "ERR,session store unavailable;");
  CHECK(server.process().running());
  CHECK(server.process().wait_for_stderr_containing("unreachable", seconds(5)));

  redis.start();
  // Each serving thread (two here) has its own Redis connection; the next INIT may land on
  // either, so both must be back.
  const std::string again = "connected to Redis again redis=" + redis.url() + "/0";
  const auto reconnected = [&] {
    const auto err = server.process().stderr_text();
    const auto first = err.find(again);
    return first != std::string::npos && err.find(again, first + 1) != std::string::npos;
  };
  for (int i = 0; i < 500 && !reconnected(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE_MESSAGE(reconnected(), "the server did not reconnect to Redis on both threads");
  auto fresh = server.connect();
  REQUIRE(fresh.send("INIT," + numbered_id(3, 0xf1u) + ",10,5;RECV,1;FIN;", reply_timeout));
  const auto replies = fresh.read_replies(3, reply_timeout);
  INFO("replies: " << (replies.empty() ? std::string() : replies[0]));
  INFO("server stderr: " << server.process().stderr_text());
  REQUIRE(replies.size() == 3);
  CHECK(replies[0] == "ACK;");
  CHECK(replies[2] == "FAC," + expected_checksum(test_params(numbered_id(3, 0xf1u), 10)) + ";");

  // The session that lived through the outage completes with the right checksum.
  REQUIRE(live.send("FIN;", reply_timeout));
  const auto fac = live.read_reply(reply_timeout);
  REQUIRE(fac.has_value());
  CHECK(*fac == "FAC," + expected_checksum(test_params(live_id, 100)) + ";");
}

TEST_CASE(
    "cluster: --io-model shared over Redis: a session moves between servers, keep-alives "
    "run") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  // Two threads per server on one io_context: the Redis client is used from every
  // connection's strand through the store's own strand. Keep-alives every 0.3 s tell
  // server A that B took the session over.
  auto servers = start_servers(
      2, redis,
      {"--io-model", "shared", "--threads", "2", "--session-timeout", "0", "--purge-after", "0.9"});
  const std::string id = numbered_id(2, 0xe1u);
  const auto params = test_params(id, 20);
  auto on_a = servers[0]->connect();
  REQUIRE(on_a.send("INIT," + id + ",20,5;RECV,0;", reply_timeout));
  const auto first = on_a.read_replies(2, reply_timeout);
  REQUIRE(first.size() == 2);
  CHECK(first[0] == "ACK;");
  CHECK(first[1] == expected_num(params, 0));

  auto on_b = servers[1]->connect();
  REQUIRE(on_b.send("CONT," + id + ";RECV,3;RECV,1;", reply_timeout));
  const auto replies = on_b.read_replies(3, reply_timeout);
  REQUIRE(replies.size() == 3);
  CHECK(replies[0] == "ACK;");
  CHECK(replies[1] == expected_num(params, 3));
  CHECK(replies[2] == expected_num(params, 1));
  CHECK_MESSAGE(on_a.wait_closed_silently(seconds(5)),
                "server A kept serving a session that server B took over");
  REQUIRE(on_b.send("FIN;", reply_timeout));
  CHECK(on_b.read_reply(reply_timeout) ==
        std::optional<std::string>("FAC," + expected_checksum(params) + ";"));
}

TEST_CASE("cluster: Redis restarted empty: live sessions are written back, parked ones are lost") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  // Keep-alive every 2 s; parked sessions would live 6 s if Redis kept them.
  auto servers = start_servers(1, redis, {"--session-timeout", "0", "--purge-after", "6"});
  auto& server = *servers[0];
  const std::string live_id = numbered_id(1, 0xa1u);
  const std::string parked_id = numbered_id(2, 0xa1u);
  auto live = server.connect();
  REQUIRE(live.send("INIT," + live_id + ",10,5;RECV,0;", reply_timeout));
  REQUIRE(live.read_replies(2, reply_timeout).size() == 2);
  {
    auto gone = server.connect();
    REQUIRE(gone.send("INIT," + parked_id + ",10,5;RECV,0;", reply_timeout));
    REQUIRE(gone.read_replies(2, reply_timeout).size() == 2);
  }  // closed: parked

  redis.stop();
  redis.start();
  REQUIRE_MESSAGE(server.process().wait_for_stderr_containing("written back", seconds(10)),
                  "the live session was not written back after the restart");

  auto cont_live = server.connect();
  REQUIRE(cont_live.send("CONT," + live_id + ";RECV,1;", reply_timeout));
  const auto replies = cont_live.read_replies(2, reply_timeout);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0] == "ACK;");
  CHECK(replies[1] == expected_num(test_params(live_id, 10), 1));

  auto cont_parked = server.connect();
  REQUIRE(cont_parked.send("CONT," + parked_id + ";", reply_timeout));
  CHECK(cont_parked.read_until_closed(reply_timeout) ==
        "ERR,Client-id: " + parked_id + " does not exist;");
}

TEST_CASE("cluster: --max-sessions counts the sessions of every server sharing the Redis") {
  if (!have_program("redis-server"))
    return;
  redis_instance redis;
  auto servers = start_servers(2, redis, {"--session-timeout", "0", "--max-sessions", "2"});
  auto& a = *servers[0];
  auto& b = *servers[1];
  const std::string on_a = numbered_id(1, 0x5e57u);
  const std::string on_b = numbered_id(2, 0x5e57u);
  auto live_a = a.connect();
  REQUIRE(live_a.send("INIT," + on_a + ",10,5;", reply_timeout));
  CHECK(live_a.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));
  auto live_b = b.connect();
  REQUIRE(live_b.send("INIT," + on_b + ",10,5;", reply_timeout));
  CHECK(live_b.read_reply(reply_timeout) == std::optional<std::string>("ACK;"));

  // One session on each server: the limit of 2 is reached on both.
  const std::string refusal =
      "ERR,too many sessions (the server's session limit is reached, try again later);";
  for (auto* s : {&a, &b}) {
    auto refused = s->connect();
    REQUIRE(refused.send("INIT," + numbered_id(3, 0x5e57u) + ",10,5;", reply_timeout));
    CHECK(refused.read_until_closed(reply_timeout) == refusal);
  }
  // A session moves between servers when full: CONT on B takes A's over and completes it.
  auto moved = b.connect();
  REQUIRE(moved.send("CONT," + on_a + ";RECV,1;FIN;", reply_timeout));
  const auto replies = moved.read_replies(3, reply_timeout);
  REQUIRE(replies.size() == 3);
  CHECK(replies[0] == "ACK;");
  CHECK(replies[1] == expected_num(test_params(on_a, 10), 1));
  CHECK(replies[2] == "FAC," + expected_checksum(test_params(on_a, 10)) + ";");
}

TEST_CASE("cluster: a server whose Redis is down at start serves nothing wrong and says why") {
  bound_port closed_port;  // bound, never listening
  running_server server({"--store", "redis://127.0.0.1:" + std::to_string(closed_port.port())});
  auto c = server.connect();
  REQUIRE(c.send("INIT," + numbered_id(1, 0xb1u) + ",10,5;", reply_timeout));
  CHECK(c.read_until_closed(reply_timeout) == "ERR,session store unavailable;");
  CHECK(server.process().wait_for_stderr_containing("unreachable", seconds(5)));
}

TEST_CASE("cluster: a bad --store is a usage error") {
  const auto result = run_process(
      [] {
        process_options o;
        o.argv = {server_binary, "0", "--store", "redis://nowhere"};
        return o;
      }(),
      seconds(10));
  CHECK(result.exit_code() == 2);
  CHECK(result.err.find("invalid --store") != std::string::npos);
}
