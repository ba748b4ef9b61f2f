// framed_reader tests: the same frames whichever way bytes arrive (read into the reader,
// lent from a shared buffer, split anywhere), and no memory held by an idle reader.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <ostream>  // doctest only forward-declares it; printing error_code needs it
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/framed_reader.hpp"

using namespace numsequence;
using kind = frame_result::kind;

namespace {

const std::string pipelined =
    "INIT,123e4567-e89b-12d3-a456-426614174000,10,5;\r\nRECV,0; RECV,1;FIN;";
const std::vector<std::string> expected = {"INIT,123e4567-e89b-12d3-a456-426614174000,10,5",
                                           "RECV,0", "RECV,1", "FIN"};

// Takes every frame available now.
void drain(framed_reader& r, std::vector<std::string>& frames) {
  for (;;) {
    const frame_result f = r.next();
    REQUIRE(f.what != kind::error);
    if (f.what == kind::need_more)
      return;
    frames.emplace_back(f.frame);
  }
}

// Lends `input` in pieces of `piece` bytes from a buffer that is overwritten between pieces,
// as a thread's scratch buffer is by its other connections.
std::vector<std::string> lend_in_pieces(const std::string& input, std::size_t piece) {
  framed_reader r{256};
  std::vector<std::string> frames;
  std::string scratch(piece, '\0');
  for (std::size_t at = 0; at < input.size(); at += piece) {
    const std::size_t n = std::min(piece, input.size() - at);
    std::memcpy(scratch.data(), input.data() + at, n);
    r.feed(std::string_view(scratch.data(), n));
    drain(r, frames);
    r.keep_rest();
    std::fill(scratch.begin(), scratch.end(), '#');  // the scratch buffer is reused
  }
  return frames;
}

// Reads `input` into the reader in pieces of `piece` bytes.
std::vector<std::string> read_in_pieces(const std::string& input, std::size_t piece) {
  framed_reader r{256};
  std::vector<std::string> frames;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    const std::size_t n = std::min(piece, input.size() - at);
    auto room = r.prepare(4096);
    REQUIRE(room.size() >= n);
    std::memcpy(room.data(), input.data() + at, n);
    r.commit(n);
    drain(r, frames);
  }
  return frames;
}

}  // namespace

TEST_CASE("framed_reader: the header's example") {
  framed_reader reader{256};
  reader.feed("RECV,0;RECV,");
  auto f = reader.next();
  CHECK(f.what == kind::frame);
  CHECK(f.frame == "RECV,0");
  CHECK(reader.next().what == kind::need_more);
  reader.keep_rest();
  CHECK(reader.pending() == 5);
  reader.feed("1;");
  f = reader.next();
  CHECK(f.what == kind::frame);
  CHECK(f.frame == "RECV,1");
  CHECK(reader.pending() == 0);
}

TEST_CASE("framed_reader: lent bytes split at every size give the same frames") {
  for (std::size_t piece = 1; piece <= pipelined.size(); ++piece) {
    CAPTURE(piece);
    CHECK(lend_in_pieces(pipelined, piece) == expected);
  }
}

TEST_CASE("framed_reader: bytes read into it, split at every size, give the same frames") {
  for (std::size_t piece = 1; piece <= pipelined.size(); ++piece) {
    CAPTURE(piece);
    CHECK(read_in_pieces(pipelined, piece) == expected);
  }
}

TEST_CASE("framed_reader: whole frames in lent bytes are cut in place, nothing copied") {
  framed_reader r{256};
  const std::string bytes = "RECV,0;RECV,1;";
  r.feed(bytes);
  const auto f = r.next();
  REQUIRE(f.what == kind::frame);
  CHECK(f.frame.data() == bytes.data());  // a view into the caller's buffer
  CHECK(r.next().frame == "RECV,1");
  r.keep_rest();
  CHECK(r.pending() == 0);
  CHECK(r.capacity() == 0);
}

TEST_CASE("framed_reader: keep_rest in the middle of lent frames keeps the frames not taken") {
  framed_reader r{256};
  std::string scratch = "RECV,0;RECV,1;RECV,2;";
  r.feed(scratch);
  CHECK(r.next().frame == "RECV,0");
  r.keep_rest();  // e.g. the connection waits on the store after the first frame
  std::fill(scratch.begin(), scratch.end(), '#');
  std::vector<std::string> frames;
  drain(r, frames);
  CHECK(frames == std::vector<std::string>{"RECV,1", "RECV,2"});
}

TEST_CASE("framed_reader: an idle reader releases its buffer") {
  framed_reader r{256};
  auto room = r.prepare(1024);
  std::memcpy(room.data(), "FIN;", 4);
  r.commit(4);
  CHECK(r.capacity() >= 4);
  CHECK(r.next().frame == "FIN");
  r.release_if_empty();
  CHECK(r.capacity() == 0);

  r.feed("RE");
  CHECK(r.next().what == kind::need_more);
  r.keep_rest();
  r.release_if_empty();  // an unfinished frame is held: not released
  CHECK(r.pending() == 2);
  r.feed("CV,3;");
  CHECK(r.next().frame == "RECV,3");
}

TEST_CASE("framed_reader: separators alone are dropped, not held") {
  framed_reader r{8};
  for (int i = 0; i < 1000; ++i) {
    r.feed("\r\n  \r\n");
    CHECK(r.next().what == kind::need_more);
    r.keep_rest();
  }
  CHECK(r.pending() == 0);
}

TEST_CASE("framed_reader: a frame over the limit is an error, whichever way it arrives") {
  const std::string too_long(9, 'A');
  framed_reader lent{8};
  lent.feed(too_long);
  auto f = lent.next();
  CHECK(f.what == kind::error);
  CHECK(f.error == protocol_errc::frame_too_long);

  framed_reader piecewise{8};
  frame_result last;
  for (char c : too_long) {
    piecewise.feed(std::string_view(&c, 1));
    last = piecewise.next();
    if (last.what == kind::error)
      break;
    piecewise.keep_rest();
  }
  CHECK(last.what == kind::error);
  CHECK(piecewise.pending() <= 9);
}
