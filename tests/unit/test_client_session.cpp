// The resuming client's rules, fed connection events and server frames without sockets.
// Expected bytes and transcripts come from protocol.md (§3, §8, §10) and the reference's
// documented scenarios; checksums and sums from Python: hashlib.md5(str(list)), sum(list).

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "numsequence/client/client_session.hpp"
#include "numsequence/protocol/error.hpp"
#include "numsequence/protocol/refusal.hpp"

using namespace numsequence;
using action = client_session::action;
using outcome = client_session::attempt_outcome;
using origin = client_session::origin;

namespace {

const std::string golden_text = "123e4567-e89b-12d3-a456-426614174000";
const client_id golden_id = *client_id::parse(golden_text);

// Scenario 1 and 4 of the reference (test mode, the golden id).
const std::string scenario_batch_0 = "NUM,6:41:81:68:68";
const std::string scenario_batch_1 = "NUM,41:10:40:78:98";
const std::string scenario_1_fac = "FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b";  // sum 264
const std::string scenario_4_fac = "FAC,9b14501c5359fb4eac96df9e874348b2";  // sum 531

/// `NUM,first:first+1:…` with `count` numbers.
std::string num_frame(std::uint32_t first, std::uint32_t count) {
  std::string frame = "NUM,";
  for (std::uint32_t i = 0; i < count; ++i)
    frame += (i == 0 ? "" : ":") + std::to_string(first + i);
  return frame;
}

/// A session with its state and options, recording the transcript and progress it reports.
/// Not movable: the session and the callbacks refer to the members.
struct fixture {
  fixture(client_state initial, unsigned window, origin from = origin::new_session)
      : state(std::move(initial)), options(make_options(window)), session(state, options, from) {}
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  /// A new connection: its bytes are in `out`.
  action connect() {
    out.clear();
    return session.on_connected(out);
  }
  /// A frame from the server (without its `;`): the bytes to send next are in `out`.
  action reply(std::string_view frame) {
    out.clear();
    return session.on_frame(frame, out);
  }
  std::vector<std::string> take_transcript() { return std::exchange(transcript, {}); }

  std::vector<std::string> transcript;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> progress;
  client_state state;
  client_options options;
  client_session session;
  std::string out;

 private:
  client_options make_options(unsigned window) {
    client_options o;
    o.pipeline = window;
    o.on_transcript = [this](std::string_view line) { transcript.emplace_back(line); };
    o.on_progress = [this](std::uint32_t got, std::uint32_t total) {
      progress.emplace_back(got, total);
    };
    return o;
  }
};

client_state fresh(std::uint32_t n, std::uint32_t batch) {
  return client_state::fresh(golden_id, n, batch);
}

/// An acknowledged state that has the batches listed, each holding first + its index.
client_state acknowledged_with(std::uint32_t n, std::uint32_t batch,
                               std::vector<std::uint32_t> have) {
  client_state s = fresh(n, batch);
  s.acknowledged = true;
  for (auto k : have) {
    for (std::uint32_t i = 0; i < s.batch_size(k); ++i)
      s.numbers[s.batch_begin(k) + i] = s.batch_begin(k) + i;
    s.have[k] = true;
  }
  return s;
}

/// Connects and refuses the hello with `err`; checks the attempt is lost, not progress.
void check_hello_lost(fixture& f, const std::string& hello, const std::string& err,
                      const std::string& why) {
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == hello);
  CHECK(f.reply("ERR," + err) == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::lost);
  CHECK_FALSE(f.session.last_attempt().progressed);
  CHECK(f.session.last_attempt().error == why);
  CHECK(f.session.result().outcome == client_outcome::gave_up);  // not refused: go on
  CHECK(f.session.result().error.empty());
}

}  // namespace

TEST_CASE("client_session: the header's example") {
  client_state state = client_state::fresh(golden_id, 1000, 5);  // 200 batches
  client_options options;                                        // a window of 64
  client_session session(state, options, client_session::origin::new_session);
  std::string out;
  auto a = session.on_connected(out);
  CHECK(a == action::send);
  std::string expected = "INIT," + golden_text + ",1000,5;";
  for (int k = 0; k < 64; ++k)
    expected += "RECV," + std::to_string(k) + ";";
  CHECK(out == expected);
  out.clear();
  a = session.on_frame("ACK", out);
  CHECK(a == action::save_then_send);
  CHECK(out.empty());
  out.clear();
  a = session.on_frame("NUM,6:41:81:68:68", out);
  CHECK(a == action::send);
  CHECK(out.empty());  // 63 in flight: more than half the window
}

TEST_CASE("client_session: a new session sends INIT and the window's first RECVs in one write") {
  struct row {
    unsigned window;
    std::string bytes;
  };
  const std::string init = "INIT," + golden_text + ",12,5;";
  const std::vector<row> rows = {
      {1, init},  // strict request/response: RECVs only after ACK
      {2, init + "RECV,0;RECV,1;"},
      {3, init + "RECV,0;RECV,1;RECV,2;"},
      {64, init + "RECV,0;RECV,1;RECV,2;"},  // the window is larger than the session
  };
  for (const auto& r : rows) {
    CAPTURE(r.window);
    fixture f(fresh(12, 5), r.window);
    CHECK(f.session.next_hello_is_init());
    CHECK(f.connect() == action::send);
    CHECK(f.out == r.bytes);
  }
}

TEST_CASE("client_session: a window of 0 behaves as a window of 1") {
  fixture f(fresh(12, 5), 0);
  CHECK(f.connect() == action::send);
  CHECK(f.out == "INIT," + golden_text + ",12,5;");
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.out == "RECV,0;");
}

TEST_CASE("client_session: the window is refilled when half of it has come back") {
  // 8 batches of 5, window 4; batch k holds 5k … 5k+4, so the session is 0 … 39
  // (sum 780, MD5 of str(list(range(40))) d8c4d0616accfb90888acb6dcc5b9d2a).
  fixture f(fresh(40, 5), 4);
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "INIT," + golden_text + ",40,5;RECV,0;RECV,1;RECV,2;RECV,3;");
  CHECK(f.reply("ACK") == action::save_then_send);  // acknowledged: a milestone
  CHECK(f.out.empty());
  CHECK(f.state.acknowledged);
  const std::vector<std::string> after_num = {
      "",                // 3 in flight
      "RECV,4;RECV,5;",  // 2 in flight: half the window came back
      "",
      "RECV,6;RECV,7;",
      "",
      "",  // every batch requested: nothing to refill
      "",
  };
  for (std::uint32_t k = 0; k < after_num.size(); ++k) {
    CAPTURE(k);
    CHECK(f.reply(num_frame(5 * k, 5)) == action::send);
    CHECK(f.out == after_num[k]);
  }
  CHECK(f.reply(num_frame(35, 5)) == action::save_then_send);  // on disk before FIN
  CHECK(f.out == "FIN;");
  CHECK(f.reply("FAC,d8c4d0616accfb90888acb6dcc5b9d2a") == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::completed);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum == "780");
  CHECK(f.progress.size() == 8);
  CHECK(f.progress.back() == std::pair<std::uint32_t, std::uint32_t>(8, 8));
}

TEST_CASE("client_session: window 1 gives the reference's transcript of scenario 1") {
  fixture f(fresh(5, 5), 1);
  REQUIRE(f.connect() == action::send);
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.out == "RECV,0;");
  CHECK(f.reply(scenario_batch_0) == action::save_then_send);
  CHECK(f.out == "FIN;");
  CHECK(f.reply(scenario_1_fac) == action::done);
  const std::vector<std::string> reference = {
      "Sending message: 'INIT," + golden_text + ",5,5;'",
      "Received: ACK;",
      "Requesting numbers",
      "Sending message: 'RECV,0;'",
      "Received: NUM,6:41:81:68:68;",
      "Sending message: 'FIN;'",
      "Received: FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;",
      "Closing the connection",
  };
  CHECK(f.transcript == reference);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum == "264");
}

TEST_CASE("client_session: window 1 gives the reference's transcripts of scenario 4") {
  fixture f(fresh(10, 5), 1);
  REQUIRE(f.connect() == action::send);
  f.reply("ACK");
  f.reply(scenario_batch_0);
  f.reply(scenario_batch_1);
  REQUIRE(f.reply(scenario_4_fac) == action::done);
  CHECK(f.take_transcript() == std::vector<std::string>{
                                   "Sending message: 'INIT," + golden_text + ",10,5;'",
                                   "Received: ACK;",
                                   "Requesting numbers",
                                   "Sending message: 'RECV,0;'",
                                   "Received: NUM,6:41:81:68:68;",
                                   "Sending message: 'RECV,1;'",
                                   "Received: NUM,41:10:40:78:98;",
                                   "Sending message: 'FIN;'",
                                   "Received: FAC,9b14501c5359fb4eac96df9e874348b2;",
                                   "Closing the connection",
                               });
  CHECK(f.session.result().sum == "531");

  // CONTINUE of the completed session, from its state.
  fixture again(f.state, 1, origin::resumed);
  REQUIRE(again.connect() == action::send);
  again.reply("ACK");
  REQUIRE(again.reply(scenario_4_fac) == action::done);
  CHECK(again.transcript == std::vector<std::string>{
                                "Sending message: 'CONT," + golden_text + ";'",
                                "Received: ACK;",
                                "Requesting numbers",
                                "Skipping chunk-nr: 0",
                                "Skipping chunk-nr: 1",
                                "Sending message: 'FIN;'",
                                "Received: FAC,9b14501c5359fb4eac96df9e874348b2;",
                                "Closing the connection",
                            });
  CHECK(again.session.result().outcome == client_outcome::valid);
  CHECK(again.session.result().sum == "531");
}

TEST_CASE("client_session: a resumed session sends CONT and skips the batches it has") {
  // 4 batches of 5; batches 0 and 2 are in the state.
  fixture f(acknowledged_with(20, 5, {0, 2}), 64, origin::resumed);
  CHECK_FALSE(f.session.next_hello_is_init());
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + golden_text + ";RECV,1;RECV,3;");
  CHECK(f.take_transcript() == std::vector<std::string>{
                                   "Sending message: 'CONT," + golden_text + ";'",
                                   "Skipping chunk-nr: 0",
                                   "Sending message: 'RECV,1;'",
                                   "Skipping chunk-nr: 2",
                                   "Sending message: 'RECV,3;'",
                               });
  CHECK(f.reply("ACK") == action::send);  // acknowledged before: nothing to save
  CHECK(f.out.empty());
  CHECK(f.reply(num_frame(5, 5)) == action::send);
  CHECK(f.out.empty());
  CHECK(f.reply(num_frame(15, 5)) == action::save_then_send);
  CHECK(f.out == "FIN;");
  CHECK(f.take_transcript() == std::vector<std::string>{
                                   "Received: ACK;",
                                   "Requesting numbers",
                                   "Received: NUM,5:6:7:8:9;",
                                   "Received: NUM,15:16:17:18:19;",
                                   "Sending message: 'FIN;'",
                               });
  // The session is 0 … 19 (sum 190, MD5 of str(list(range(20))) de127c2b…).
  CHECK(f.progress == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{3, 4}, {4, 4}});
  CHECK(f.reply("FAC,de127c2b4e633f7c0ac4a8bf9e6d4b68") == action::done);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum == "190");
}

TEST_CASE("client_session: an unacknowledged resumed session starts with CONT") {
  fixture f(fresh(10, 5), 64, origin::resumed);  // an earlier run's INIT may have arrived
  CHECK_FALSE(f.session.next_hello_is_init());
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + golden_text + ";RECV,0;RECV,1;");
  CHECK(f.reply("ACK") == action::save_then_send);  // acknowledged now: a milestone
  CHECK(f.state.acknowledged);
}

TEST_CASE("client_session: an INIT lost with its connection is followed by CONT, not INIT") {
  fixture f(fresh(10, 5), 1);
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "INIT," + golden_text + ",10,5;");
  CHECK(f.session.on_connection_lost("connection closed by the server") == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::lost);
  CHECK(f.session.last_attempt().error == "connection closed by the server");
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + golden_text + ";");
}

TEST_CASE("client_session: does not exist before any ACK means our INIT never arrived") {
  fixture f(fresh(10, 5), 1);
  REQUIRE(f.connect() == action::send);
  f.session.on_connection_lost("connection closed by the server");
  check_hello_lost(f, "CONT," + golden_text + ";",
                   refusal_text(refusal::does_not_exist, golden_text), "session not created yet");
  // The next attempt sends INIT again, and the session goes on.
  CHECK(f.session.next_hello_is_init());
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "INIT," + golden_text + ",10,5;");
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.out == "RECV,0;");
}

TEST_CASE("client_session: already exist after an earlier INIT of ours means CONT again") {
  fixture f(fresh(10, 5), 1);
  REQUIRE(f.connect() == action::send);
  f.session.on_connection_lost("no answer within the I/O timeout");
  check_hello_lost(f, "CONT," + golden_text + ";",
                   refusal_text(refusal::does_not_exist, golden_text), "session not created yet");
  // The first INIT, held up on the abandoned connection, arrives now: this one meets it.
  check_hello_lost(f, "INIT," + golden_text + ",10,5;",
                   refusal_text(refusal::already_exists, golden_text),
                   "session created by an earlier INIT");
  CHECK_FALSE(f.session.next_hello_is_init());
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + golden_text + ";");
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.out == "RECV,0;");
}

TEST_CASE("client_session: already exist for a first INIT is a refusal (scenario 2)") {
  fixture f(fresh(5, 5), 1);
  REQUIRE(f.connect() == action::send);
  const std::string text = refusal_text(refusal::already_exists, golden_text);
  CHECK(f.reply("ERR," + text) == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::refused);
  CHECK(f.session.result().outcome == client_outcome::refused);
  CHECK(f.session.result().error == text);
  CHECK_FALSE(f.state.acknowledged);
}

TEST_CASE("client_session: transient refusals lose the attempt, to be retried") {
  for (auto r : {refusal::store_unavailable, refusal::server_busy}) {
    const std::string text = refusal_text(r);
    CAPTURE(text);
    fixture at_hello(fresh(10, 5), 1);
    check_hello_lost(at_hello, "INIT," + golden_text + ",10,5;", text, "server said: " + text);

    fixture in_transfer(acknowledged_with(10, 5, {}), 1, origin::resumed);
    REQUIRE(in_transfer.connect() == action::send);
    REQUIRE(in_transfer.reply("ACK") == action::send);
    CHECK(in_transfer.reply("ERR," + text) == action::done);
    CHECK(in_transfer.session.last_attempt().outcome == outcome::lost);
    CHECK(in_transfer.session.result().outcome == client_outcome::gave_up);
  }
}

TEST_CASE("client_session: other refusals end the session as refused, with their text") {
  struct row {
    const char* when;
    client_state state;
    origin from;
    std::vector<std::string> before;  // frames before the refusal
    std::string text;
  };
  const std::string protocol_text = make_error_code(protocol_errc::session_completed).message();
  const std::vector<row> rows = {
      {"CONT of a purged session (scenario 5)",
       acknowledged_with(10, 5, {}),
       origin::resumed,
       {},
       refusal_text(refusal::does_not_exist, golden_text)},
      {"the session limit",
       fresh(10, 5),
       origin::new_session,
       {},
       refusal_text(refusal::too_many_sessions)},
      {"an invalid batch index",
       acknowledged_with(10, 5, {}),
       origin::resumed,
       {"ACK"},
       refusal_text(refusal::invalid_batch_index, "1")},
      {"a protocol error after ACK",
       acknowledged_with(10, 5, {}),
       origin::resumed,
       {"ACK"},
       protocol_text},
      {"an unknown text at FIN",
       acknowledged_with(10, 5, {0, 1}),
       origin::resumed,
       {"ACK"},
       "something this version does not know"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.when);
    fixture f(r.state, 1, r.from);
    REQUIRE(f.connect() == action::send);
    for (const auto& frame : r.before)
      REQUIRE(f.reply(frame) != action::done);
    CHECK(f.reply("ERR," + r.text) == action::done);
    CHECK(f.session.last_attempt().outcome == outcome::refused);
    CHECK(f.session.result().outcome == client_outcome::refused);
    CHECK(f.session.result().error == r.text);
  }
}

TEST_CASE("client_session: a NUM of the wrong size loses the attempt and stores nothing") {
  struct row {
    std::uint32_t batch_index;
    std::string frame;
  };
  // 7 numbers in batches of 5: batch 0 has 5, batch 1 has 2.
  const std::vector<row> rows = {
      {0, "NUM,1:2:3:4"}, {0, "NUM,1:2:3:4:5:6"}, {0, "NUM,"}, {1, "NUM,1:2:3:4:5"}, {1, "NUM,1"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.frame);
    fixture f(acknowledged_with(7, 5, {}), 1, origin::resumed);
    REQUIRE(f.connect() == action::send);
    REQUIRE(f.reply("ACK") == action::send);
    if (r.batch_index == 1)
      REQUIRE(f.reply("NUM,1:2:3:4:5") == action::send);
    CHECK(f.reply(r.frame) == action::done);
    CHECK(f.session.last_attempt().outcome == outcome::lost);
    CHECK(f.session.last_attempt().error ==
          "unexpected reply from the server (expected NUM of the right size)");
    CHECK_FALSE(f.state.have[r.batch_index]);
  }
}

TEST_CASE("client_session: FAC that matches is valid, one that differs is a mismatch") {
  struct row {
    std::string fac;
    client_outcome expected;
  };
  const std::vector<row> rows = {
      {"f90b20dae8c9b7d7be2a5fb7cc856e8b", client_outcome::valid},
      {"d751713988987e9331980363e24189ce", client_outcome::mismatch},  // the empty list's
  };
  for (const auto& r : rows) {
    CAPTURE(r.fac);
    fixture f(fresh(5, 5), 64);
    REQUIRE(f.connect() == action::send);
    REQUIRE(f.reply("ACK") == action::save_then_send);
    REQUIRE(f.reply(scenario_batch_0) == action::save_then_send);
    CHECK(f.reply("FAC," + r.fac) == action::done);
    CHECK(f.session.last_attempt().outcome == outcome::completed);
    const client_result& result = f.session.result();
    CHECK(result.outcome == r.expected);
    CHECK(result.sum == "264");
    CHECK(to_hex(*result.checksum) == "f90b20dae8c9b7d7be2a5fb7cc856e8b");
    CHECK(to_hex(*result.server_checksum) == r.fac);
    CHECK(to_hex(*f.state.server_checksum) == r.fac);
  }
}

TEST_CASE("client_session: CONTINUE of a completed session sends only CONT and FIN") {
  fixture done_before(fresh(10, 5), 64);
  done_before.connect();
  done_before.reply("ACK");
  done_before.reply(scenario_batch_0);
  done_before.reply(scenario_batch_1);
  REQUIRE(done_before.reply(scenario_4_fac) == action::done);

  fixture f(done_before.state, 64, origin::resumed);
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + golden_text + ";");
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.out == "FIN;");
  CHECK(f.reply(scenario_4_fac) == action::done);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum == "531");
  CHECK(f.progress.empty());
}

TEST_CASE("client_session: an empty session asks for nothing and checks the empty list") {
  fixture f(fresh(0, 5), 64);
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "INIT," + golden_text + ",0,5;");
  CHECK(f.reply("ACK") == action::save_then_send);
  CHECK(f.out == "FIN;");
  CHECK(f.reply("FAC,d751713988987e9331980363e24189ce") == action::done);
  CHECK(f.session.result().outcome == client_outcome::valid);
  CHECK(f.session.result().sum == "0");
}

TEST_CASE("client_session: a reply of the wrong kind loses the attempt, naming what was due") {
  struct row {
    std::vector<std::string> before;
    std::string frame;
    std::string error;
  };
  const std::vector<row> rows = {
      {{}, "NUM,1:2:3:4:5", "unexpected reply from the server (expected ACK)"},
      {{}, scenario_1_fac, "unexpected reply from the server (expected ACK)"},
      {{"ACK"}, "ACK", "unexpected reply from the server (expected NUM)"},
      {{"ACK"}, scenario_1_fac, "unexpected reply from the server (expected NUM)"},
      {{"ACK", "NUM,1:2:3:4:5", "NUM,6:7:8:9:10"},
       "ACK",
       "unexpected reply from the server (expected FAC)"},
      {{"ACK", "NUM,1:2:3:4:5", "NUM,6:7:8:9:10"},
       "NUM,1:2:3:4:5",
       "unexpected reply from the server (expected FAC)"},
      {{"ACK"},
       "HELLO",
       "unreadable reply from the server: " +
           make_error_code(protocol_errc::unknown_type).message()},
  };
  for (const auto& r : rows) {
    CAPTURE(r.frame);
    CAPTURE(r.before.size());
    fixture f(acknowledged_with(10, 5, {}), 64, origin::resumed);
    REQUIRE(f.connect() == action::send);
    for (const auto& frame : r.before)
      REQUIRE(f.reply(frame) != action::done);
    CHECK(f.reply(r.frame) == action::done);
    CHECK(f.session.last_attempt().outcome == outcome::lost);
    CHECK(f.session.last_attempt().error == r.error);
    CHECK(f.session.result().outcome == client_outcome::gave_up);
  }
}

TEST_CASE("client_session: a frame error loses the attempt with its message") {
  fixture f(fresh(10, 5), 64);
  REQUIRE(f.connect() == action::send);
  const auto error = make_error_code(protocol_errc::frame_too_long);
  CHECK(f.session.on_frame_error(error) == action::done);
  CHECK(f.session.last_attempt().outcome == outcome::lost);
  CHECK(f.session.last_attempt().error == "unreadable reply from the server: " + error.message());
}

TEST_CASE("client_session: progress is an attempt that stored a batch, and only that attempt") {
  fixture f(fresh(15, 5), 64);
  REQUIRE(f.connect() == action::send);
  REQUIRE(f.reply("ACK") == action::save_then_send);
  REQUIRE(f.reply("NUM,1:2:3:4:5") == action::send);
  CHECK(f.session.unsaved());
  CHECK(f.session.on_connection_lost("connection closed by the server") == action::done);
  CHECK(f.session.last_attempt().progressed);

  // Connecting fails: that attempt made no progress.
  CHECK(f.session.on_connection_lost("Connection refused") == action::done);
  CHECK_FALSE(f.session.last_attempt().progressed);
  CHECK(f.session.last_attempt().error == "Connection refused");

  // Connected, acknowledged, but lost before any NUM: no progress either.
  REQUIRE(f.connect() == action::send);
  CHECK(f.out == "CONT," + golden_text + ";RECV,1;RECV,2;");  // batch 0 is kept
  REQUIRE(f.reply("ACK") == action::send);
  f.session.on_connection_lost("connection closed by the server");
  CHECK_FALSE(f.session.last_attempt().progressed);
}

TEST_CASE("client_session: the state is unsaved after each change, saved when told") {
  fixture f(fresh(10, 5), 64);
  CHECK_FALSE(f.session.unsaved());
  REQUIRE(f.connect() == action::send);
  CHECK_FALSE(f.session.unsaved());  // an INIT on its way changes nothing on disk
  REQUIRE(f.reply("ACK") == action::save_then_send);
  CHECK(f.session.unsaved());
  f.session.saved();
  CHECK_FALSE(f.session.unsaved());
  REQUIRE(f.reply(scenario_batch_0) == action::send);
  CHECK(f.session.unsaved());
  CHECK(f.state.have[0]);
  CHECK(f.state.numbers[0] == 6);
  CHECK(f.state.numbers[4] == 68);
}

TEST_CASE("client_session: replies read with no attempt running are ignored") {
  fixture f(fresh(10, 5), 64);
  CHECK(f.reply("ACK") == action::done);
  CHECK(f.out.empty());
  CHECK_FALSE(f.state.acknowledged);
  CHECK(f.session.on_frame_error(make_error_code(protocol_errc::frame_too_long)) == action::done);
}

TEST_CASE("client_session: the frame limit fits a NUM of the largest numbers") {
  // "NUM," + 65535 × "4294967295" + 65534 × ":" is 720,888 bytes.
  fixture f(fresh(max_count, max_batch), 64);
  CHECK(f.session.max_frame() >= 4 + 65535 * 10 + 65534);
  fixture small(fresh(5, 5), 64);
  CHECK(small.session.max_frame() >= 64);
}
