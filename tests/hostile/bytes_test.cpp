// Hostile bytes: oversize and unterminated frames, binary and NUL bytes, numbers of a
// million digits, signed and decorated numbers, huge batch indices, case games with ids.
// Each case runs beside a legitimate session (attack_scene) and ends with SIGTERM → exit 0.

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hostile_support.hpp"

namespace numsequence::hostile {
namespace {

using integration::golden_id;
using integration::numbered_id;
using integration::split_replies;

constexpr std::size_t kib = 1024;

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

}  // namespace

TEST_SUITE("hostile bytes") {
  TEST_CASE(
      "oversize frame: 1 MiB without a semicolon gets one ERR and a close, memory stays flat") {
    attack_scene scene;
    const auto rss_before = scene.rss_kib();
    for (int round = 0; round < 5; ++round) {
      const auto c = converse(scene.port(), std::string(1024 * kib, 'A'));
      CHECK(c.closed);
      CHECK(c.received == err_reply(protocol_errc::frame_too_long));
      scene.legit_step();
    }
    const auto growth = scene.rss_kib() - std::min(rss_before, scene.rss_kib());
    CHECK_MESSAGE(growth < 16 * kib * asan_memory_factor,
                  "server RSS grew by " << growth << " KiB");
    scene.finish();
  }

  TEST_CASE("frame limit: exactly --max-message bytes is a message, one byte more is refused") {
    attack_scene scene;
    const std::string id = numbered_id(1);
    // "RECV," and 251 zeros: a 256-byte frame meaning RECV,0.
    const std::string longest = "RECV," + std::string(251, '0') + ";";
    REQUIRE(longest.size() == 257);
    auto c = converse(scene.port(), init_for(id, 10, 5) + longest + "FIN;");
    CHECK(c.received == "ACK;" + num_reply(id, 10, 5, 0) + fac_reply(id, 10, 5));
    scene.legit_step();
    c = converse(scene.port(), "RECV," + std::string(252, '0') + ";");
    CHECK(c.closed);
    CHECK(c.received == err_reply(protocol_errc::frame_too_long));
    scene.finish();
  }

  TEST_CASE("no delimiter: a partial message gets no reply and is closed by the idle timer") {
    attack_scene scene({"--idle-timeout", "0.5", "--session-timeout", "0"});
    for (const std::string& partial : {std::string("INIT,123"), std::string(200, 'x')}) {
      CAPTURE(partial.size());
      auto conn = raw_conn::connect(scene.port());
      REQUIRE(conn);
      const auto before = test_clock::now();
      REQUIRE(conn->send_all(partial, seconds(5)));
      std::string got;
      CHECK(conn->read_until_closed(got, seconds(10)));
      const auto took = test_clock::now() - before;
      CHECK(got.empty());
      CHECK(took >= milliseconds(400));
      CHECK(took < seconds(5));
      scene.legit_step();
    }
    scene.finish();
  }

  TEST_CASE("binary garbage: 64 KiB of random bytes gets exactly one ERR and a close") {
    attack_scene scene;
    for (std::uint64_t round = 0; round < 20; ++round) {
      const std::string garbage = random_bytes(64 * kib, 0x6a7b + round);
      const auto c = converse(scene.port(), garbage);
      CAPTURE(round);
      CHECK(c.closed);
      const auto replies = split_replies(c.received);
      REQUIRE(replies.size() == 1);
      CHECK(replies.front().starts_with("ERR,"));
      CHECK(printable_ascii(c.received));
      if (round % 4 == 0)
        scene.legit_step();
    }
    scene.finish();
  }

  TEST_CASE("NUL bytes in and between messages are refused as invalid bytes") {
    attack_scene scene;
    const std::string id = numbered_id(2);
    const std::string invalid = err_reply(protocol_errc::invalid_byte);
    using namespace std::string_literals;
    CHECK(converse(scene.port(), "\0;"s).received == invalid);
    CHECK(converse(scene.port(), "\0\0\0\0"s + std::string(300, '\0')).received ==
          err_reply(protocol_errc::frame_too_long));
    CHECK(converse(scene.port(), "IN\0IT,"s + id + ",5,5;").received == invalid);
    CHECK(converse(scene.port(), "INIT,"s + id + "\0,5,5;"s).received == invalid);
    scene.legit_step();
    // After a good INIT: the NUL starts the next frame, or sits inside it.
    CHECK(converse(scene.port(), init_for(numbered_id(3), 5, 5) + "\0RECV,0;"s).received ==
          "ACK;" + invalid);
    CHECK(converse(scene.port(), init_for(numbered_id(4), 5, 5) + "RECV,0\0;"s).received ==
          "ACK;" + invalid);
    scene.finish();
  }

  TEST_CASE("every byte outside printable ASCII inside a RECV is refused (161-byte sweep)") {
    attack_scene scene;
    unsigned swept = 0;
    for (unsigned b = 0; b < 256; ++b) {
      if (b >= 0x20 && b < 0x7f)
        continue;
      CAPTURE(b);
      const std::string id = numbered_id(b, 0xb17e);
      const auto c = converse(scene.port(), init_for(id, 10, 5) + "RECV," +
                                                std::string(1, static_cast<char>(b)) + "0;RECV,0;");
      CHECK(c.closed);
      CHECK(c.received == "ACK;" + err_reply(protocol_errc::invalid_byte));
      ++swept;
      if (swept % 40 == 0)
        scene.legit_step();
    }
    CHECK(swept == 161);
    scene.finish();
  }

  TEST_CASE("raw bytes never reach ERR replies or the log (escape sequences, UTF-8, %n)") {
    attack_scene scene({"--log-level", "debug"});
    const std::vector<std::string> attacks = {
        "CONT,\x1b[2J\x1b[31mEVIL;",
        "INIT,123e4567-e89b-12d3-a456-42661417400\xc3\xa9,5,5;",
        "CONT,%s%s%n%x%n-0000-0000-0000-000000000000;",
        "EVIL\x1b]0;title\x07;",
        init_for(numbered_id(5), 5, 5) + "RECV,1\x1b[0m;",
        "\xef\xbb\xbfINIT," + std::string(golden_id) + ",5,5;",
    };
    for (const auto& bytes : attacks) {
      const auto c = converse(scene.port(), bytes);
      CHECK(c.closed);
      const auto replies = split_replies(c.received);
      REQUIRE(!replies.empty());
      CHECK(replies.back().starts_with("ERR,"));
      CHECK_MESSAGE(printable_ascii(c.received), "reply: " << c.received);
      CHECK(c.received.find("EVIL") == std::string::npos);
      CHECK(c.received.find("%n") == std::string::npos);
    }
    scene.legit_step();
    const std::string log = scene.server().process().stderr_text();
    CHECK(log.find('\x1b') == std::string::npos);
    CHECK(log.find('\x07') == std::string::npos);
    CHECK(log.find("EVIL") == std::string::npos);
    CHECK(log.find("%n") == std::string::npos);
    scene.finish();
  }

  TEST_CASE("numbers with 10^6 digits (RECV index, INIT n) are cut at the frame limit") {
    attack_scene scene;
    const auto rss_before = scene.rss_kib();
    const std::string million(1'000'000, '9');
    const std::string id = numbered_id(6);
    auto c = converse(scene.port(), init_for(id, 10, 5) + "RECV," + million + ";");
    CHECK(c.closed);
    CHECK(c.received == "ACK;" + err_reply(protocol_errc::frame_too_long));
    scene.legit_step();
    c = converse(scene.port(), "INIT," + numbered_id(7) + "," + million + ",5;");
    CHECK(c.closed);
    CHECK(c.received == err_reply(protocol_errc::frame_too_long));
    c = converse(scene.port(),
                 "INIT," + numbered_id(8) + ",5," + std::string(1'000'000, '0') + "1;");
    CHECK(c.received == err_reply(protocol_errc::frame_too_long));
    const auto growth = scene.rss_kib() - std::min(rss_before, scene.rss_kib());
    CHECK_MESSAGE(growth < 16 * kib * asan_memory_factor,
                  "server RSS grew by " << growth << " KiB");
    scene.finish();
  }

  TEST_CASE("with --max-message 65536 a 65,000-digit index is quoted in the invalid-index ERR") {
    attack_scene scene({"--max-message", "65536"});
    const std::string id = numbered_id(9);
    const std::string digits = "1" + std::string(64'994, '0');
    auto conn = raw_conn::connect(scene.port());
    REQUIRE(conn);
    REQUIRE(conn->send_all(init_for(id, 10, 5) + "RECV," + digits + ";RECV,1;FIN;", seconds(10)));
    std::string got;
    CHECK(conn->read_until_closed(got, seconds(10)));
    CHECK(got == "ACK;ERR,Invalid batch index requested: " + digits + ";" +
                     num_reply(id, 10, 5, 1) + fac_reply(id, 10, 5));
    scene.legit_step();
    // A million digits is still past even that limit.
    const auto c = converse(scene.port(), init_for(numbered_id(10), 10, 5) + "RECV," +
                                              std::string(1'000'000, '7') + ";");
    CHECK(c.received == "ACK;" + err_reply(protocol_errc::frame_too_long));
    scene.finish();
  }

  TEST_CASE("negative, signed and decorated numbers are refused and close the connection") {
    attack_scene scene;
    struct bad {
      std::string field;
      protocol_errc error;
    };
    const std::vector<bad> indices = {
        {"-1", protocol_errc::invalid_number},
        {"+1", protocol_errc::invalid_number},
        {"-0", protocol_errc::invalid_number},
        {" 1", protocol_errc::invalid_number},
        {"1 ", protocol_errc::invalid_number},
        {"0x1", protocol_errc::invalid_number},
        {"1e3", protocol_errc::invalid_number},
        {"1.0", protocol_errc::invalid_number},
        {"", protocol_errc::invalid_number},
        {"1,2", protocol_errc::wrong_field_count},
        {"\xd9\xa1", protocol_errc::invalid_byte},
        {"-18446744073709551616", protocol_errc::invalid_number},
    };
    unsigned k = 0;
    for (const auto& b : indices) {
      CAPTURE(b.field);
      const auto c = converse(
          scene.port(), init_for(numbered_id(k++, 0x516), 10, 5) + "RECV," + b.field + ";RECV,0;");
      CHECK(c.closed);
      CHECK(c.received == "ACK;" + err_reply(b.error));
    }
    scene.legit_step();
    const std::vector<std::pair<std::string, protocol_errc>> inits = {
        {"-5,5", protocol_errc::invalid_number},
        {"+5,5", protocol_errc::invalid_number},
        {"5,-1", protocol_errc::invalid_number},
        {"5.0,5", protocol_errc::invalid_number},
        {"99999999999999999999999,5", protocol_errc::number_out_of_range},
        {"65536,5", protocol_errc::number_out_of_range},
        {"5,0", protocol_errc::number_out_of_range},
        {"5,4294967301", protocol_errc::number_out_of_range},  // 65541 mod 2^32: no wrap-around
    };
    for (const auto& bad_init : inits) {
      CAPTURE(bad_init.first);
      const auto c =
          converse(scene.port(), "INIT," + numbered_id(k++, 0x516) + "," + bad_init.first + ";");
      CHECK(c.closed);
      CHECK(c.received == err_reply(bad_init.second));
    }
    scene.finish();
  }

  TEST_CASE(
      "huge RECV indices (uint64 max, 2^64, 25 digits) get the invalid-index ERR, stay open") {
    attack_scene scene;
    const std::string id = numbered_id(11);
    auto conn = raw_conn::connect(scene.port());
    REQUIRE(conn);
    const std::string requests = init_for(id, 10, 5) +
                                 "RECV,18446744073709551615;RECV,18446744073709551616;" +
                                 "RECV,9999999999999999999999999;RECV,0000000000000000000000001;" +
                                 "RECV,000000000000000000000018446744073709551615;RECV,2;FIN;";
    REQUIRE(conn->send_all(requests, seconds(5)));
    std::string got;
    CHECK(conn->read_until_closed(got, seconds(10)));
    const std::string invalid = "ERR,Invalid batch index requested: ";
    CHECK(got == "ACK;" + invalid + "18446744073709551615;" + invalid + "18446744073709551616;" +
                     invalid + "9999999999999999999999999;" + num_reply(id, 10, 5, 1) + invalid +
                     "18446744073709551615;" + invalid + "2;" + fac_reply(id, 10, 5));
    scene.finish();
  }

  TEST_CASE("an id in another letter case is another session: no takeover by case change") {
    attack_scene scene({"--session-timeout", "0"});
    const std::string lower = "abcdef01-2345-4678-9abc-def012345678";
    std::string upper = lower;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return static_cast<char>(std::toupper(c)); });
    auto owner = raw_conn::connect(scene.port());
    REQUIRE(owner);
    REQUIRE(owner->send_all(init_for(lower, 10, 5), seconds(5)));
    std::string got;
    owner->read_some(got, seconds(5));
    CHECK(got == "ACK;");
    // CONT with the same UUID in upper case finds nothing and takes nothing over.
    auto c = converse(scene.port(), "CONT," + upper + ";");
    CHECK(c.received == "ERR,Client-id: " + upper + " does not exist;");
    // INIT in upper case is a separate session with its own numbers.
    c = converse(scene.port(), init_for(upper, 10, 5) + "RECV,0;FIN;");
    CHECK(c.received == "ACK;" + num_reply(upper, 10, 5, 0) + fac_reply(upper, 10, 5));
    CHECK(num_reply(upper, 10, 5, 0) != num_reply(lower, 10, 5, 0));
    // The owner was never disturbed.
    REQUIRE(owner->send_all("RECV,1;FIN;", seconds(5)));
    got.clear();
    CHECK(owner->read_until_closed(got, seconds(10)));
    CHECK(got == num_reply(lower, 10, 5, 1) + fac_reply(lower, 10, 5));
    scene.finish();
  }

  TEST_CASE("garbage pipelined after good requests: replies in order, one ERR, then nothing") {
    attack_scene scene;
    const std::string id = numbered_id(12);
    const auto c =
        converse(scene.port(), init_for(id, 20, 5) + "RECV,0;RECV,1;\x01\x02;RECV,2;FIN;" +
                                   std::string(10 * kib, 'z'));
    CHECK(c.closed);
    CHECK(c.received == "ACK;" + num_reply(id, 20, 5, 0) + num_reply(id, 20, 5, 1) +
                            err_reply(protocol_errc::invalid_byte));
    // The session was parked, not completed: it resumes.
    const auto again = converse(scene.port(), "CONT," + id + ";RECV,2;FIN;");
    CHECK(again.received == "ACK;" + num_reply(id, 20, 5, 2) + fac_reply(id, 20, 5));
    scene.finish();
  }
}

}  // namespace numsequence::hostile
