// session_connection's counting (count_into): messages by type, ERR replies by their code, the
// sampled reply time; read back through the metrics text, as a scrape reads it. Expected
// replies are the protocol's texts (protocol.md); expected counts are the messages sent.

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "numsequence/ops/metrics.hpp"
#include "numsequence/server/session_connection.hpp"

using namespace numsequence;
using namespace std::chrono_literals;
using step = session_connection::step;
using action = session_connection::action;

namespace {

const std::string golden_id = "123e4567-e89b-12d3-a456-426614174000";
const std::string init_10_5 = "INIT," + golden_id + ",10,5;";
const auto t0 = std::chrono::steady_clock::time_point{std::chrono::hours(1)};

/// The value of the sample line `series` in a metrics text.
std::optional<double> sample(const std::string& text, std::string_view series) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    const std::string_view line = std::string_view(text).substr(at, end - at);
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ')
      return std::stod(std::string(line.substr(series.size() + 1)));
    at = end + 1;
  }
  return std::nullopt;
}

/// A connection counting into its own metrics, driven as the I/O side drives it, with a store
/// that answers `create_status` to INIT and accepts the rest.
struct counted {
  session_connection_config cfg;
  metrics m{1};
  session_connection c;
  store_status create_status = store_status::ok;
  std::string wire;
  std::string lent;

  counted() : c(cfg, session_policy{true, nullptr, 4096}, 7, t0) {
    c.lifetime().ready(t0);
    c.count_into(&m.shard(0));
  }

  step send(std::string bytes) {
    lent = std::move(bytes);
    c.feed(lent);
    for (;;) {
      const step s = c.next(t0);
      if (s == step::write) {
        wire += c.output();
        c.written();
      } else if (s == step::store) {
        if (c.store_action() == action::create_session)
          c.on_created(create_status);
        else if (c.store_action() == action::complete_session)
          c.on_completed(store_status::ok);
        else
          c.on_attached({store_status::not_found, {}, 0});
      } else {
        return s;
      }
    }
  }

  double value(std::string_view series) const {
    const auto v = sample(m.serialize(), series);
    REQUIRE_MESSAGE(v.has_value(), series);
    return *v;
  }
  double error(std::string_view reason) const {
    return value("numsequence_errors_total{reason=\"" + std::string(reason) + "\"}");
  }
  /// Every numsequence_errors_total sample, summed.
  double total_errors() const {
    const std::string text = m.serialize();
    constexpr std::string_view prefix = "numsequence_errors_total{";
    double total = 0;
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1))
      total += std::stod(text.substr(text.find(' ', at) + 1));
    return total;
  }
};

}  // namespace

TEST_CASE("session_connection metrics: each parsed message is counted once by its type") {
  counted k;
  CHECK(k.send(init_10_5 + "RECV,0;RECV,1;RECV,0;FIN;") == step::close);
  CHECK(k.value("numsequence_messages_total{type=\"INIT\"}") == 1);
  CHECK(k.value("numsequence_messages_total{type=\"RECV\"}") == 3);
  CHECK(k.value("numsequence_messages_total{type=\"FIN\"}") == 1);
  CHECK(k.value("numsequence_messages_total{type=\"CONT\"}") == 0);
}

TEST_CASE("session_connection metrics: a frame that is no message counts its protocol_errc only") {
  struct row {
    std::string bytes;
    const char* reason;
  };
  for (const auto& r :
       {row{"HELLO;", "unknown_type"}, row{";", "empty_message"},
        row{"INIT,x,1,1;", "invalid_client_id"}, row{std::string(300, 'A'), "frame_too_long"}}) {
    CAPTURE(r.bytes);
    counted k;
    CHECK(k.send(r.bytes) == step::close);
    CHECK(k.wire.starts_with("ERR,"));
    CHECK(k.error(r.reason) == 1);
    CHECK(k.value("numsequence_messages_total{type=\"INIT\"}") == 0);
  }
}

TEST_CASE("session_connection metrics: refusals count by code, NUM and ACK count no error") {
  counted k;
  CHECK(k.send(init_10_5 + "RECV,0;RECV,7;RECV,1;") == step::read);
  CHECK(k.error("invalid_batch_index") == 1);  // the one ERR that leaves the connection open
  CHECK(k.total_errors() == 1);
  CHECK(k.send("CONT," + golden_id + ";") == step::close);
  CHECK(k.error("session_already_started") == 1);
  CHECK(k.total_errors() == 2);
}

TEST_CASE("session_connection metrics: store answers that refuse count as their refusal") {
  struct row {
    store_status status;
    const char* reason;
  };
  for (const auto& r : {row{store_status::already_exists, "already_exists"},
                        row{store_status::full, "too_many_sessions"},
                        row{store_status::unavailable, "store_unavailable"}}) {
    CAPTURE(r.reason);
    counted k;
    k.create_status = r.status;
    CHECK(k.send(init_10_5) == step::close);
    CHECK(k.error(r.reason) == 1);
  }
  counted k;
  CHECK(k.send("CONT," + golden_id + ";") == step::close);  // the store says not found
  CHECK(k.error("does_not_exist") == 1);
  counted early;
  CHECK(early.send("RECV,0;") == step::close);
  CHECK(early.error("session_not_started") == 1);
}

TEST_CASE("session_connection metrics: one frame in 64 is timed, at the write of its reply") {
  counted k;
  std::string recvs;
  for (int i = 0; i < 62; ++i)
    recvs += "RECV," + std::to_string(i % 2) + ";";
  // INIT is frame 1; the 64th frame is the 63rd RECV, sent alone below.
  CHECK(k.send(init_10_5 + recvs) == step::read);
  CHECK(k.value("numsequence_reply_seconds_count") == 0);
  CHECK(k.send("RECV,0;") == step::read);
  CHECK(k.value("numsequence_reply_seconds_count") == 1);
  CHECK(k.value("numsequence_reply_seconds_bucket{le=\"+Inf\"}") == 1);
}

TEST_CASE("session_connection metrics: after count_into(nullptr) nothing more is counted") {
  counted k;
  CHECK(k.send(init_10_5) == step::read);
  k.c.count_into(nullptr);
  CHECK(k.send("RECV,0;RECV,9;") == step::read);
  CHECK(k.wire.find("ERR,") != std::string::npos);  // the ERR was sent, and not counted
  CHECK(k.value("numsequence_messages_total{type=\"INIT\"}") == 1);
  CHECK(k.value("numsequence_messages_total{type=\"RECV\"}") == 0);
  CHECK(k.error("invalid_batch_index") == 0);
}
