// log_fields.hpp: the client field shows 8 characters of an id, the session field a lease as
// 16 hex digits, written as text in every format. Expected hex from Python's
// format(v, '016x').

#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "numsequence/ops/log.hpp"
#include "numsequence/ops/log_fields.hpp"

using namespace numsequence;

TEST_CASE("log fields: hex64 writes 16 lower-case hex digits") {
  struct row {
    std::uint64_t value;
    const char* text;
  };
  for (const auto& r : {row{0x5f0c2a9e00000003u, "5f0c2a9e00000003"}, row{0, "0000000000000000"},
                        row{0xffffffffffffffffu, "ffffffffffffffff"}}) {
    std::ostringstream out;
    out << hex64{r.value};
    CHECK(out.str() == r.text);
  }
}

TEST_CASE("log fields: the client field is the id's first 8 characters, nothing more") {
  const auto id = client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  REQUIRE(id.has_value());
  CHECK(redacted_client(*id) == "123e4567");
}

TEST_CASE("log fields: a lease in the session field is a JSON string, not a number") {
  std::vector<std::string> lines;
  logger::options o;
  o.format = log_format::json;
  o.output = [&](std::string_view line) { lines.emplace_back(line); };
  logger log(o);
  const auto id = client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  REQUIRE(id.has_value());
  log.log(log_level::info, "session created", log_field(log_key::client, redacted_client(*id)),
          log_field(log_key::session, hex64{0x5f0c2a9e00000003u}));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].ends_with(R"("msg":"session created","client":"123e4567",)"
                           R"("session":"5f0c2a9e00000003"})"
                           "\n"));
}
