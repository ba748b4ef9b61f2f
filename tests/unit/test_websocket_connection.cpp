// websocket_connection: the stream driven without a socket: client frames are fed, steps are
// carried out by a small loop here, and the frames written are read back. MD5s from Python:
// hashlib.md5(str(numbers).encode()).hexdigest().

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "../integration/md5_text.hpp"
#include "../integration/websocket_wire.hpp"
#include "numsequence/server/websocket_connection.hpp"
#include "websocket_frames.hpp"

using namespace numsequence;
using namespace std::chrono_literals;
using namespace numsequence::test;
using numsequence::integration::python_list;
using numsequence::integration::read_stream_frame;
using numsequence::integration::split_frames;
using numsequence::integration::stream_frame;
using numsequence::integration::ws_frame;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{std::chrono::hours(1)};
constexpr std::string_view md5_first_5 = "cfed83aeea304f32a65cb64b4a1bf0a1";
constexpr std::string_view md5_first_1000 = "b64b2bbc2244d405cd1c2a8b0b8718a7";
constexpr std::string_view md5_first_5000 = "10d1f8bac85ebd94451326a4e252f326";  // 2.6 MB of text

websocket_connection_config config() {
  websocket_connection_config c;
  c.timeouts.idle = 600s;
  return c;
}

/// Carries out steps as the I/O side does, until the connection wants to read or close.
struct driver {
  websocket_connection_config cfg;
  websocket_connection c;
  std::vector<std::string> writes;
  std::function<void(std::size_t)> on_write;  // during each write, before it completes

  explicit driver(websocket_connection_config config_ = config()) : cfg(config_), c(cfg, t0) {
    c.lifetime().ready(t0);
  }

  io_step run() {
    for (int steps = 0; steps < 1'000'000; ++steps) {
      const io_step s = c.next(t0);
      if (s != io_step::write)
        return s;
      writes.emplace_back(c.output());
      if (on_write)
        on_write(writes.size());
      c.written();
    }
    FAIL("the connection never stopped writing");
    return io_step::close;
  }

  std::string wire() const {
    std::string all;
    for (const auto& w : writes)
      all += w;
    return all;
  }
  std::vector<ws_frame> frames() const { return split_frames(wire()); }
};

/// One answer read back: its numbers frames in order, checked to follow each other, and its
/// done frame.
struct answer {
  std::vector<std::string> numbers;
  stream_frame done;
  std::size_t frames = 0;
};

/// Reads the answers in `frames` (text frames only), checking each frame's shape and that
/// each numbers frame starts where the one before it stopped.
std::vector<answer> read_answers(const std::vector<ws_frame>& frames, std::uint64_t first = 0) {
  std::vector<answer> answers(1);
  for (const auto& f : frames) {
    if (f.opcode != integration::ws_text)
      continue;
    const stream_frame s = read_stream_frame(f.payload);
    CHECK_MESSAGE(s.valid, "not a stream frame: " << f.payload.substr(0, 200));
    CHECK(f.payload.size() <= default_frame_budget);
    if (s.done) {
      answers.back().done = s;
      answers.emplace_back();
      continue;
    }
    REQUIRE(s.from);
    CHECK(*s.from == first + answers.back().numbers.size());
    answers.back().numbers.insert(answers.back().numbers.end(), s.numbers.begin(), s.numbers.end());
    ++answers.back().frames;
  }
  answers.pop_back();
  return answers;
}

std::string request(int id, std::uint64_t n) {
  return text_frame(R"({"id":)" + std::to_string(id) + R"(,"sequence":"fibonacci","n":)" +
                    std::to_string(n) + "}");
}

}  // namespace

TEST_CASE("websocket_connection: a request is answered with its frames, then done") {
  driver d;
  d.c.feed(request(7, 5));
  CHECK(d.run() == io_step::read);
  CHECK(d.wire() == server_frame(op_text, R"({"id":7,"from":0,"numbers":[0,1,1,2,3]})") +
                        server_frame(op_text, R"({"id":7,"done":true,"count":5,"md5":")" +
                                                  std::string(md5_first_5) + R"("})"));
  CHECK(d.c.requests() == 1);
}

TEST_CASE("websocket_connection: a long answer comes in bounded frames whose md5 is Python's") {
  driver d;
  d.c.feed(request(1, 1000));
  CHECK(d.run() == io_step::read);
  const auto answers = read_answers(d.frames());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].frames > 1);
  CHECK(answers[0].numbers.size() == 1000);
  CHECK(answers[0].done.count == 1000);
  CHECK(answers[0].done.md5 == md5_first_1000);
  CHECK(integration::md5_hex(python_list(answers[0].numbers)) == md5_first_1000);
}

TEST_CASE("websocket_connection: a bad request gets an error frame and the socket stays open") {
  driver d;
  d.c.feed(text_frame(R"({"id":"a","n":-1})") + text_frame("not json") + request(2, 1));
  CHECK(d.run() == io_step::read);
  const auto frames = d.frames();
  REQUIRE(frames.size() == 4);
  const auto first = read_stream_frame(frames[0].payload);
  REQUIRE(first.error);
  CHECK(first.id == R"("a")");
  CHECK(first.error->find("n must") == 0);
  CHECK(first.error->find("-1") != std::string::npos);
  const auto second = read_stream_frame(frames[1].payload);
  REQUIRE(second.error);
  CHECK_FALSE(second.id);
  CHECK(second.error->find("request is not valid JSON") == 0);
  CHECK(frames[2].payload == R"({"id":2,"from":0,"numbers":[0]})");
  CHECK(read_stream_frame(frames[3].payload).done);
  CHECK(d.c.requests() == 3);
}

TEST_CASE("websocket_connection: requests are answered one after another, in order") {
  driver d;
  d.c.feed(request(1, 1000) + request(2, 5) + request(3, 1000));
  CHECK(d.run() == io_step::read);
  const auto answers = read_answers(d.frames());
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].done.id == "1");
  CHECK(answers[0].done.md5 == md5_first_1000);
  CHECK(answers[1].done.id == "2");
  CHECK(answers[1].done.md5 == md5_first_5);
  CHECK(answers[2].done.id == "3");
  CHECK(answers[2].done.md5 == md5_first_1000);
}

TEST_CASE("websocket_connection: a request that arrives during an answer waits for it") {
  driver d;
  d.c.feed(request(1, 5000));
  d.on_write = [&](std::size_t writes) {
    if (writes == 1)
      d.c.feed(request(2, 5));
  };
  CHECK(d.run() == io_step::read);
  const auto answers = read_answers(d.frames());
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].done.id == "1");
  CHECK(answers[0].numbers.size() == 5000);
  CHECK(answers[0].done.md5 == md5_first_5000);
  CHECK(integration::md5_hex(python_list(answers[0].numbers)) == md5_first_5000);
  CHECK(answers[1].done.id == "2");
  CHECK(answers[1].done.md5 == md5_first_5);
}

TEST_CASE(
    "websocket_connection: no frame is produced while the output is above the low-water mark") {
  driver d;
  d.c.feed(request(1, 5000));
  const std::size_t low_water = d.cfg.endpoint.output_low_water;
  std::size_t writes = 0;
  for (io_step s = d.c.next(t0); s == io_step::write; s = d.c.next(t0)) {
    const std::string out(d.c.output());
    // Asked again before the write completes: nothing more was produced.
    REQUIRE(d.c.next(t0) == io_step::write);
    CHECK(d.c.output() == out);
    // Frames were added only while below the mark: one frame (and its header) past it at most.
    CHECK(out.size() < low_water + default_frame_budget + 10);
    d.writes.push_back(out);
    d.c.written();
    ++writes;
  }
  CHECK(writes > 10);
  const auto answers = read_answers(d.frames());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].done.md5 == md5_first_5000);
}

TEST_CASE("websocket_connection: a close from the client is answered, then the socket closes") {
  driver d;
  d.c.feed(request(1, 5));
  CHECK(d.run() == io_step::read);
  d.writes.clear();
  d.c.feed(client_frame(fin | op_close, close_payload(1000, "bye")));
  CHECK(d.run() == io_step::close);
  CHECK(d.wire() == server_frame(op_close, close_payload(1000, "bye")));
}

TEST_CASE("websocket_connection: a stop between requests closes at once") {
  driver d;
  d.c.feed(request(1, 5));
  CHECK(d.run() == io_step::read);
  CHECK(d.c.lifetime().request_close(t0) == connection_lifetime::verdict::close_now);
  CHECK(d.run() == io_step::close);
}

TEST_CASE("websocket_connection: a socket that asks for nothing for the idle time is closed") {
  driver d;
  d.c.feed(request(1, 5));
  CHECK(d.run() == io_step::read);
  CHECK(d.c.lifetime().deadline() == t0 + 600s);
  CHECK(d.c.lifetime().on_deadline(t0 + 600s) == connection_lifetime::timer::idle);
  CHECK(d.run() == io_step::close);
}
TEST_CASE("websocket_connection: the test drop closes the socket after K frames, all written") {
  for (const std::size_t k : {1u, 3u, 10u}) {
    CAPTURE(k);
    auto cfg = config();
    cfg.drop_after_frames = k;
    driver d(cfg);
    d.c.feed(request(1, 5000));
    CHECK(d.run() == io_step::close);
    const auto frames = d.frames();
    // K numbers frames, as a network failure leaves them: no close frame, nothing cut.
    CHECK(frames.size() == k);
    const auto answers = read_answers(frames);
    CHECK(answers.empty());
    for (const auto& f : frames)
      CHECK(f.opcode == integration::ws_text);
  }
}
TEST_CASE("websocket_connection: a stop during an answer lets it finish, then says 1001") {
  driver d;
  // The second request is waiting when the stop comes: it is not started.
  d.c.feed(request(1, 5000) + request(2, 5));
  d.on_write = [&](std::size_t writes) {
    if (writes == 2)
      CHECK(d.c.lifetime().request_close(t0) == connection_lifetime::verdict::keep_open);
  };
  CHECK(d.run() == io_step::close);
  const auto frames = d.frames();
  REQUIRE_FALSE(frames.empty());
  CHECK(frames.back().opcode == integration::ws_close);
  CHECK(frames.back().close_code() == close_code::going_away);
  const auto answers = read_answers(frames);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].done.id == "1");
  CHECK(answers[0].done.md5 == md5_first_5000);
}
