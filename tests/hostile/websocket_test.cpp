// Hostile WebSocket clients against /v1/stream: frames that break RFC 6455 (unmasked,
// oversized, invalid UTF-8, fragmented control frames, reserved bits, bad close codes,
// binary), floods of pings and requests, readers that never read, idle sockets, bad
// handshakes, and a stream cut by the client and resumed. Each runs beside legitimate HTTP
// requests, WebSocket streams and a TCP session (web_scene), which must get exact answers.

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "web_support.hpp"

namespace numsequence::hostile {
namespace {

constexpr std::size_t kib = 1024;
constexpr int small_receive_buffer = 16 * 1024;

// RFC 6455 section 7.4.1.
constexpr std::uint16_t going_away = 1001;
constexpr std::uint16_t protocol_error = 1002;
constexpr std::uint16_t unsupported_data = 1003;
constexpr std::uint16_t invalid_payload = 1007;
constexpr std::uint16_t policy_violation = 1008;
constexpr std::uint16_t message_too_big = 1009;

constexpr std::uint8_t op_continuation = 0x0;
constexpr std::uint8_t op_text = 0x1;
constexpr std::uint8_t op_binary = 0x2;
constexpr std::uint8_t op_close = 0x8;
constexpr std::uint8_t op_ping = 0x9;
constexpr std::uint8_t op_pong = 0xa;

frame_options unmasked() {
  frame_options o;
  o.mask = false;
  return o;
}
frame_options not_final() {
  frame_options o;
  o.fin = false;
  return o;
}
frame_options reserved(std::uint8_t rsv) {
  frame_options o;
  o.rsv = rsv;
  return o;
}
frame_options announcing(std::uint64_t length) {
  frame_options o;
  o.announced_length = length;
  return o;
}

std::size_t growth_kib(std::size_t before, std::size_t after) {
  return after > before ? after - before : 0;
}

ws_client open_ws(web_scene& scene, int receive_buffer = 0) {
  std::string why;
  auto ws = ws_client::open(scene.http_port(), receive_buffer, &why);
  REQUIRE_MESSAGE(ws.has_value(), "cannot open a WebSocket: " << why);
  return std::move(*ws);
}

/// A request for n numbers with a numeric id.
std::string request(int id, std::size_t n) {
  return text_frame("{\"id\":" + std::to_string(id) +
                    ",\"sequence\":\"fibonacci\",\"n\":" + std::to_string(n) + "}");
}

/// Sends `bytes` on a new socket: the close code that answers them (0: closed without a
/// close frame; nullopt: still open after `wait`), and whether the server then ended the
/// TCP connection.
struct close_outcome {
  std::optional<std::uint16_t> code;
  std::size_t frames_before = 0;
  bool tcp_ended = false;
};
close_outcome send_and_await_close(web_scene& scene, const std::string& bytes,
                                   milliseconds wait = seconds(5)) {
  auto ws = open_ws(scene);
  close_outcome o;
  if (!ws.send(bytes)) {
    o.tcp_ended = true;  // closed before everything was sent: the close must be read anyway
  }
  o.code = ws.await_close(wait, &o.frames_before);
  o.tcp_ended = ws.conn().peer_closed(seconds(5));
  return o;
}

void check_closes_with(web_scene& scene, const std::string& bytes, std::uint16_t code) {
  const auto o = send_and_await_close(scene, bytes);
  CHECK(o.code == std::optional<std::uint16_t>(code));
  CHECK(o.tcp_ended);
}

}  // namespace

TEST_SUITE("hostile websocket") {
  TEST_CASE("unmasked client frames are closed with 1002") {
    web_scene scene;
    const std::string payload = R"({"id":1,"n":5})";
    check_closes_with(scene, client_frame(op_text, payload, unmasked()), protocol_error);
    check_closes_with(scene, client_frame(op_ping, "p", unmasked()), protocol_error);
    check_closes_with(scene, client_frame(op_close, "\x03\xe8", unmasked()), protocol_error);
    // After a good request on the same socket: the answer first, then the close.
    auto ws = open_ws(scene);
    REQUIRE(ws.send(request(1, 5)));
    CHECK(read_answer(ws, "1", 0, 5).done);
    REQUIRE(ws.send(client_frame(op_text, payload, unmasked())));
    CHECK(ws.await_close(seconds(5)) == std::optional<std::uint16_t>(protocol_error));
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("oversized frames and messages are closed with 1009 before their payload is read") {
    web_scene scene;
    const auto rss_before = scene.rss_kib();
    // A header announcing 2^63 - 1 bytes, and 1 GiB, each with one byte of payload.
    for (const std::uint64_t length : {(std::uint64_t{1} << 63) - 1, std::uint64_t{1} << 30}) {
      CAPTURE(length);
      const std::string header = client_frame(op_text, "", announcing(length));
      check_closes_with(scene, header + "x", message_too_big);
    }
    // One byte over the 4 KiB message limit, in one frame or in fragments of a message.
    check_closes_with(scene, text_frame(std::string(4097, ' ')), message_too_big);
    check_closes_with(scene,
                      client_frame(op_text, std::string(3000, ' '), not_final()) +
                          client_frame(op_continuation, std::string(1097, ' ')),
                      message_too_big);
    // At the limit exactly: a request padded to 4096 bytes is answered.
    std::string padded = R"({"id":9,"n":20})";
    padded.insert(1, std::string(4096 - padded.size(), ' '));
    auto ws = open_ws(scene);
    REQUIRE(ws.send(text_frame(padded)));
    CHECK(read_answer(ws, "9", 0, 20).done);
    CHECK(growth_kib(rss_before, scene.rss_kib()) < 16 * kib * asan_memory_factor);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("invalid UTF-8 in a text message is closed with 1007, split or not") {
    web_scene scene;
    const std::vector<std::string> invalid = {
        "{\"id\":\"\xff\"}",              // a byte that is never UTF-8
        "{\"id\":\"\xc0\xaf\"}",          // an overlong '/'
        "{\"id\":\"\xed\xa0\x80\"}",      // a surrogate
        "{\"id\":\"\xf4\x90\x80\x80\"}",  // past U+10FFFF
        "{\"id\":\"\xe2\x82\"}",          // cut short inside the message
    };
    for (const auto& text : invalid) {
      CAPTURE(text);
      check_closes_with(scene, text_frame(text), invalid_payload);
    }
    // The message ends inside a character: its fragments each look fine, the whole does not.
    check_closes_with(scene,
                      client_frame(op_text, "{\"id\":\"\xe2", not_final()) +
                          client_frame(op_continuation, "\x82"),
                      invalid_payload);
    // Valid UTF-8 split inside a character across fragments is one message: answered, with
    // the id echoed as sent.
    auto ws = open_ws(scene);
    REQUIRE(ws.send(client_frame(op_text, "{\"id\":\"\xe2", not_final()) +
                    client_frame(op_continuation, "\x82\xac\",\"n\":7}")));
    CHECK(read_answer(ws, "\"\xe2\x82\xac\"", 0, 7).done);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE(
      "fragmented or oversized control frames, and stray continuations, are closed with "
      "1002") {
    web_scene scene;
    check_closes_with(scene, client_frame(op_ping, "a", not_final()), protocol_error);
    check_closes_with(scene, client_frame(op_pong, "a", not_final()), protocol_error);
    check_closes_with(scene, client_frame(op_close, "\x03\xe8", not_final()), protocol_error);
    check_closes_with(scene, client_frame(op_ping, std::string(126, 'p')), protocol_error);
    check_closes_with(scene, client_frame(op_continuation, "x"), protocol_error);
    check_closes_with(scene, client_frame(op_text, "{", not_final()) + client_frame(op_text, "}"),
                      protocol_error);
    // A ping between the fragments of a message is allowed: answered, then the message is.
    auto ws = open_ws(scene);
    REQUIRE(ws.send(client_frame(op_text, R"({"id":3,)", not_final()) +
                    client_frame(op_ping, "between") + client_frame(op_continuation, R"("n":4})")));
    const auto pong = ws.next_frame(seconds(5));
    REQUIRE(pong);
    CHECK(pong->opcode == op_pong);
    CHECK(pong->payload == "between");
    CHECK(read_answer(ws, "3", 0, 4).done);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("reserved bits and unknown opcodes are closed with 1002") {
    web_scene scene;
    for (const std::uint8_t rsv : std::array<std::uint8_t, 3>{0x40, 0x20, 0x10}) {
      CAPTURE(int{rsv});
      check_closes_with(scene, client_frame(op_text, R"({"n":5})", reserved(rsv)), protocol_error);
    }
    for (const std::uint8_t opcode : std::array<std::uint8_t, 4>{0x3, 0x7, 0xb, 0xf}) {
      CAPTURE(int{opcode});
      check_closes_with(scene, client_frame(opcode, "x"), protocol_error);
    }
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("a binary message is closed with 1003") {
    web_scene scene;
    check_closes_with(scene, client_frame(op_binary, R"({"id":1,"n":5})"), unsupported_data);
    check_closes_with(scene, client_frame(op_binary, "\x01\x02", not_final()), unsupported_data);
    // Refused at its first payload byte: the rest of a binary frame is never waited for.
    check_closes_with(scene, client_frame(op_binary, "x", announcing(1000)), unsupported_data);
    // Over the message limit as well: the size is checked first.
    check_closes_with(scene, client_frame(op_binary, "x", announcing(1 << 20)), message_too_big);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("close frames: invalid codes get 1002, a bad reason 1007, valid codes are echoed") {
    web_scene scene;
    for (const std::uint16_t code :
         std::array<std::uint16_t, 10>{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
      CAPTURE(code);
      check_closes_with(scene, close_frame(code), protocol_error);
    }
    check_closes_with(scene, client_frame(op_close, "\x03"), protocol_error);  // 1-byte payload
    check_closes_with(scene, close_frame(1000, "\xff\xfe"), invalid_payload);
    for (const std::uint16_t code : std::array<std::uint16_t, 4>{1000, 1001, 3000, 4999}) {
      CAPTURE(code);
      check_closes_with(scene, close_frame(code, "bye"), code);
    }
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("a request storm on one socket: 16 waiting are answered, 17 close with 1008") {
    web_scene scene;
    std::string sixteen;
    for (int i = 0; i < 16; ++i)
      sixteen += request(100 + i, 30);
    auto ws = open_ws(scene);
    REQUIRE(ws.send(sixteen));
    for (int i = 0; i < 16; ++i) {
      CAPTURE(i);
      CHECK(read_answer(ws, std::to_string(100 + i), 0, 30).done);
    }
    // 17 in one write: more than 16 wait while the first is being answered.
    check_closes_with(scene, sixteen + request(116, 30), policy_violation);
    // A thousand: the same, at the 17th.
    const auto rss_before = scene.rss_kib();
    std::string thousand;
    for (int i = 0; i < 1000; ++i)
      thousand += request(i, 25000);
    const auto o = send_and_await_close(scene, thousand);
    CHECK(o.code == std::optional<std::uint16_t>(policy_violation));
    const auto grew = growth_kib(rss_before, scene.rss_kib());
    MESSAGE("1,000 requests for n=25000 in one write: closed with 1008 after "
            << o.frames_before << " frames, RSS grew " << grew << " KiB");
    CHECK(grew < 16 * kib * asan_memory_factor);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE(
      "a ping flood that is not read is held back by TCP, every ping answered, memory "
      "bounded") {
    web_scene scene({"--websocket-idle-timeout", "2"});
    const auto rss_before = scene.rss_kib();
    auto ws = open_ws(scene, small_receive_buffer);
    const std::string ping_payload(125, 'p');
    std::string pings;
    for (int i = 0; i < 100; ++i)
      pings += client_frame(op_ping, ping_payload);
    // Ping without reading until the server stops taking them: it reads no more while its
    // pongs wait to be written.
    std::size_t sent_total = 0;
    const auto start = test_clock::now();
    auto last_progress = start;
    while (test_clock::now() - last_progress < seconds(1) &&
           test_clock::now() - start < seconds(10)) {
      std::size_t sent = 0;
      // Frames stay whole: each send goes on where the last one stopped.
      const auto r =
          ws.conn().send_some(std::string_view(pings).substr(sent_total % pings.size()), sent);
      if (r == raw_conn::io::closed)
        break;
      sent_total += sent;
      if (sent > 0)
        last_progress = test_clock::now();
      else
        ws.conn().wait_writable(milliseconds(50));
    }
    const auto grew = growth_kib(rss_before, scene.rss_kib());
    MESSAGE("the server took " << sent_total / kib << " KiB of pings before it stopped reading, "
                               << "and grew " << grew << " KiB");
    CHECK(grew < 16 * kib * asan_memory_factor);
    CHECK(sent_total < 64 * 1024 * kib);  // kernel buffers, not the server, hold the rest
    scene.legit_step();
    // Read now: a pong for every whole ping taken, each with the ping's payload.
    const std::size_t whole_pings = sent_total / (pings.size() / 100);
    std::size_t pongs = 0;
    for (std::size_t i = 0; i < whole_pings; ++i) {
      const auto f = ws.next_frame(seconds(5));
      if (!f || f->opcode != op_pong || f->payload != ping_payload)
        break;
      ++pongs;
    }
    CHECK(pongs == whole_pings);
    // A flooder that never reads at all is cut by the WebSocket idle timer once its pongs
    // stall (2 s here; 600 s by default).
    auto stalled = open_ws(scene, small_receive_buffer);
    for (int i = 0; i < 200 && stalled.conn().send_all(pings, milliseconds(100)); ++i) {
    }
    CHECK(eventually(seconds(15), [&] {
      return server_side_established(scene.http_port(), {&stalled.conn()}) == 0;
    }));
    scene.finish();
  }

  TEST_CASE("50 readers that never read a large stream hold a bounded amount each, then are cut") {
    web_scene scene({"--websocket-idle-timeout", "2"});
    const auto rss_before = scene.rss_kib();
    std::vector<ws_client> sockets;
    // Under sanitizers fewer (each fills up to 4 MB of kernel buffer first), and RSS is only
    // reported: their allocators keep every freed frame in quarantine (256 MB by default).
    const int readers = sanitized ? 12 : 50;
    for (int i = 0; i < readers; ++i) {
      sockets.push_back(open_ws(scene, small_receive_buffer));
      REQUIRE(sockets.back().send(request(i, 25000)));
    }
    std::vector<raw_conn*> conns;
    for (auto& s : sockets)
      conns.push_back(&s.conn());
    // Stalled once nothing more is produced: RSS stops moving.
    std::size_t rss = scene.rss_kib();
    CHECK(eventually(seconds(20), [&] {
      std::this_thread::sleep_for(milliseconds(300));
      const auto now = scene.rss_kib();
      return std::exchange(rss, now) == now;
    }));
    const auto per_socket = growth_kib(rss_before, rss) * 1024 / sockets.size();
    // The endpoint never holds more than its 256 KiB of unwritten output (frames are produced
    // only below a 64 KiB low-water mark, but the buffer's capacity grows by doubling); 64 KiB
    // covers the answer's two numbers, wslay's context and allocator slack.
    const std::size_t bound = 256 * kib + 64 * kib;
    MESSAGE("server RSS per WebSocket that never reads n=25000: " << per_socket << " bytes (bound "
                                                                  << bound << ")");
    if (!sanitized) {
      CHECK(per_socket <= bound);
    }
    scene.legit_step();
    // The WebSocket idle timer (2 s) cuts them: their writes make no progress.
    CHECK(eventually(seconds(15),
                     [&] { return server_side_established(scene.http_port(), conns) == 0; }));
    scene.finish();
  }

  TEST_CASE("1,000 idle WebSockets are held (RSS reported) and told 1001 when the server stops") {
    web_scene scene;
    raise_own_fd_limit(4096);
    const auto rss_before = scene.rss_kib();
    std::vector<ws_client> sockets;
    for (int i = 0; i < 1000; ++i)
      sockets.push_back(open_ws(scene));
    const auto per_socket = growth_kib(rss_before, scene.rss_kib()) * 1024 / sockets.size();
    MESSAGE("server RSS per idle WebSocket: " << per_socket << " bytes");
    CHECK(per_socket < 32 * kib * asan_memory_factor);
    scene.legit_step();
    // Every one of them still answers.
    for (std::size_t i = 0; i < sockets.size(); i += 100) {
      REQUIRE(sockets[i].send(request(static_cast<int>(i), 10)));
      CHECK(read_answer(sockets[i], std::to_string(i), 0, 10).done);
    }
    scene.finish();  // SIGTERM with 1,000 sockets open: exit 0
    std::size_t told = 0;
    for (auto& s : sockets) {
      if (s.await_close(seconds(1)) == std::optional<std::uint16_t>(going_away))
        ++told;
    }
    MESSAGE(told << " of 1000 idle sockets got a 1001 close frame at shutdown");
    CHECK(told == sockets.size());
  }

  TEST_CASE("1,000 WebSockets opened and dropped every way free their connection slots") {
    // Few slots: a slot that is not given back shows at once.
    web_scene scene({"--max-connections", "12"});
    for (int i = 0; i < 1000; ++i) {
      CAPTURE(i);
      auto ws = open_ws(scene);
      switch (i % 5) {
        case 0:  // a clean close, echoed
          REQUIRE(ws.send(close_frame(1000)));
          REQUIRE(ws.await_close(seconds(5)) == std::optional<std::uint16_t>(1000));
          break;
        case 1:  // a reset, idle
          ws.conn().close_with_reset();
          break;
        case 2:  // FIN without a close frame
          ws.conn().close();
          break;
        case 3:  // a reset in the middle of an answer
          REQUIRE(ws.send(request(i, 25000)));
          REQUIRE(ws.next_frame(seconds(5)));
          ws.conn().close_with_reset();
          break;
        default:  // a protocol error, answered with 1002
          REQUIRE(ws.send(client_frame(op_text, "x", unmasked())));
          REQUIRE(ws.await_close(seconds(5)) == std::optional<std::uint16_t>(protocol_error));
          break;
      }
    }
    // All slots but the ones the legitimate clients use are free again: 10 sockets open.
    std::vector<ws_client> held;
    CHECK(eventually(seconds(5), [&] {
      held.clear();
      for (int i = 0; i < 10; ++i) {
        auto ws = ws_client::open(scene.http_port());
        if (!ws)
          return false;
        held.push_back(std::move(*ws));
      }
      return true;
    }));
    held.clear();
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("bad handshakes: a bad key is 400, a bad version 426, and the socket never opens") {
    web_scene scene;
    struct row {
      std::string request;
      unsigned status;
    };
    const std::vector<row> rows = {
        {upgrade_request({}, "AAAA"), 400},
        {upgrade_request({}, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), 400},  // 20 bytes, not 16
        {upgrade_request({}, "not base64 at all!!!!!!="), 400},
        {upgrade_request("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), 400},  // two keys
        {upgrade_request({}, "dGhlIHNhbXBsZSBub25jZQ==", "12"), 426},
        {upgrade_request({}, "dGhlIHNhbXBsZSBub25jZQ==", "99999999999999999999"), 426},
        {get_request("/v1/stream"), 426},
    };
    for (const auto& r : rows) {
      CAPTURE(r.request);
      // A frame right behind the refused upgrade is never read as a WebSocket frame: it is
      // the next HTTP request, a malformed one (400, and a close).
      const auto x = exchange(scene.http_port(), r.request + request(1, 5), seconds(5));
      INFO("received: " << x.raw);
      REQUIRE(x.responses.size() == 2);
      CHECK(x.responses[0].status == r.status);
      if (r.status == 426) {
        CHECK(x.responses[0].header("upgrade") == std::optional<std::string>("websocket"));
      }
      if (r.request.find("Version: 12") != std::string::npos) {
        CHECK(x.responses[0].header("sec-websocket-version") == std::optional<std::string>("13"));
      }
      CHECK(x.responses[1].status == 400);
      CHECK(x.closed);
    }
    // An upgrade with a request right behind it in the same write: the frame is the
    // WebSocket's first, and is answered.
    std::string why;
    auto ws = ws_client::open(scene.http_port(), 0, &why, request(5, 12));
    REQUIRE_MESSAGE(ws.has_value(), why);
    CHECK(read_answer(*ws, "5", 0, 12).done);
    scene.legit_step();
    scene.finish();
  }

  TEST_CASE("a stream cut by the client mid-answer resumes on a new socket from the next index") {
    web_scene scene;
    constexpr std::uint64_t n = 25'000;
    auto first = open_ws(scene);
    REQUIRE(first.send(request(1, n)));
    const auto part = read_answer(first, "1", 0, n, seconds(30), 10'000);
    REQUIRE(part.problem.empty());
    REQUIRE(part.numbers >= 10'000);
    REQUIRE(part.numbers < n);
    first.conn().close_with_reset();  // a network drop in the middle of the answer
    scene.legit_step();
    // Resume: the rest, from the first index not received, on a new socket.
    auto second = open_ws(scene);
    REQUIRE(second.send(text_frame("{\"id\":2,\"from\":" + std::to_string(part.numbers) +
                                   ",\"to\":" + std::to_string(n - 1) + "}")));
    const auto resumed_at = test_clock::now();
    const auto rest = read_answer(second, "2", part.numbers, n - part.numbers, seconds(60));
    MESSAGE("cut after "
            << part.numbers << " numbers; the other " << rest.numbers << " came on a new socket in "
            << std::chrono::duration_cast<milliseconds>(test_clock::now() - resumed_at).count()
            << " ms");
    INFO("problem: " << rest.problem << " error: " << rest.error);
    CHECK(rest.done);  // every frame exact, and the md5 of F(from)..F(24999)
    CHECK(rest.numbers == n - part.numbers);
    // A client that says goodbye in the middle of an answer gets its close echoed.
    auto third = open_ws(scene);
    REQUIRE(third.send(request(3, n)));
    CHECK(read_answer(third, "3", 0, n, seconds(30), 100).problem.empty());
    REQUIRE(third.send(close_frame(1000)));
    std::size_t skipped = 0;
    CHECK(third.await_close(seconds(10), &skipped) == std::optional<std::uint16_t>(1000));
    CHECK(third.conn().peer_closed(seconds(5)));
    scene.finish();
  }
}

}  // namespace numsequence::hostile
