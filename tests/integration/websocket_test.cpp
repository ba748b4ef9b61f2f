// The WebSocket stream (/v1/stream) of the real server over raw sockets: the handshake, frames
// masked by hand, answers read frame by frame, close codes, many sockets at once, and a
// dropped stream resumed from the next index. MD5s from Python:
//   hashlib.md5(str(numbers).encode()).hexdigest()

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "md5_text.hpp"
#include "server_fixture.hpp"
#include "web_client.hpp"

namespace numsequence::integration {
namespace {

constexpr std::string_view md5_first_5 = "cfed83aeea304f32a65cb64b4a1bf0a1";
constexpr std::string_view md5_first_1000 = "b64b2bbc2244d405cd1c2a8b0b8718a7";
constexpr std::string_view md5_first_2000 = "33c9094ad5fdb1f55d9f2ff23f109a3a";
constexpr std::string_view md5_100_to_199 = "2ab49c6844c8359e7537911fb5d228b1";

const std::vector<std::string> with_http = {"--http", "0"};

std::string request(std::string_view id, std::uint64_t n) {
  return R"({"id":)" + std::string(id) + R"(,"sequence":"fibonacci","n":)" + std::to_string(n) +
         "}";
}

}  // namespace

TEST_SUITE("websocket") {
  TEST_CASE("the handshake, then an answer in frames and its done frame") {
    running_server server(with_http);
    websocket_client ws(server.connect_http());
    REQUIRE(ws.send_text(request("7", 5)));
    const auto numbers = ws.next_frame();
    REQUIRE(numbers);
    CHECK(numbers->opcode == ws_text);
    CHECK(numbers->fin);
    CHECK(numbers->payload == R"({"id":7,"from":0,"numbers":[0,1,1,2,3]})");
    const auto done = ws.next_frame();
    REQUIRE(done);
    CHECK(done->payload ==
          R"({"id":7,"done":true,"count":5,"md5":")" + std::string(md5_first_5) + R"("})");
  }

  TEST_CASE("requests one after another on one socket, a range among them") {
    running_server server(with_http);
    websocket_client ws(server.connect_http());
    REQUIRE(ws.send_text(request(R"("a")", 1000)));
    const auto first = ws.read_answer();
    CHECK(first.well_formed);
    CHECK(first.ordered);
    CHECK(first.frames > 1);
    REQUIRE(first.done);
    CHECK(first.done->id == R"("a")");
    CHECK(first.done->count == 1000);
    CHECK(first.done->md5 == md5_first_1000);
    CHECK(md5_hex(python_list(first.numbers)) == md5_first_1000);

    REQUIRE(ws.send_text(R"({"id":{"k":[1,2]},"from":100,"to":199})"));
    const auto range = ws.read_answer(100);
    CHECK(range.well_formed);
    CHECK(range.ordered);
    REQUIRE(range.done);
    CHECK(range.done->id == R"({"k":[1,2]})");
    CHECK(range.done->count == 100);
    CHECK(range.done->md5 == md5_100_to_199);
    CHECK(md5_hex(python_list(range.numbers)) == md5_100_to_199);
  }

  TEST_CASE("a bad request gets an error frame, and the socket stays open") {
    running_server server(with_http);
    websocket_client ws(server.connect_http());
    for (const std::string bad :
         {R"({"id":1,"n":-1})", R"({"id":2,"n":25001})", R"({"id":3,"from":5,"to":3})",
          R"({"id":4,"sequence":"primes","n":3})", "not json", R"([1,2])"}) {
      CAPTURE(bad);
      REQUIRE(ws.send_text(bad));
      const auto a = ws.read_answer();
      CHECK(a.well_formed);
      REQUIRE(a.error);
      CHECK_FALSE(a.error->empty());
    }
    REQUIRE(ws.send_text(request("5", 1)));
    const auto good = ws.read_answer();
    REQUIRE(good.done);
    CHECK(good.numbers == std::vector<std::string>{"0"});
  }

  TEST_CASE("pings are answered with pongs") {
    running_server server(with_http);
    websocket_client ws(server.connect_http());
    REQUIRE(ws.send_frame(0x89, "are you there"));
    const auto pong = ws.next_frame();
    REQUIRE(pong);
    CHECK(pong->opcode == ws_pong);
    CHECK(pong->payload == "are you there");
  }

  TEST_CASE("protocol violations close with the RFC's codes, then the server closes") {
    running_server server(with_http);
    struct row {
      const char* name;
      std::string frame;
      std::uint16_t code;
    };
    const std::vector<row> rows = {
        {"an unmasked frame", masked_frame(0x81, request("1", 1), /*masked=*/false), 1002},
        {"a binary message", masked_frame(0x82, "abc"), 1003},
        {"a reserved opcode", masked_frame(0x83, "abc"), 1002},
        {"a reserved bit", masked_frame(0xc1, "abc"), 1002},
        {"text that is not UTF-8", masked_frame(0x81, "\xc3\x28"), 1007},
        {"a message over 4 KiB", masked_frame(0x81, std::string(4097, ' ')), 1009},
        {"a close from the client", masked_frame(0x88, close_body(1000, "bye")), 1000},
    };
    for (const auto& row : rows) {
      const auto& [name, frame, code] = row;
      CAPTURE(row.name);
      websocket_client ws(server.connect_http());
      REQUIRE(ws.send_raw(frame));
      const auto close = ws.next_frame();
      REQUIRE(close);
      CHECK(close->opcode == ws_close);
      CHECK(close->close_code() == code);
      CHECK(ws.socket().wait_closed_silently(seconds(10)));
    }
  }

  TEST_CASE("200 sockets at once each get their whole answer") {
    running_server server(with_http);
    std::vector<std::unique_ptr<websocket_client>> sockets;
    for (int i = 0; i < 200; ++i)
      sockets.push_back(std::make_unique<websocket_client>(server.connect_http()));
    // Every request is out before any answer is read: the server serves them all at once.
    for (std::size_t i = 0; i < sockets.size(); ++i)
      REQUIRE(sockets[i]->send_text(request(std::to_string(i), 1000)));
    int correct = 0;
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      CAPTURE(i);
      const auto a = sockets[i]->read_answer();
      const bool ok = a.well_formed && a.ordered && a.done && a.done->id == std::to_string(i) &&
                      a.done->md5 == md5_first_1000 &&
                      md5_hex(python_list(a.numbers)) == md5_first_1000;
      CHECK(ok);
      correct += ok ? 1 : 0;
    }
    CHECK(correct == 200);
  }

  TEST_CASE("a dropped stream is resumed by asking from the next index") {
    running_server server({"--http", "0", "--test-drop-websocket-after", "3"});
    constexpr std::uint64_t n = 2000;
    std::vector<std::string> numbers;
    int connections = 0;
    bool done = false;
    while (!done && connections < 100) {
      ++connections;
      websocket_client ws(server.connect_http());
      const std::uint64_t from = numbers.size();
      REQUIRE(ws.send_text(R"({"id":)" + std::to_string(connections) + R"(,"from":)" +
                           std::to_string(from) + R"(,"to":)" + std::to_string(n - 1) + "}"));
      const auto a = ws.read_answer(from);
      CHECK(a.well_formed);
      CHECK(a.ordered);
      // Dropped as a network failure would: no close frame, the connection just ends.
      CHECK_FALSE(a.close);
      numbers.insert(numbers.end(), a.numbers.begin(), a.numbers.end());
      if (a.done) {
        done = true;
        CHECK(a.done->count == n - from);
      } else {
        CHECK(a.frames == 3);
        CHECK(ws.socket().closed());
      }
    }
    CHECK(done);
    CHECK(connections > 2);
    CHECK(numbers.size() == n);
    CHECK(md5_hex(python_list(numbers)) == md5_first_2000);
  }
}

}  // namespace numsequence::integration
