// The client's state file: round trips, atomic replacement, and damage always detected.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "numsequence/client/state_file.hpp"

using namespace numsequence;
namespace fs = std::filesystem;

namespace {

client_state sample_state() {
  auto s = client_state::fresh(*client_id::parse("123E4567-e89b-12d3-a456-426614174000"), 12, 5);
  s.acknowledged = true;
  // Batches 0 and 2 (the short last one) received, batch 1 missing.
  const std::uint32_t values[] = {6, 41, 81, 68, 68, 0, 0, 0, 0, 0, 4294967295u, 7};
  std::copy(std::begin(values), std::end(values), s.numbers.begin());
  s.have[0] = true;
  s.have[2] = true;
  return s;
}

/// A Fibonacci session of 9 batches with batches 0-2, 5, 7 and 8 received.
client_state fibonacci_state() {
  auto s = client_state::fresh(*client_id::parse("123e4567-e89b-12d3-a456-426614174000"), 45, 5,
                               sequence_kind::fibonacci);
  s.acknowledged = true;
  for (std::uint32_t k : {0u, 1u, 2u, 5u, 7u, 8u})
    s.have[k] = true;
  return s;
}

struct temp_dir {
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "numsequence-state-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path path;
};

void check_same(const client_state& a, const client_state& b) {
  CHECK(a.id == b.id);
  CHECK(a.kind == b.kind);
  CHECK(a.n == b.n);
  CHECK(a.batch == b.batch);
  CHECK(a.acknowledged == b.acknowledged);
  CHECK(a.server_checksum == b.server_checksum);
  CHECK(a.have == b.have);
  CHECK(a.numbers.size() == b.numbers.size());
  for (std::uint32_t k = 0; k < a.batch_count() && !a.numbers.empty(); ++k) {
    if (!a.have[k])
      continue;
    for (std::uint32_t i = a.batch_begin(k); i < a.batch_begin(k) + a.batch_size(k); ++i) {
      CHECK(a.numbers[i] == b.numbers[i]);
    }
  }
}

}  // namespace

TEST_CASE("a fresh state has one empty slot per batch, the last batch short") {
  const auto s = client_state::fresh(client_id::random(), 12, 5);
  CHECK(s.batch_count() == 3);
  CHECK(s.batch_size(0) == 5);
  CHECK(s.batch_size(2) == 2);
  CHECK(s.batches_received() == 0);
  CHECK_FALSE(s.complete());
  CHECK(client_state::fresh(client_id::random(), 0, 5).complete());  // n = 0: nothing to fetch
}

TEST_CASE("format and parse round-trip partial and completed sessions, id case kept") {
  auto s = sample_state();
  const auto text = format_state(s);
  CHECK(
      text.starts_with("numsequence-client-state 2\nid 123E4567-e89b-12d3-a456-426614174000\n"
                       "n 12\nbatch-size 5\nsequence random\n"));
  check_same(parse_state(text), s);

  s.have[1] = true;
  s.server_checksum = md5_from_hex("9b14501c5359fb4eac96df9e874348b2");
  const auto done = parse_state(format_state(s));
  check_same(done, s);
  CHECK(done.complete());
}

TEST_CASE("every truncation of a state file is detected, never read as a shorter session") {
  for (const auto& text : {format_state(sample_state()), format_state(fibonacci_state())})
    for (std::size_t len = 0; len < text.size(); ++len) {
      CAPTURE(len);
      CHECK_THROWS_AS(parse_state(text.substr(0, len)), state_file_error);
    }
}

TEST_CASE("every single changed byte of a state file is detected") {
  for (const auto& text : {format_state(sample_state()), format_state(fibonacci_state())})
    for (std::size_t i = 0; i < text.size(); ++i) {
      for (char replacement : {'0', '9', 'x', '\n', '\0'}) {
        if (text[i] == replacement)
          continue;
        std::string damaged = text;
        damaged[i] = replacement;
        CAPTURE(i);
        CHECK_THROWS_AS(parse_state(damaged), state_file_error);
      }
    }
}

TEST_CASE("damage messages say what is wrong and where") {
  auto message_of = [](std::string_view text) -> std::string {
    try {
      parse_state(text);
    } catch (const state_file_error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(message_of("") == "line 1: unexpected end of file");
  CHECK(message_of("numsequence-client-state 3\n").find("version") != std::string::npos);
  CHECK(message_of("garbage\x01\x02").find("line 1") != std::string::npos);
  auto text = format_state(sample_state());
  text.insert(text.find("digest"), "data 1 1:2:3:4:5\n");  // valid line, stale digest
  CHECK(message_of(text).find("digest does not match") != std::string::npos);
}

TEST_CASE("fields out of range are rejected at their own line, before the digest") {
  auto message_of = [](const std::string& body) -> std::string {
    try {
      parse_state(body + "digest 00000000000000000000000000000000\n");
    } catch (const state_file_error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string head = "numsequence-client-state 1\nid 123e4567-e89b-12d3-a456-426614174000\n";
  const std::string fields = head + "n 10\nbatch-size 5\nacknowledged 1\nserver-checksum none\n";
  CHECK(message_of(head + "n 65536\n") == "line 3: invalid n");
  CHECK(message_of(head + "n 10\nbatch-size 0\n") == "line 4: invalid batch size");
  CHECK(message_of(head + "n 10\nbatch-size 5\nacknowledged 2\n") ==
        "line 5: acknowledged must be 0 or 1");
  CHECK(message_of(fields + "data 2 1:2:3:4:5\n") == "line 7: invalid batch index");
  CHECK(message_of(fields + "data 0 1:2:3\n") == "line 7: batch 0 does not hold 5 numbers");
  CHECK(message_of(fields + "data 0 1:2:3:4:5:6\n") == "line 7: batch 0 does not hold 5 numbers");
  CHECK(message_of(fields + "data 0 1:2:3:4:99999999999\n") == "line 7: invalid number in batch");
  CHECK(message_of(fields + "data 0 1:2:3:4:5\ndata 0 1:2:3:4:5\n") ==
        "line 8: batch 0 appears twice");
}

TEST_CASE("save replaces the file atomically and load reads it back") {
  temp_dir dir;
  const auto path = dir.path / "state";
  auto s = sample_state();
  save_state(path, s);
  check_same(load_state(path), s);
  s.have[1] = true;
  save_state(path, s);
  check_same(load_state(path), s);
  // Nothing but the state file is left behind.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
}

TEST_CASE("a missing state file says so and points at NEW") {
  temp_dir dir;
  try {
    load_state(dir.path / "absent");
    FAIL("no error");
  } catch (const state_file_error& e) {
    CHECK(std::string(e.what()).find("no state file") != std::string::npos);
    CHECK(std::string(e.what()).find("NEW") != std::string::npos);
  }
  CHECK_FALSE(read_file_if_present(dir.path / "absent").has_value());
}

TEST_CASE("a damaged state file on disk names the file") {
  temp_dir dir;
  const auto path = dir.path / "state";
  std::ofstream(path) << "\x7f"
                         "ELF garbage";
  try {
    load_state(path);
    FAIL("no error");
  } catch (const state_file_error& e) {
    CHECK(std::string(e.what()).find("state file " + path.string() + " is damaged") !=
          std::string::npos);
  }
}

TEST_CASE("write_file_atomically and read_file_if_present keep bytes exactly") {
  temp_dir dir;
  const auto path = dir.path / "bytes";
  const std::string bytes("a\0b\nc", 5);
  write_file_atomically(path, bytes);
  CHECK(read_file_if_present(path) == bytes);
}

TEST_CASE("state file v2: a Fibonacci session keeps its kind and runs of batches, no numbers") {
  const auto s = fibonacci_state();
  CHECK(s.numbers.empty());
  const auto text = format_state(s);
  // The digest is Python's hashlib.md5 of the lines before it.
  CHECK(text ==
        "numsequence-client-state 2\n"
        "id 123e4567-e89b-12d3-a456-426614174000\n"
        "n 45\n"
        "batch-size 5\n"
        "sequence fibonacci\n"
        "acknowledged 1\n"
        "server-checksum none\n"
        "have 0-2\n"
        "have 5\n"
        "have 7-8\n"
        "digest 2d7bbd1b5b247062234760aaac616801\n");
  const auto back = parse_state(text);
  check_same(back, s);
  CHECK(back.kind == sequence_kind::fibonacci);
  CHECK(back.batches_received() == 6);

  auto done = s;
  done.have.assign(done.have.size(), true);
  done.server_checksum = md5_from_hex("352a3175a68fe92cfe03bc0c2f02c9d6");
  const auto done_text = format_state(done);
  CHECK(done_text.find("have 0-8\ndigest ") != std::string::npos);
  check_same(parse_state(done_text), done);
}

TEST_CASE("state file v1: an older client's file still loads, as a random session") {
  // protocol.md's example of version 1 (scenario 4 after completion).
  const auto s = parse_state(
      "numsequence-client-state 1\n"
      "id 123e4567-e89b-12d3-a456-426614174000\n"
      "n 10\n"
      "batch-size 5\n"
      "acknowledged 1\n"
      "server-checksum 9b14501c5359fb4eac96df9e874348b2\n"
      "data 0 6:41:81:68:68\n"
      "data 1 41:10:40:78:98\n"
      "digest b11fac58646a16f0abd8a3c9b69c491d\n");
  CHECK(s.kind == sequence_kind::random);
  CHECK(s.complete());
  CHECK(s.numbers == std::vector<std::uint32_t>{6, 41, 81, 68, 68, 41, 10, 40, 78, 98});
  // Saved again, it is written as version 2 and reads back the same.
  const auto again = format_state(s);
  CHECK(again.starts_with("numsequence-client-state 2\n"));
  check_same(parse_state(again), s);
}

TEST_CASE("state file v2: kinds and batch lines that do not fit are named at their line") {
  auto message_of = [](const std::string& body) -> std::string {
    try {
      parse_state(body + "digest 00000000000000000000000000000000\n");
    } catch (const state_file_error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string head =
      "numsequence-client-state 2\nid 123e4567-e89b-12d3-a456-426614174000\nn 10\n"
      "batch-size 5\n";
  const std::string tail = "acknowledged 1\nserver-checksum none\n";
  const std::string fib = head + "sequence fibonacci\n" + tail;
  const std::string random = head + "sequence random\n" + tail;
  CHECK(message_of(head + "acknowledged 1\n") == "line 5: expected 'sequence <value>'");
  CHECK(message_of(head + "sequence primes\n") == "line 5: sequence must be random or fibonacci");
  CHECK(message_of(head + "sequence Fibonacci\n") ==
        "line 5: sequence must be random or fibonacci");
  CHECK(message_of(fib + "data 0 0:1:1:2:3\n") ==
        "line 8: expected 'have <k>[-<last>]' or 'digest <md5>'");
  CHECK(message_of(random + "have 0\n") ==
        "line 8: expected 'data <k> <numbers>' or 'digest <md5>'");
  CHECK(message_of(fib + "have 2\n") == "line 8: invalid batch range");
  CHECK(message_of(fib + "have 1-0\n") == "line 8: invalid batch range");
  CHECK(message_of(fib + "have 0-2\n") == "line 8: invalid batch range");
  CHECK(message_of(fib + "have 0-\n") == "line 8: invalid batch range");
  CHECK(message_of(fib + "have -1\n") == "line 8: invalid batch range");
  CHECK(message_of(fib + "have x\n") == "line 8: invalid batch range");
  CHECK(message_of(fib + "have 0-1\nhave 1\n") == "line 9: batch 1 appears twice");
  // In range and once each: only the (made-up) digest is wrong.
  CHECK(message_of(fib + "have 1\nhave 0\n").find("digest does not match") != std::string::npos);
}
