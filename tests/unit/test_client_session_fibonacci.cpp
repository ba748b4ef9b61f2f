// The resuming client with Fibonacci sessions: INIT names the kind, every NUM is checked
// against the client's own numbers as text, the sum is exact. Expected values are Python's:
// exact integers, sum(list), hashlib.md5(str(list)).

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "numsequence/client/client_session.hpp"
#include "numsequence/sequence/fibonacci.hpp"

using namespace numsequence;
using action = client_session::action;
using outcome = client_session::attempt_outcome;
using origin = client_session::origin;

namespace {

const std::string id_text = "123e4567-e89b-12d3-a456-426614174000";
const client_id some_id = *client_id::parse(id_text);

/// A Fibonacci session with its state and options (not movable: the session refers to them).
struct fixture {
  fixture(client_state initial, unsigned window, origin from = origin::new_session)
      : state(std::move(initial)), options(make_options(window)), session(state, options, from) {}
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  action connect() {
    out.clear();
    return session.on_connected(out);
  }
  action reply(std::string_view frame) {
    out.clear();
    return session.on_frame(frame, out);
  }

  std::vector<std::string> transcript;
  client_state state;
  client_options options;
  client_session session;
  std::string out;

 private:
  client_options make_options(unsigned window) {
    client_options o;
    o.pipeline = window;
    o.on_transcript = [this](std::string_view line) { transcript.emplace_back(line); };
    return o;
  }
};

client_state fresh(std::uint32_t n, std::uint32_t batch) {
  return client_state::fresh(some_id, n, batch, sequence_kind::fibonacci);
}

/// The NUM frame a server sends for batch k (without its `;`); the numbers come from the
/// library's cursor, which test_fibonacci checks against Python.
std::string num_frame(const client_state& s, std::uint32_t k) {
  std::string frame = "NUM,";
  fibonacci_cursor c{s.batch_begin(k)};
  c.append_joined(frame, ":", true, s.batch_size(k), SIZE_MAX);
  return frame;
}

/// Runs a whole session on one connection, window 64; returns the last action.
action run_whole(fixture& f, std::string_view fac) {
  REQUIRE(f.connect() == action::send);
  REQUIRE(f.reply("ACK") == action::save_then_send);
  for (std::uint32_t k = 0; k < f.state.batch_count(); ++k) {
    CAPTURE(k);
    REQUIRE(f.reply(num_frame(f.state, k)) != action::done);
  }
  REQUIRE(f.out.ends_with("FIN;"));
  return f.reply(fac);
}

}  // namespace

TEST_CASE("client_session fibonacci: INIT names the kind, small batches, the exact sum") {
  fixture f(fresh(10, 4), 64);
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "INIT," + id_text + ",10,4,fibonacci;RECV,0;RECV,1;RECV,2;");
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.reply("NUM,0:1:1:2") == action::send);
  CHECK(f.reply("NUM,3:5:8:13") == action::send);
  CHECK(f.reply("NUM,21:34") == action::save_then_send);
  CHECK(f.out == "FIN;");
  CHECK(f.state.numbers.empty());  // nothing but which batches arrived is kept
  CHECK(f.state.complete());
  CHECK(f.reply("FAC,352a3175a68fe92cfe03bc0c2f02c9d6") == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::completed);
  const auto& r = f.session.result();
  CHECK(r.outcome == client_outcome::valid);
  CHECK(r.kind == sequence_kind::fibonacci);
  CHECK(r.sum == "88");
  CHECK(to_hex(*r.checksum) == "352a3175a68fe92cfe03bc0c2f02c9d6");
}

TEST_CASE("client_session fibonacci: a NUM that is not the session's numbers is a bad reply") {
  const std::vector<std::string> wrong = {
      "NUM,0:1:1:3",    // a wrong number
      "NUM,0:1:1",      // too few
      "NUM,0:1:1:2:3",  // too many
      "NUM,0:1:1:2:",   // a trailing separator
      "NUM,00:1:1:2",   // a leading zero: not the text Python's str() writes
      "NUM,0:1:1:2 ",   // a stray byte
      "NUM,",           // empty
      "NUM,0:1:1:2,5",  // another field
      "NUM,0::1:1:2",   // an empty number
  };
  for (const auto& frame : wrong) {
    CAPTURE(frame);
    fixture f(fresh(10, 4), 64);
    REQUIRE(f.connect() == action::send);
    REQUIRE(f.reply("ACK") == action::save_then_send);
    CHECK(f.reply(frame) == action::done);
    CHECK(f.session.last_attempt().outcome == outcome::lost);
    CHECK_FALSE(f.session.last_attempt().progressed);
    CHECK(f.session.last_attempt().error ==
          "unexpected reply from the server (expected NUM of the session's Fibonacci numbers)");
    CHECK_FALSE(f.state.have[0]);
  }
}

TEST_CASE("client_session fibonacci: numbers past 64 bits, sum and checksum as Python's") {
  fixture f(fresh(100, 7), 64);
  // Batch 14 is F(98), F(99) (Python), beyond uint64: checked as text.
  CHECK(num_frame(f.state, 14) == "NUM,135301852344706746049:218922995834555169026");
  CHECK(run_whole(f, "FAC,f4f4d43dc76e43a356a380f6296ec6de") == action::done);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum == "573147844013817084100");
}

TEST_CASE("client_session fibonacci: n = 1000, the 209-digit sum exactly") {
  fixture f(fresh(1000, 7), 64);
  CHECK(run_whole(f, "FAC,b64b2bbc2244d405cd1c2a8b0b8718a7") == action::done);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum ==
        "7033036771142281582183525487718354977018126983635873274260490508715453711819693357974224"
        "9494562611733487750449241765991088186363265450223647106012053374121273867339111198139373"
        "125598767690091902245245323403500");
}

TEST_CASE("client_session fibonacci: a FAC that differs is a mismatch, the sum still exact") {
  fixture f(fresh(12, 5), 64);
  CHECK(run_whole(f, "FAC,00000000000000000000000000000000") == action::done);
  CHECK(f.session.result().outcome == client_outcome::mismatch);
  CHECK(to_hex(*f.session.result().checksum) == "3f3d6676036030a1927ab2a2b733f4e6");
  CHECK(f.session.result().sum == "232");
}

TEST_CASE("client_session fibonacci: a resumed session checks a batch it starts in the middle") {
  client_state s = fresh(20, 5);
  s.acknowledged = true;
  s.have[0] = true;
  s.have[1] = true;
  fixture f(std::move(s), 1, origin::resumed);
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + id_text + ";");
  CHECK(f.reply("ACK") == action::send);
  CHECK(f.out == "RECV,2;");
  CHECK(f.reply("NUM,55:89:144:233:377") == action::send);  // F(10) .. F(14)
  CHECK(f.reply("NUM,610:987:1597:2584:4181") == action::save_then_send);
  CHECK(f.out == "FIN;");
}

TEST_CASE("client_session fibonacci: a NUM given as a parsed message is checked the same way") {
  fixture f(fresh(10, 4), 64);
  REQUIRE(f.connect() == action::send);
  REQUIRE(f.reply("ACK") == action::save_then_send);
  std::string out;
  CHECK(f.session.on_message(num_message{{0, 1, 1, 2}}, out) == action::send);
  CHECK(f.state.have[0]);
  CHECK(f.session.on_message(num_message{{3, 5, 8, 14}}, out) == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::lost);
}

TEST_CASE("client_session fibonacci: the frame limit admits the largest NUM of the batch size") {
  // Python: len(str(fib[24999])) == 5225; a number and its separator take at most 5,226 bytes.
  CHECK(fixture(fresh(25000, 500), 64).session.max_frame() == 500 * 5226 + 64);
  CHECK(fixture(fresh(1000, 65535), 64).session.max_frame() == 1000 * 210 + 64);
  CHECK(fixture(fresh(0, 5), 64).session.max_frame() == 1024);
  CHECK(fixture(fresh(10, 4), 64).session.max_frame() == 1024);
  // A random session keeps its limit: ten digits and a separator a number.
  CHECK(fixture(client_state::fresh(some_id, 65535, 65535), 64).session.max_frame() ==
        65535 * 11 + 64);
}
