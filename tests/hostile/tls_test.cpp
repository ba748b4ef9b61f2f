// The main hostile cases again over TLS, plus attacks on TLS itself (plain text, garbage
// and stalled handshakes, handshake floods). Each scene serves TLS with a throwaway
// certificate; its legitimate session and client processes use TLS too.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hostile_support.hpp"

namespace numsequence::hostile {
namespace {

using integration::numbered_id;
using integration::split_replies;

constexpr std::size_t kib = 1024;
constexpr bool tls = true;

std::size_t growth_kib(std::size_t before, std::size_t after) {
  return after > before ? after - before : 0;
}

/// Opens `count` TLS connections (handshake done), stopping at the first failure.
std::vector<tcp_client> open_tls(std::uint16_t port, const tls_trust& trust, std::size_t count) {
  std::vector<tcp_client> out;
  for (std::size_t i = 0; i < count; ++i) {
    auto c = tcp_client::connect(port, seconds(10), &trust);
    if (!c)
      break;
    out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace

TEST_SUITE("hostile TLS") {
  TEST_CASE("TLS: an oversize frame gets one ERR and a close, memory stays flat") {
    attack_scene scene({}, true, 200, tls);
    const auto rss_before = scene.rss_kib();
    for (int round = 0; round < 5; ++round) {
      // 64 KiB: more than the frame limit, less than the socket buffers, so the ERR is
      // read before the server's close can reset the connection.
      const auto c = converse_tls(scene.port(), scene.trust(), std::string(64 * kib, 'A'));
      CHECK(c.closed);
      CHECK(c.received == err_reply(protocol_errc::frame_too_long));
      scene.legit_step();
    }
    CHECK(growth_kib(rss_before, scene.rss_kib()) < 16 * kib * asan_memory_factor);
    scene.finish();
  }

  TEST_CASE("TLS: a partial message gets no reply and is closed by the idle timer") {
    attack_scene scene({"--idle-timeout", "0.5", "--session-timeout", "0"}, true, 200, tls);
    auto c = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
    REQUIRE(c);
    REQUIRE(c->send("INIT,123", seconds(5)));
    CHECK(c->wait_closed_silently(seconds(10)));
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("TLS: binary garbage and NUL bytes inside the TLS stream get one ERR and a close") {
    attack_scene scene({}, true, 200, tls);
    for (std::uint64_t round = 0; round < 8; ++round) {
      const std::string garbage = random_bytes(16 * kib, 0x71a5 + round);
      const auto c = converse_tls(scene.port(), scene.trust(), garbage);
      CAPTURE(round);
      CHECK(c.closed);
      const auto replies = split_replies(c.received);
      REQUIRE(replies.size() == 1);
      CHECK(replies.front().starts_with("ERR,"));
    }
    using namespace std::string_literals;
    CHECK(converse_tls(scene.port(), scene.trust(), "IN\0IT;"s).received ==
          err_reply(protocol_errc::invalid_byte));
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("TLS: a RECV index of 10^5 digits is cut at the frame limit") {
    attack_scene scene({}, true, 200, tls);
    const std::string id = numbered_id(6, 0x715);
    const auto c = converse_tls(scene.port(), scene.trust(),
                                init_for(id, 10, 5) + "RECV," + std::string(100'000, '9') + ";");
    CHECK(c.closed);
    CHECK(c.received == "ACK;" + err_reply(protocol_errc::frame_too_long));
    scene.finish();
  }

  TEST_CASE("TLS: negative and signed numbers are refused, a huge valid index is not a crash") {
    attack_scene scene({}, true, 200, tls);
    const std::string id = numbered_id(7, 0x715);
    unsigned k = 0;
    for (const std::string field : {"-1", "+1", "0x1", "1e3"}) {
      CAPTURE(field);
      const auto c =
          converse_tls(scene.port(), scene.trust(),
                       init_for(numbered_id(100 + k++, 0x715), 5, 5) + "RECV," + field + ";");
      CHECK(c.closed);
      CHECK(c.received == "ACK;" + err_reply(protocol_errc::invalid_number));
    }
    // Past the session's batches: refused, the connection stays, the next RECV works.
    auto c = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
    REQUIRE(c);
    REQUIRE(c->send(init_for(id, 10, 5) + "RECV,4294967295;RECV,0;", seconds(5)));
    const auto got = c->read_replies(3, seconds(10));
    REQUIRE(got.size() == 3);
    CHECK(got[0] == "ACK;");
    CHECK(got[1].starts_with("ERR,"));
    CHECK(got[2] == num_reply(id, 10, 5, 0));
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("TLS: 5,000 tiny RECVs pipelined are all answered in order") {
    attack_scene scene({"--session-timeout", "0"}, true, 200, tls);
    const std::string id = numbered_id(8, 0x715);
    auto c = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
    REQUIRE(c);
    std::string requests = init_for(id, 65535, 1);
    for (unsigned k = 0; k < 5000; ++k)
      requests += "RECV," + std::to_string(k % 100) + ";";
    REQUIRE(c->send(requests, seconds(20)));
    const auto got = c->read_replies(5001, seconds(30));
    REQUIRE(got.size() == 5001);
    CHECK(got[0] == "ACK;");
    // num_reply() replays the session's generator: compute the 100 distinct replies once.
    std::vector<std::string> expected;
    for (unsigned k = 0; k < 100; ++k)
      expected.push_back(num_reply(id, 65535, 1, k));
    bool in_order = true;
    for (unsigned k = 0; k < 5000 && in_order; ++k)
      in_order = got[k + 1] == expected[k % 100];
    CHECK(in_order);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("TLS: a pipelined flood that never reads is cut by backpressure and the idle timer") {
    attack_scene scene({"--idle-timeout", "1", "--session-timeout", "0"}, true, 200, tls);
    const auto rss_before = scene.rss_kib();
    auto c = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
    REQUIRE(c);
    REQUIRE(c->send(init_for(numbered_id(9, 0x715), 65535, 1000), seconds(5)));
    std::string chunk;
    for (unsigned k = 0; k < 66; ++k)
      chunk += "RECV," + std::to_string(k) + ";";
    // Never reads: sends until the server stops reading (a send times out) and then cuts
    // the connection (a send fails). Bounded by count and by time.
    const auto start = test_clock::now();
    std::size_t total = 0;
    for (int i = 0; i < 200'000 && !c->write_failed() && test_clock::now() - start < seconds(30);
         ++i) {
      if (c->send(chunk, milliseconds(200)))
        total += chunk.size();
      else if (i % 5 == 0)
        scene.legit_step();
    }
    MESSAGE("requests accepted before the cut: " << total / kib << " KiB");
    CHECK_MESSAGE(c->write_failed(), "the server never cut a TLS connection that never reads");
    CHECK(total < 64 * kib * kib);
    CHECK(growth_kib(rss_before, scene.rss_kib()) < 64 * kib * asan_memory_factor);
    scene.finish();
  }

  TEST_CASE("TLS: CONT storm on a live id from 100 connections: one winner, the owner resumes") {
    attack_scene scene({"--session-timeout", "0", "--threads", "2"}, true, 200, tls);
    const std::string id = numbered_id(10, 0x715);
    auto owner = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
    REQUIRE(owner);
    REQUIRE(owner->send(init_for(id, 50, 5) + "RECV,0;", seconds(5)));
    CHECK(owner->read_replies(2, seconds(10)) ==
          std::vector<std::string>{"ACK;", num_reply(id, 50, 5, 0)});
    auto attackers = open_tls(scene.port(), scene.trust(), 100);
    REQUIRE(attackers.size() == 100);
    for (auto& a : attackers)
      REQUIRE(a.send("CONT," + id + ";", seconds(5)));
    std::size_t acks = 0;
    for (auto& a : attackers) {
      if (a.read_reply(seconds(10)) == std::optional<std::string>("ACK;"))
        ++acks;
    }
    CHECK(acks >= 1);
    CHECK(owner->wait_closed_silently(seconds(10)));
    // Every attacker but the last winner is closed; the owner takes the session back.
    auto back = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
    REQUIRE(back);
    REQUIRE(back->send("CONT," + id + ";RECV,1;FIN;", seconds(5)));
    CHECK(back->read_replies(3, seconds(10)) ==
          std::vector<std::string>{"ACK;", num_reply(id, 50, 5, 1), fac_reply(id, 50, 5)});
    bool all_closed = true;
    for (auto& a : attackers)
      all_closed = a.wait_closed_silently(seconds(10)) && all_closed;
    CHECK(all_closed);
    scene.finish();
  }

  TEST_CASE("TLS: an INIT storm of 300 random v4 ids is acknowledged") {
    attack_scene scene({}, true, 200, tls);
    std::uint64_t seed = 0x715715;
    std::size_t acked = 0;
    for (int i = 0; i < 300; ++i) {
      const auto c = converse_tls(scene.port(), scene.trust(),
                                  init_for(random_v4_id(seed), 65535, 5) + "FIN;");
      if (c.received.starts_with("ACK;"))
        ++acked;
      if (i % 50 == 0)
        scene.legit_step();
    }
    CHECK(acked == 300);
    scene.finish();
  }

  TEST_CASE("TLS: 300 handshakes then a hang-up (half reset) leak no descriptor") {
    attack_scene scene({}, true, 200, tls);
    const auto fds_before = open_fds(scene.pid());
    for (int i = 0; i < 300; ++i) {
      auto c = tcp_client::connect(scene.port(), seconds(10), &scene.trust());
      REQUIRE(c);
      if (i % 2 == 0) {
        auto raw = raw_conn::connect(scene.port());  // and a plain TCP connect-and-reset
        REQUIRE(raw);
        raw->close_with_reset();
      }
    }
    scene.legit_step();
    CHECK(eventually(seconds(10), [&] { return open_fds(scene.pid()) <= fds_before + 2; }));
    scene.finish();
  }

  TEST_CASE("TLS: 500 idle TLS connections are held while the legitimate session completes") {
    attack_scene scene({"--idle-timeout", "0", "--session-timeout", "0"}, true, 200, tls);
    auto idle = open_tls(scene.port(), scene.trust(), 500);
    REQUIRE(idle.size() == 500);
    scene.legit_step(10);
    scene.finish();
  }

  TEST_CASE("TLS: plain-text requests to the TLS port get no protocol reply and a close") {
    attack_scene scene({}, true, 200, tls);
    for (unsigned i = 0; i < 50; ++i) {
      const auto c = converse(scene.port(), init_for(numbered_id(i, 0x91a1), 5, 5) + "RECV,0;");
      CHECK(c.closed);
      CHECK(c.received.find("ACK") == std::string::npos);
    }
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("TLS: garbage and truncated ClientHellos are cut, stalled handshakes by the timer") {
    attack_scene scene({"--idle-timeout", "0.5"}, true, 200, tls);
    // A TLS record header announcing a handshake, then noise.
    const std::string fake_hello =
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9) + std::string(100, '\x42');
    for (int i = 0; i < 20; ++i) {
      const auto c = converse(scene.port(), fake_hello, seconds(10));
      CHECK(c.closed);
    }
    // Truncated: the header promises 512 bytes that never come (slowloris on the handshake).
    std::vector<raw_conn> stalled;
    for (int i = 0; i < 100; ++i) {
      auto c = raw_conn::connect(scene.port());
      REQUIRE(c);
      REQUIRE(c->send_all(fake_hello.substr(0, 20), seconds(5)));
      stalled.push_back(std::move(*c));
    }
    scene.legit_step();
    bool all_cut = true;
    for (auto& c : stalled)
      all_cut = c.peer_closed(seconds(10)) && all_cut;
    CHECK(all_cut);
    scene.finish();
  }
}

}  // namespace numsequence::hostile
