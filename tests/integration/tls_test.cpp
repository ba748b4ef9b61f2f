// TLS end to end: the stock client and a raw TLS connection against a TLS server with a
// throwaway certificate; every way a TLS setting can be wrong gets a precise message.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "json_fields.hpp"
#include "server_fixture.hpp"
#include "tls_support.hpp"

namespace numsequence::integration {
namespace {

const std::string id(golden_id);

/// A TLS server with a fresh throwaway certificate.
struct tls_server {
  explicit tls_server(std::vector<std::string> extra = {})
      : pki(make_throwaway_pki(pki_dir.path())), server(with_tls(pki, std::move(extra))) {}

  static std::vector<std::string> with_tls(const throwaway_pki& p, std::vector<std::string> args) {
    args.insert(args.end(),
                {"--tls-cert", p.server_cert.string(), "--tls-key", p.server_key.string()});
    return args;
  }

  std::vector<std::string> client_tls() const { return {"--tls", "--ca", pki.ca.string()}; }

  temp_dir pki_dir;
  throwaway_pki pki;
  running_server server;
};

std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void check_exit(const run_result& r, int code) {
  INFO("stdout:\n" << r.out);
  INFO("stderr:\n" << r.err);
  REQUIRE_MESSAGE(r.status.has_value(), "did not finish in time");
  CHECK(r.exit_code() == code);
}

}  // namespace

TEST_SUITE("tls") {
  TEST_CASE("reference scenario 1 over TLS: the same transcript, byte for byte") {
    tls_server tls;
    temp_dir dir;
    const auto r =
        run_client(joined({"NEW", "5", tls.server.port_text(), "--client_id", id, "--verbose"},
                          tls.client_tls()),
                   dir.path());
    check_exit(r, 0);
    CHECK(r.out_lines() == scenario_1_lines());
  }

  TEST_CASE("10000 numbers over TLS through forced drops (session timer 50 ms)") {
    tls_server tls({"--session-timeout", "0.05"});
    temp_dir dir;
    // One request at a time, so that the session outlasts many 50 ms connections.
    const auto r = run_client(joined({"NEW", "10000", tls.server.port_text(), "--client_id", id,
                                      "--json", "--pipeline", "1"},
                                     tls.client_tls()),
                              dir.path(), seconds(100));
    check_exit(r, 0);
    CHECK(json_field(r.out, "checksum") ==
          std::optional<std::string>("589f9ca74cb5ea9a32eddd14840d5b64"));
    const auto reconnects = json_field(r.out, "reconnects");
    REQUIRE(reconnects.has_value());
    CHECK(std::stoi(*reconnects) > 0);
  }

  TEST_CASE("CONTINUE over TLS finishes a session started over TLS") {
    tls_server tls;
    temp_dir dir;
    const auto first = run_client(
        joined({"NEW", "10", tls.server.port_text(), "--client_id", id}, tls.client_tls()),
        dir.path());
    check_exit(first, 0);
    const auto again = run_client(
        joined({"CONTINUE", tls.server.port_text(), "--json"}, tls.client_tls()), dir.path());
    check_exit(again, 0);
    CHECK(json_field(again.out, "checksum") ==
          std::optional<std::string>("9b14501c5359fb4eac96df9e874348b2"));
  }

  TEST_CASE("a raw TLS connection gets the exact replies of the protocol") {
    tls_server tls;
    const tls_trust trust(tls.pki.ca);
    auto c = tcp_client::connect(tls.server.port(), seconds(10), &trust);
    REQUIRE(c.has_value());
    REQUIRE(c->send("INIT," + id + ",10,5;RECV,1;RECV,0;FIN;", seconds(5)));
    CHECK(c->read_replies(4, seconds(10)) ==
          std::vector<std::string>{"ACK;", "NUM,41:10:40:78:98;", "NUM,6:41:81:68:68;",
                                   "FAC,9b14501c5359fb4eac96df9e874348b2;"});
  }

  TEST_CASE("a client that does not trust the certificate stops at once with exit 4") {
    tls_server tls;
    temp_dir dir;
    const auto r = run_client({"NEW", "5", tls.server.port_text(), "--client_id", id, "--tls",
                               "--ca", tls.pki.other_ca.string(), "--retries", "5"},
                              dir.path());
    check_exit(r, 4);
    CHECK(r.err.find("is not trusted") != std::string::npos);
    CHECK(r.err.find("certificate verify failed") != std::string::npos);
    // No retry loop: the certificate will not change between attempts.
    CHECK(r.err.find("retrying") == std::string::npos);
    // The session never reached the server: a trusting client can still create it.
    const auto trusted = run_client(
        joined({"NEW", "5", tls.server.port_text(), "--client_id", id, "--json"}, tls.client_tls()),
        dir.path());
    check_exit(trusted, 0);
  }

  TEST_CASE("a certificate for another name is refused: the client checks the host") {
    temp_dir pki_dir;
    const auto pki = make_throwaway_pki(pki_dir.path(), "DNS:elsewhere.example");
    running_server server(tls_server::with_tls(pki, {}));
    temp_dir dir;
    const auto r = run_client(
        {"NEW", "5", server.port_text(), "--client_id", id, "--tls", "--ca", pki.ca.string()},
        dir.path());
    check_exit(r, 4);
    CHECK(r.err.find("is not trusted") != std::string::npos);
  }

  TEST_CASE("a DNS name works too: --host localhost is checked against the certificate") {
    tls_server tls;
    temp_dir dir;
    const auto r = run_client(joined({"NEW", "5", tls.server.port_text(), "--host", "localhost",
                                      "--client_id", id, "--json"},
                                     tls.client_tls()),
                              dir.path());
    check_exit(r, 0);
    CHECK(json_field(r.out, "valid") == std::optional<std::string>("true"));
  }

  TEST_CASE("a plain-text client against a TLS server gets no session and the server stays") {
    tls_server tls;
    temp_dir dir;
    const auto plain = run_client(
        {"NEW", "5", tls.server.port_text(), "--client_id", id, "--retries", "1"}, dir.path());
    check_exit(plain, 4);
    auto raw = tcp_client::connect(tls.server.port(), seconds(5));
    REQUIRE(raw.has_value());
    REQUIRE(raw->send("INIT," + id + ",5,5;", seconds(5)));
    // Not a TLS ClientHello: the handshake fails and the server hangs up without a reply
    // in plain text (a TLS alert at most, never an ACK).
    const auto bytes = raw->read_until_closed(seconds(10));
    CHECK(raw->closed());
    CHECK(bytes.find("ACK") == std::string::npos);
    const auto good = run_client(
        joined({"NEW", "5", tls.server.port_text(), "--client_id", id, "--json"}, tls.client_tls()),
        dir.path());
    check_exit(good, 0);
  }

  TEST_CASE("a TLS client against a plain server fails the handshake with a clear message") {
    running_server plain;
    temp_dir pki_dir;
    const auto pki = make_throwaway_pki(pki_dir.path());
    temp_dir dir;
    const auto r = run_client({"NEW", "5", plain.port_text(), "--client_id", id, "--tls", "--ca",
                               pki.ca.string(), "--retries", "1"},
                              dir.path());
    check_exit(r, 4);
    CHECK(r.err.find("TLS handshake with 127.0.0.1:" + plain.port_text() + " failed") !=
          std::string::npos);
  }

  TEST_CASE("a TLS handshake that never starts is cut by the idle timer") {
    tls_server tls({"--idle-timeout", "0.3"});
    auto raw = tcp_client::connect(tls.server.port(), seconds(5));
    REQUIRE(raw.has_value());
    CHECK(raw->wait_closed_silently(seconds(10)));
  }
}

TEST_SUITE("tls settings") {
  TEST_CASE("server: --tls-cert without --tls-key is a usage error") {
    temp_dir dir;
    const auto pki = make_throwaway_pki(dir.path());
    process_options o;
    o.argv = {server_binary, "0", "--tls-cert", pki.server_cert.string()};
    const auto r = run_process(o, seconds(10));
    check_exit(r, 2);
    CHECK(r.err.find("--tls-cert and --tls-key go together") != std::string::npos);
  }

  TEST_CASE("server: a missing certificate file is named") {
    temp_dir dir;
    const auto pki = make_throwaway_pki(dir.path());
    process_options o;
    o.argv = {server_binary, "0",
              "--tls-cert",  (dir.path() / "nope.pem").string(),
              "--tls-key",   pki.server_key.string()};
    const auto r = run_process(o, seconds(10));
    check_exit(r, 2);
    CHECK(r.err.find("cannot read the TLS certificate file") != std::string::npos);
    CHECK(r.err.find("nope.pem") != std::string::npos);
  }

  TEST_CASE("server: a key that does not match the certificate is refused at start") {
    temp_dir dir;
    const auto pki = make_throwaway_pki(dir.path());
    process_options o;
    o.argv = {server_binary,         "0", "--tls-cert", pki.server_cert.string(), "--tls-key",
              pki.other_key.string()};
    const auto r = run_process(o, seconds(10));
    check_exit(r, 2);
    CHECK(r.err.find("does not match the certificate") != std::string::npos);
  }

  TEST_CASE("server: a damaged certificate file is refused with OpenSSL's reason") {
    temp_dir dir;
    const auto pki = make_throwaway_pki(dir.path());
    const auto damaged = dir.path() / "damaged.pem";
    std::ofstream(damaged) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
    process_options o;
    o.argv = {server_binary,    "0",         "--tls-cert",
              damaged.string(), "--tls-key", pki.server_key.string()};
    const auto r = run_process(o, seconds(10));
    check_exit(r, 2);
    CHECK(r.err.find("holds no usable PEM certificate") != std::string::npos);
  }

  TEST_CASE("client: --ca without --tls is a usage error") {
    temp_dir dir;
    const auto r = run_client({"NEW", "5", "5000", "--ca", "ca.pem"}, dir.path());
    check_exit(r, 2);
    CHECK(r.err.find("--ca needs --tls") != std::string::npos);
  }

  TEST_CASE("client: an unreadable --ca fails before the state file is touched") {
    temp_dir dir;
    const auto state = dir.path() / "state";
    std::ofstream(state) << "keep me";
    const auto r = run_client(
        {"NEW", "5", "5000", "--tls", "--ca", "missing.pem", "--state-file", state.string()},
        dir.path());
    check_exit(r, 2);
    CHECK(r.err.find("cannot read the CA file 'missing.pem'") != std::string::npos);
    std::ifstream in(state);
    std::string content;
    std::getline(in, content);
    CHECK(content == "keep me");
  }
}

}  // namespace numsequence::integration
