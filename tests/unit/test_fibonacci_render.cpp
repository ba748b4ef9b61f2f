// Fibonacci answer bodies: every format byte-exact, in pieces, and the default limit's size.
// Expected bodies were written by CPython (json.dumps(..., separators=(",", ":")), " ".join,
// hashlib.md5).

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/sequence/checksum.hpp"
#include "numsequence/sequence/fibonacci_render.hpp"

using namespace numsequence;
using shape = fibonacci_shape;
using format = fibonacci_format;

namespace {

std::string md5_of(std::string_view text) {
  md5_digest d{};
  unsigned int size = 0;
  REQUIRE(EVP_Digest(text.data(), text.size(), d.data(), &size, EVP_md5(), nullptr) == 1);
  return to_hex(d);
}

fibonacci_query first_n(format f, std::uint64_t n) {
  return {shape::first_n, f, 0, n};
}
fibonacci_query range(format f, std::uint64_t from, std::uint64_t to) {
  return {shape::range, f, from, to - from + 1};
}
fibonacci_query single(format f, std::uint64_t k) {
  return {shape::single, f, k, 1};
}

constexpr format all_formats[] = {format::json, format::text_spaces, format::text_lines,
                                  format::compat_result};

// The body rendered piece by piece, each piece started empty, with the checks every piece
// must pass: non-empty, at least `budget` unless it is the last, and past it by no more than
// one number and the few bytes around it.
std::string in_pieces(const fibonacci_query& q, std::size_t budget, std::size_t longest) {
  fibonacci_renderer r{q};
  std::string body;
  std::string piece;
  while (r.render(piece, budget)) {
    REQUIRE_FALSE(piece.empty());
    CHECK(piece.size() <= budget + longest + 64);
    if (!r.done())
      CHECK(piece.size() >= budget);
    body += piece;
    piece.clear();
  }
  CHECK(r.done());
  CHECK(piece.empty());
  CHECK_FALSE(r.render(piece, budget));  // stays complete
  CHECK(piece.empty());
  return body;
}

// Decimal digits of F(k), from Binet's formula (independent of the library): F(k) is the
// integer nearest phi^k / sqrt(5), never a power of ten past F(2), so its digit count is
// floor(k log10(phi) - log10(sqrt 5)) + 1.
std::uint64_t binet_digits(std::uint64_t k) {
  if (k < 2)
    return 1;
  const long double log10_phi = 0.20898764024997873376927208923755541L;
  const long double log10_sqrt5 = 0.34948500216800940239313055263775633L;
  return static_cast<std::uint64_t>(
             std::floor(static_cast<long double>(k) * log10_phi - log10_sqrt5)) +
         1;
}

// Bytes of the JSON body holding F(from) .. F(from + count - 1) after `opening`.
std::uint64_t json_body_size(std::string_view opening, std::uint64_t from, std::uint64_t count) {
  std::uint64_t size = opening.size() + 2 + (count == 0 ? 0 : count - 1);  // "]}" and commas
  for (std::uint64_t k = from; k < from + count; ++k)
    size += binet_digits(k);
  return size;
}

}  // namespace

TEST_CASE("fibonacci render: every format for n = 0, 1, 2, 5 is byte-exact") {
  struct row {
    format f;
    std::uint64_t n;
    std::string_view body;
  };
  for (const row& r : {
           row{format::json, 0, R"({"sequence":"fibonacci","n":0,"numbers":[]})"},
           row{format::json, 1, R"({"sequence":"fibonacci","n":1,"numbers":[0]})"},
           row{format::json, 2, R"({"sequence":"fibonacci","n":2,"numbers":[0,1]})"},
           row{format::json, 5, R"({"sequence":"fibonacci","n":5,"numbers":[0,1,1,2,3]})"},
           row{format::text_spaces, 0, "\n"},
           row{format::text_spaces, 1, "0\n"},
           row{format::text_spaces, 2, "0 1\n"},
           row{format::text_spaces, 5, "0 1 1 2 3\n"},
           row{format::text_lines, 0, ""},
           row{format::text_lines, 1, "0\n"},
           row{format::text_lines, 2, "0\n1\n"},
           row{format::text_lines, 5, "0\n1\n1\n2\n3\n"},
           row{format::compat_result, 0, R"({"N":0,"result":""})"},
           row{format::compat_result, 1, R"({"N":1,"result":"0"})"},
           row{format::compat_result, 2, R"({"N":2,"result":"0 1"})"},
           row{format::compat_result, 5, R"({"N":5,"result":"0 1 1 2 3"})"},
       }) {
    CAPTURE(static_cast<int>(r.f));
    CAPTURE(r.n);
    CHECK(render_all(first_n(r.f, r.n)) == r.body);
  }
}

TEST_CASE("fibonacci render: a range and a single value are byte-exact in every format") {
  struct row {
    fibonacci_query q;
    std::string_view body;
  };
  for (const row& r : {
           row{range(format::json, 3, 6),
               R"({"sequence":"fibonacci","from":3,"to":6,"numbers":[2,3,5,8]})"},
           row{range(format::json, 7, 7),
               R"({"sequence":"fibonacci","from":7,"to":7,"numbers":[13]})"},
           row{range(format::text_spaces, 3, 6), "2 3 5 8\n"},
           row{range(format::text_lines, 3, 6), "2\n3\n5\n8\n"},
           row{single(format::json, 7), R"({"k":7,"value":13})"},
           row{single(format::json, 0), R"({"k":0,"value":0})"},
           row{single(format::json, 100), R"({"k":100,"value":354224848179261915075})"},
           row{single(format::text_spaces, 7), "13\n"},
           row{single(format::text_lines, 7), "13\n"},
       }) {
    CAPTURE(r.body);
    CHECK(render_all(r.q) == r.body);
  }
}

TEST_CASE("fibonacci render: large bodies match Python's length and MD5") {
  struct row {
    fibonacci_query q;
    std::size_t size;
    std::string_view md5;
  };
  for (const row& r : {
           row{first_n(format::json, 3000), 943629, "5d3d4691407c1bde2615bea9415ea83d"},
           row{first_n(format::text_spaces, 3000), 943584, "72afab55dc85ea482b3bc9a396b30f53"},
           row{first_n(format::text_lines, 3000), 943584, "811abafd3169b42d2ddb8110a9036757"},
           row{first_n(format::compat_result, 3000), 943605, "f13c5514760cc2f4fd5f304c3b28d92d"},
           row{range(format::json, 990, 999), 2146, "c218f7a815b478066f615ee934cc5c7c"},
       }) {
    CAPTURE(r.size);
    const std::string body = render_all(r.q);
    CHECK(body.size() == r.size);
    CHECK(md5_of(body) == r.md5);
  }
}

TEST_CASE("fibonacci render: pieces with tiny budgets concatenate to render_all") {
  std::vector<fibonacci_query> queries;
  for (format f : all_formats) {
    for (std::uint64_t n : {0u, 1u, 2u, 5u, 40u, 300u})
      queries.push_back(first_n(f, n));
    if (f != format::compat_result) {
      queries.push_back(range(f, 3, 6));
      queries.push_back(range(f, 990, 1010));
      queries.push_back(single(f, 7));
      queries.push_back(single(f, 1000));
    }
  }
  for (const fibonacci_query& q : queries) {
    CAPTURE(static_cast<int>(q.shape));
    CAPTURE(static_cast<int>(q.format));
    CAPTURE(q.from);
    CAPTURE(q.count);
    const std::string whole = render_all(q);
    const std::size_t longest = fibonacci_value(q.count == 0 ? 0 : q.last()).size();
    for (std::size_t budget : {0u, 1u, 2u, 3u, 7u, 64u, 1000u}) {
      CAPTURE(budget);
      CHECK(in_pieces(q, budget, longest) == whole);
    }
  }
}

TEST_CASE("fibonacci render: an empty body is complete at once and render returns false") {
  fibonacci_renderer r{first_n(format::text_lines, 0)};
  std::string out;
  CHECK_FALSE(r.render(out, 100));
  CHECK(out.empty());
  CHECK(r.done());
}

TEST_CASE("fibonacci render: render appends after what out already holds") {
  fibonacci_renderer r{first_n(format::text_spaces, 5)};
  std::string out = "head:";
  CHECK(r.render(out, 1000));
  CHECK(out == "head:0 1 1 2 3\n");
  CHECK(r.done());
}

TEST_CASE("fibonacci render: queries no route asks are refused with invalid_argument") {
  const std::vector<fibonacci_query> bad = {
      {shape::first_n, format::json, 1, 5},         // first n starts at 0
      {shape::range, format::json, 3, 0},           // an empty range
      {shape::single, format::json, 7, 0},          // single is one number
      {shape::single, format::json, 7, 2},          //
      {shape::range, format::compat_result, 3, 4},  // compat_result is first n only
      {shape::single, format::compat_result, 7, 1},
  };
  for (const fibonacci_query& q : bad) {
    CAPTURE(static_cast<int>(q.shape));
    CAPTURE(q.count);
    CHECK_THROWS_AS(fibonacci_renderer{q}, std::invalid_argument);
    CHECK_THROWS_AS(render_all(q), std::invalid_argument);
  }
}

TEST_CASE("fibonacci render: an index past max_fibonacci_index is refused with out_of_range") {
  constexpr std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  const std::vector<fibonacci_query> bad = {
      first_n(format::json, max_fibonacci_index + 2),
      range(format::json, max_fibonacci_index, max_fibonacci_index + 1),
      single(format::text_spaces, max_fibonacci_index + 1),
      {shape::range, format::json, 10, huge},  // from + count wraps
      single(format::json, huge),
  };
  for (const fibonacci_query& q : bad) {
    CAPTURE(q.from);
    CAPTURE(q.count);
    CHECK_THROWS_AS(fibonacci_renderer{q}, std::out_of_range);
  }
}

TEST_CASE("fibonacci render: the default limit's largest answer fits in 64 MiB") {
  // The formula against Python's sizes first, so the property below rests on something checked.
  CHECK(json_body_size(R"({"sequence":"fibonacci","n":3000,"numbers":[)", 0, 3000) == 943629);
  CHECK(json_body_size(R"({"sequence":"fibonacci","n":25000,"numbers":[)", 0, 25000) == 65334837);
  CHECK(json_body_size(R"({"sequence":"fibonacci","n":25337,"numbers":[)", 0, 25337) == 67107778);

  // The largest answers the default allows: the first n, and the range 0 .. n - 1, whose
  // opening is a few bytes longer. The text formats write the same digits with fewer bytes
  // around them.
  constexpr std::uint64_t n = default_max_fibonacci;
  constexpr std::uint64_t limit = 64ull * 1024 * 1024;
  const std::string first =
      R"({"sequence":"fibonacci","n":)" + std::to_string(n) + R"(,"numbers":[)";
  const std::string whole_range =
      R"({"sequence":"fibonacci","from":0,"to":)" + std::to_string(n - 1) + R"(,"numbers":[)";
  CHECK(json_body_size(first, 0, n) <= limit);
  CHECK(json_body_size(whole_range, 0, n) <= limit);
  // And the default is not needlessly small: 2% more would pass 95% of the limit.
  CHECK(json_body_size(first, 0, n + n / 50) > limit * 95 / 100);
}
