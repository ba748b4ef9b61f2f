// frame_decoder tests: where frames start and end, what is consumed, and that a
// peer can neither make us buffer past the limit nor cost more than O(1) a byte.

#include <doctest/doctest.h>

#include <cstddef>
#include <ostream>  // doctest only forward-declares it; printing error_code needs it
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/frame_decoder.hpp"

using namespace numsequence;
using namespace std::string_literals;
using kind = frame_result::kind;

namespace {

// Takes every complete frame out of `input` at once, as a connection does after a read.
std::vector<std::string> drain(frame_decoder& d, std::string& input) {
  std::vector<std::string> frames;
  for (;;) {
    const frame_result r = d.consume(input);
    REQUIRE(r.what != kind::error);
    if (r.what == kind::need_more) {
      input.erase(0, r.consumed);
      return frames;
    }
    frames.emplace_back(r.frame);
    input.erase(0, r.consumed);
  }
}

}  // namespace

TEST_CASE("frame_decoder: the header's example") {
  frame_decoder d{256};
  CHECK(d.max_frame() == 256);
  std::string buf = "RECV,0;RE";
  auto r = d.consume(buf);
  CHECK(r.what == kind::frame);
  CHECK(r.frame == "RECV,0");
  CHECK(r.consumed == 7);
  CHECK_FALSE(r.error);
  buf.erase(0, r.consumed);
  r = d.consume(buf);
  CHECK(r.what == kind::need_more);
  CHECK(r.consumed == 0);
  buf += "CV,1;";
  r = d.consume(buf);
  CHECK(r.what == kind::frame);
  CHECK(r.frame == "RECV,1");
  CHECK(r.consumed == 7);
}

TEST_CASE("frame_decoder: the frame is a view into the input, without its delimiter") {
  frame_decoder d{256};
  const std::string buf = "FIN;";
  const auto r = d.consume(buf);
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame.data() == buf.data());
  CHECK(r.frame.size() == 3);
}

TEST_CASE("frame_decoder: several messages in one buffer") {
  frame_decoder d{256};
  std::string buf = "INIT,a,1,1;RECV,0;RECV,1;FIN;";
  CHECK(drain(d, buf) == std::vector<std::string>{"INIT,a,1,1", "RECV,0", "RECV,1", "FIN"});
  CHECK(buf.empty());
}

TEST_CASE("frame_decoder: CR, LF and space between messages are skipped and consumed") {
  frame_decoder d{256};
  std::string buf = " \r\n RECV,0;\r\n";
  auto r = d.consume(buf);
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "RECV,0");
  CHECK(r.consumed == 4 + 7);
  buf.erase(0, r.consumed);
  // Trailing separators are handed back as consumed, so they never pile up.
  r = d.consume(buf);
  CHECK(r.what == kind::need_more);
  CHECK(r.consumed == 2);

  std::string typed = "ACK;\r\nNUM,1:2;\n\nFAC,x; ERR,a b;\r\n";
  CHECK(drain(d, typed) == std::vector<std::string>{"ACK", "NUM,1:2", "FAC,x", "ERR,a b"});
  CHECK(typed.empty());
}

TEST_CASE("frame_decoder: input of only separators is used up") {
  frame_decoder d{4};
  CHECK(d.consume("").what == kind::need_more);
  CHECK(d.consume("").consumed == 0);
  // Far more than max_frame: separators are not part of a frame, so no error.
  const std::string spaces(10000, ' ');
  const auto r = d.consume(spaces);
  CHECK(r.what == kind::need_more);
  CHECK(r.consumed == spaces.size());
}

TEST_CASE("frame_decoder: separators before a partial message are consumed once") {
  frame_decoder d{256};
  std::string buf = "\r\n  FI";
  auto r = d.consume(buf);
  CHECK(r.what == kind::need_more);
  CHECK(r.consumed == 4);
  buf.erase(0, r.consumed);
  buf += "N;";
  r = d.consume(buf);
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "FIN");
  CHECK(r.consumed == 4);
}

TEST_CASE("frame_decoder: only leading bytes are separators, inside a frame they are kept") {
  frame_decoder d{256};
  // Tab is not a separator: it starts a frame (which the codec then rejects).
  auto r = d.consume("\tFIN;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "\tFIN");

  r = d.consume("RECV, 0\r\n;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "RECV, 0\r\n");

  const std::string with_nul = "A\0B;"s;
  r = d.consume(with_nul);
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "A\0B"s);
}

TEST_CASE("frame_decoder: empty frames") {
  frame_decoder d{256};
  auto r = d.consume(";");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame.empty());
  CHECK(r.consumed == 1);
  r = d.consume("  ;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame.empty());
  CHECK(r.consumed == 3);
}

TEST_CASE("frame_decoder: a frame of exactly max_frame bytes is accepted, one more is not") {
  constexpr std::size_t max = 64;
  const std::string exact(max, 'A');
  const std::string over(max + 1, 'A');

  SUBCASE("all at once") {
    frame_decoder d{max};
    const std::string exact_frame = exact + ";";
    auto r = d.consume(exact_frame);
    REQUIRE(r.what == kind::frame);
    CHECK(r.frame == exact);
    CHECK(r.consumed == max + 1);

    // Leading separators do not count against the limit.
    const std::string after_separators = "\r\n" + exact + ";";
    r = d.consume(after_separators);
    REQUIRE(r.what == kind::frame);
    CHECK(r.frame == exact);

    // max_frame bytes and no ';' yet: the next byte may still be the ';'.
    r = d.consume(exact);
    CHECK(r.what == kind::need_more);

    frame_decoder d2{max};
    r = d2.consume(over + ";");
    CHECK(r.what == kind::error);
    CHECK(r.error == protocol_errc::frame_too_long);
    CHECK(r.consumed == 0);
  }
  SUBCASE("byte by byte") {
    frame_decoder d{max};
    std::string buf;
    for (std::size_t i = 0; i < max; ++i) {
      buf += 'A';
      REQUIRE(d.consume(buf).what == kind::need_more);
    }
    buf += ';';
    const auto r = d.consume(buf);
    REQUIRE(r.what == kind::frame);
    CHECK(r.frame == exact);

    frame_decoder d2{max};
    buf.clear();
    for (std::size_t i = 0; i < max; ++i) {
      buf += 'A';
      REQUIRE(d2.consume(buf).what == kind::need_more);
    }
    buf += 'A';  // byte max_frame + 1, and still no ';'
    const auto e = d2.consume(buf);
    CHECK(e.what == kind::error);
    CHECK(e.error == protocol_errc::frame_too_long);
  }
}

TEST_CASE("frame_decoder: 1 MB without a delimiter fails once max_frame + 1 bytes have arrived") {
  constexpr std::size_t max = 256;
  const std::string megabyte(1 << 20, 'A');

  SUBCASE("in one buffer") {
    frame_decoder d{max};
    const auto r = d.consume(megabyte);
    CHECK(r.what == kind::error);
    CHECK(r.error == protocol_errc::frame_too_long);
    CHECK(r.consumed == 0);
    // A ';' just past the limit does not rescue the frame.
    const auto r2 = frame_decoder{max}.consume(std::string(max + 1, 'A') + ";");
    CHECK(r2.what == kind::error);
  }
  SUBCASE("byte by byte, as a slow peer sends it") {
    frame_decoder d{max};
    std::string buf;
    std::size_t fed = 0;
    frame_result r;
    while (fed < megabyte.size()) {
      buf += megabyte[fed++];
      r = d.consume(buf);
      if (r.what != kind::need_more)
        break;
      buf.erase(0, r.consumed);
    }
    CHECK(r.what == kind::error);
    CHECK(r.error == protocol_errc::frame_too_long);
    // Nothing past the first byte that proves the frame too long was needed.
    CHECK(fed == max + 1);
    CHECK(buf.size() == max + 1);
  }
}

TEST_CASE("frame_decoder: a large limit does not overflow") {
  frame_decoder d{static_cast<std::size_t>(-1)};
  CHECK(d.consume("abc").what == kind::need_more);
  const auto r = d.consume("abc;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "abc");
}

TEST_CASE("frame_decoder: bytes already scanned are not scanned again") {
  // White-box: hand the decoder input that breaks the "same pending bytes" rule to
  // see that it resumes where it stopped. If it rescanned from the start it would
  // find the first ';' here, and byte-at-a-time input would cost O(n) per byte.
  frame_decoder d{256};
  CHECK(d.consume("RECV").what == kind::need_more);
  const auto r = d.consume("R;CV,0;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "R;CV,0");
}

TEST_CASE("frame_decoder: the scan position starts over after each frame") {
  frame_decoder d{256};
  CHECK(d.consume("AB").what == kind::need_more);
  auto r = d.consume("AB;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "AB");
  // A stale scan position of 2 would skip the ';' at index 1.
  r = d.consume("X;YZ;");
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame == "X");
}

TEST_CASE("frame_decoder: byte-at-a-time input near the limit stays cheap") {
  // With a 1 MB limit and O(n) rescans this would take ~5e11 byte comparisons;
  // with the remembered scan position it is a few million operations.
  constexpr std::size_t max = 1 << 20;
  frame_decoder d{max};
  std::string buf;
  buf.reserve(max + 1);
  for (std::size_t i = 0; i < max; ++i) {
    buf += 'A';
    if (d.consume(buf).what != kind::need_more)
      FAIL("frame ended early at byte ", i);
  }
  buf += ';';
  const auto r = d.consume(buf);
  REQUIRE(r.what == kind::frame);
  CHECK(r.frame.size() == max);
}
