// Fibonacci sessions over the resumable TCP protocol, with the real server and client:
// INIT's kind field, the limit, resuming through session timers, scenario 4. Expected sums
// and checksums are Python's (exact integers, sum(list), hashlib.md5(str(list))).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "json_fields.hpp"
#include "server_fixture.hpp"

namespace numsequence::integration {
namespace {

const std::string id(golden_id);

struct python_result {
  unsigned n;
  std::string sum;  // exact
  std::string md5;
};

/// A sum too long to write out: its length, first and last 20 digits.
struct long_sum {
  std::size_t digits;
  std::string head;
  std::string tail;
};

void check_long_sum(const std::string& sum, const long_sum& expected) {
  CHECK(sum.size() == expected.digits);
  CHECK(sum.starts_with(expected.head));
  CHECK(sum.ends_with(expected.tail));
}

void check_exit(const run_result& result, int code) {
  INFO("client stdout:\n" << result.out.substr(0, 4000));
  INFO("client stderr:\n" << result.err);
  REQUIRE_MESSAGE(result.status.has_value(), "the client did not finish in time");
  CHECK(result.exit_code() == code);
}

/// The `The SUM of numbers is: ` line's number, or "" if there is none.
std::string printed_sum(const run_result& result) {
  constexpr std::string_view prefix = "The SUM of numbers is: ";
  for (const auto& line : result.out_lines()) {
    if (line.starts_with(prefix))
      return line.substr(prefix.size());
  }
  return {};
}

}  // namespace

TEST_SUITE("fibonacci") {
  TEST_CASE("fibonacci: the stock client completes n = 0, 1, 10 and 1000 in batches of 7") {
    running_server server;
    const std::vector<python_result> rows = {
        {0, "0", "d751713988987e9331980363e24189ce"},
        {1, "0", "8d5162ca104fa7e79fe80fd92bb657fb"},
        {10, "88", "352a3175a68fe92cfe03bc0c2f02c9d6"},
        {1000,
         "7033036771142281582183525487718354977018126983635873274260490508715453711819693357974224"
         "9494562611733487750449241765991088186363265450223647106012053374121273867339111198139373"
         "125598767690091902245245323403500",
         "b64b2bbc2244d405cd1c2a8b0b8718a7"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.n);
      temp_dir dir;
      const auto result =
          run_client({"NEW", std::to_string(row.n), server.port_text(), "--client_id",
                      numbered_id(row.n, 0xf1b), "--batch-size", "7", "--sequence", "fibonacci"},
                     dir.path());
      check_exit(result, 0);
      CHECK(last_lines(result.out_lines(), 2) ==
            std::vector<std::string>{"The SUM of numbers is: " + row.sum,
                                     "Checksum (" + row.md5 + ") is valid!"});
    }
  }

  TEST_CASE("fibonacci: n = 25000 in batches of 500, sum and checksum as Python's") {
    running_server server;
    temp_dir dir;
    const auto result = run_client({"NEW", "25000", server.port_text(), "--client_id", id,
                                    "--batch-size", "500", "--sequence", "fibonacci", "--json"},
                                   dir.path(), seconds(100));
    check_exit(result, 0);
    const auto lines = result.out_lines();
    REQUIRE(lines.size() == 1);
    CHECK(json_field(lines[0], "sequence") == std::optional<std::string>("fibonacci"));
    CHECK(json_field(lines[0], "valid") == std::optional<std::string>("true"));
    CHECK(json_field(lines[0], "checksum") ==
          std::optional<std::string>("ce7639f1240a778e42b4e67a04927192"));
    const auto sum = json_field(lines[0], "sum");
    REQUIRE(sum.has_value());
    // Python: str(sum(fib[:25000])), an exact JSON number of 5,225 digits.
    check_long_sum(*sum, {5225, "35522938794321715091", "21969133328022587500"});
    // The state file keeps which batches arrived, not 65 MB of numbers.
    CHECK(std::filesystem::file_size(dir.state_file()) < 1024);

    // CONTINUE re-checks the completed session and prints the same sum as text.
    const auto again = run_client({"CONTINUE", server.port_text()}, dir.path(), seconds(100));
    check_exit(again, 0);
    check_long_sum(printed_sum(again), {5225, "35522938794321715091", "21969133328022587500"});
    CHECK(again.out_lines().back() == "Checksum (ce7639f1240a778e42b4e67a04927192) is valid!");
  }

  TEST_CASE("fibonacci: a session cut by a short session timer resumes and completes") {
    // --interval makes the transfer outlast many 50 ms session timers whatever the machine.
    running_server server({"--session-timeout", "0.05", "--interval", "0.002"});
    temp_dir dir;
    const auto result = run_client({"NEW", "3000", server.port_text(), "--client_id", id,
                                    "--batch-size", "10", "--sequence", "fibonacci", "--json"},
                                   dir.path(), seconds(100));
    check_exit(result, 0);
    const auto json = result.out_lines().at(0);
    CHECK(json_field(json, "valid") == std::optional<std::string>("true"));
    CHECK(json_field(json, "checksum") ==
          std::optional<std::string>("d3b3f24665650e00bd4a883468779a3f"));
    const auto sum = json_field(json, "sum");
    REQUIRE(sum.has_value());
    check_long_sum(*sum, {627, "66439046036696007228", "59144173304364898000"});
    const auto reconnects = json_field(json, "reconnects");
    REQUIRE(reconnects.has_value());
    CHECK_MESSAGE(std::stoul(*reconnects) > 0, "expected drops to force reconnects: " << json);
  }

  TEST_CASE("fibonacci: n above --max-fibonacci is refused with the limit, n at it served") {
    running_server server({"--max-fibonacci", "100"});
    temp_dir dir;
    const auto refused =
        run_client({"NEW", "101", server.port_text(), "--client_id", id, "--sequence", "fibonacci"},
                   dir.path());
    check_exit(refused, 3);
    CHECK(refused.err.find("the server refused: n too large for fibonacci (at most 100 on this "
                           "server)") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.state_file()));  // a refused NEW leaves nothing

    auto raw = server.connect();
    REQUIRE(raw.send("INIT," + numbered_id(1, 0xf1c) + ",101,5,fibonacci;", reply_timeout));
    CHECK(raw.read_until_closed(reply_timeout) ==
          "ERR,n too large for fibonacci (at most 100 on this server);");

    const auto served = run_client({"NEW", "100", server.port_text(), "--client_id", id,
                                    "--batch-size", "7", "--sequence", "fibonacci"},
                                   dir.path());
    check_exit(served, 0);
    CHECK(last_lines(served.out_lines(), 2) ==
          std::vector<std::string>{"The SUM of numbers is: 573147844013817084100",
                                   "Checksum (f4f4d43dc76e43a356a380f6296ec6de) is valid!"});
    // A random session is not limited by it.
    temp_dir other;
    check_exit(run_client({"NEW", "1000", server.port_text()}, other.path()), 0);
  }

  TEST_CASE("fibonacci: scenario 4, CONTINUE after completion skips every batch and re-checks") {
    running_server server;
    temp_dir dir;
    const std::vector<std::string> tail = {
        "Sending message: 'FIN;'",
        "Received: FAC,352a3175a68fe92cfe03bc0c2f02c9d6;",
        "Closing the connection",
        "The SUM of numbers is: 88",
        "Checksum (352a3175a68fe92cfe03bc0c2f02c9d6) is valid!",
    };
    std::vector<std::string> first = {
        "Sending message: 'INIT," + id + ",10,5,fibonacci;'",
        "Received: ACK;",
        "Requesting numbers",
        "Sending message: 'RECV,0;'",
        "Received: NUM,0:1:1:2:3;",
        "Sending message: 'RECV,1;'",
        "Received: NUM,5:8:13:21:34;",
    };
    first.insert(first.end(), tail.begin(), tail.end());
    const auto created = run_client({"NEW", "10", server.port_text(), "--client_id", id,
                                     "--sequence", "fibonacci", "--verbose"},
                                    dir.path());
    check_exit(created, 0);
    CHECK(created.out_lines() == first);

    std::vector<std::string> again = {
        "Sending message: 'CONT," + id + ";'",
        "Received: ACK;",
        "Requesting numbers",
        "Skipping chunk-nr: 0",
        "Skipping chunk-nr: 1",
    };
    again.insert(again.end(), tail.begin(), tail.end());
    const auto continued = run_client({"CONTINUE", server.port_text(), "--verbose"}, dir.path());
    check_exit(continued, 0);
    CHECK(continued.out_lines() == again);

    // On the wire: the completion record answers FIN again and refuses RECV.
    auto fin = server.connect();
    REQUIRE(fin.send("CONT," + id + ";FIN;", reply_timeout));
    CHECK(fin.read_until_closed(reply_timeout) == "ACK;FAC,352a3175a68fe92cfe03bc0c2f02c9d6;");
    auto recv = server.connect();
    REQUIRE(recv.send("CONT," + id + ";RECV,0;", reply_timeout));
    CHECK(recv.read_until_closed(reply_timeout) ==
          "ACK;ERR,session already completed (no more batches, only FIN is allowed);");
  }

  TEST_CASE("fibonacci: the wire, kinds named and unknown, pipelined out of order") {
    running_server server;
    auto fib = server.connect();
    REQUIRE(fib.send("INIT," + numbered_id(2, 0xf1c) + ",100,7,fibonacci;RECV,14;RECV,0;FIN;",
                     reply_timeout));
    CHECK(fib.read_until_closed(reply_timeout) ==
          "ACK;NUM,135301852344706746049:218922995834555169026;NUM,0:1:1:2:3:5:8;"
          "FAC,f4f4d43dc76e43a356a380f6296ec6de;");
    // random, named: the reference's numbers, as without the field.
    auto random = server.connect();
    REQUIRE(random.send("INIT," + id + ",5,5,random;RECV,0;FIN;", reply_timeout));
    CHECK(random.read_until_closed(reply_timeout) ==
          "ACK;NUM,6:41:81:68:68;FAC,f90b20dae8c9b7d7be2a5fb7cc856e8b;");
    auto unknown = server.connect();
    REQUIRE(unknown.send("INIT," + numbered_id(3, 0xf1c) + ",5,5,Fibonacci;", reply_timeout));
    CHECK(unknown.read_until_closed(reply_timeout) ==
          "ERR,unknown sequence kind (the kinds are random and fibonacci, in lower case);");
  }

  TEST_CASE("fibonacci: a bad --sequence or --max-fibonacci is a usage error") {
    temp_dir dir;
    const auto bad_kind = run_client({"NEW", "5", "1", "--sequence", "primes"}, dir.path());
    check_exit(bad_kind, 2);
    CHECK(bad_kind.err.find("invalid --sequence (expected random or fibonacci)") !=
          std::string::npos);
    const auto on_continue = run_client({"CONTINUE", "1", "--sequence", "fibonacci"}, dir.path());
    check_exit(on_continue, 2);
    CHECK(on_continue.err.find("--sequence belong to NEW") != std::string::npos);
    for (const char* bad : {"0", "1000000001", "x", "25e3"}) {
      CAPTURE(bad);
      process_options options;
      options.argv = {server_binary, "0", "--max-fibonacci", bad};
      const auto server = run_process(options, seconds(10));
      REQUIRE(server.status.has_value());
      CHECK(server.exit_code() == 2);
      CHECK(server.err.find("--max-fibonacci") != std::string::npos);
    }
  }
}

}  // namespace numsequence::integration
