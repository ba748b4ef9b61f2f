// render_page(): the embedded page filled in byte for byte (values from Python's Fibonacci,
// document 001's F(19) = 4181), hostile text escaped, nothing external, a bounded size.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "numsequence/http/page.hpp"
#include "numsequence/http/request_parser.hpp"
#include "numsequence/http/router.hpp"

using namespace numsequence;

namespace {

std::size_t count_of(std::string_view text, std::string_view part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string_view::npos;
       at = text.find(part, at + part.size()))
    ++n;
  return n;
}

/// `page` with its one occurrence of `from` replaced by `to` (fails the test if there is not
/// exactly one).
std::string replaced_once(std::string page, std::string_view from, std::string_view to) {
  REQUIRE(count_of(page, from) == 1);
  page.replace(page.find(from), from.size(), to);
  return page;
}

route_result page_route(const std::string& target, std::uint64_t max) {
  request_parser p;
  const parse_result r = p.consume("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(r.what == parse_result::kind::request);
  return route(p.request(), {max});
}

// The parts of the template render_page() fills in, as they appear when empty.
constexpr std::string_view empty_num = R"(value="">)";
constexpr std::string_view empty_error = R"(<p id="error" class="error" role="alert"></p>)";
constexpr std::string_view empty_result = R"(<p id="value" class="value" aria-live="polite"></p>)";

}  // namespace

TEST_CASE("http_page: the page without a result is complete, self-contained and under 64 KiB") {
  const std::string page = render_page(page_content{});
  CHECK(page.starts_with("<!DOCTYPE html>\n"));
  CHECK(page.ends_with("</html>\n"));
  CHECK(page.size() < 64 * 1024);
  CHECK(page.find("@@") == std::string::npos);  // every marker filled in
  for (const std::string_view external : {"<script src", " src=", "@import", "url("})
    CHECK_MESSAGE(page.find(external) == std::string::npos, external);
  // The only link: an empty icon, so that browsers do not ask for /favicon.ico.
  CHECK(count_of(page, "<link") == 1);
  CHECK(count_of(page, R"(<link rel="icon" href="data:,">)") == 1);
  // The stylesheet, the MD5 library and the page's script are inlined.
  CHECK(count_of(page, "<style>") == 1);
  CHECK(count_of(page, "<script>") == 2);
  CHECK(page.find("SparkMD5") != std::string::npos);
  CHECK(page.find(R"(<meta name="viewport" content="width=device-width, initial-scale=1">)") !=
        std::string::npos);
  CHECK(count_of(page, empty_num) == 1);
  CHECK(count_of(page, empty_error) == 1);
  CHECK(count_of(page, empty_result) == 1);
}

TEST_CASE("http_page: the limit fills the form's data attribute and the hint") {
  struct row {
    std::uint64_t max;
    std::string attribute;
    std::string hint;
  };
  const std::vector<row> rows{
      {25000, R"(data-max-fibonacci="25000")", "A whole number from 0 to 24999."},
      {1, R"(data-max-fibonacci="1")", "A whole number from 0 to 0."},
      {0, R"(data-max-fibonacci="0")", "This server's limit allows no n."},
      // Clamped as the router clamps it: max_fibonacci_index + 1.
      {std::numeric_limits<std::uint64_t>::max(), R"(data-max-fibonacci="1000000001")",
       "A whole number from 0 to 1000000000."},
  };
  for (const row& r : rows) {
    CAPTURE(r.max);
    const std::string page = render_page(page_content{r.max, std::nullopt, {}});
    CHECK(count_of(page, r.attribute) == 1);
    CHECK(count_of(page, R"(<p id="hint" class="hint">)" + r.hint + "</p>") == 1);
  }
}

TEST_CASE("http_page: num shows F(num) exactly and fills the input, nothing else changes") {
  struct row {
    std::uint64_t num;
    std::string value;  // Python: a, b = b, a + b from 0, 1
  };
  const std::vector<row> rows{
      {0, "0"},
      {1, "1"},
      {19, "4181"},  // document 001's example
      {50, "12586269025"},
      {78, "8944394323791464"},
      {79, "14472334024676221"},  // past 2^53: exact here, unlike a JavaScript number
      {100, "354224848179261915075"},
      {999,
       "268638100244853593861467272021429239676166093189869523401231759976179817002478816893383"
       "696544833565641918278561614433563129766736422103503246348504103776803673341511728991697"
       "23197082763985615764450078474174626"},
  };
  const std::string plain = render_page(page_content{1000, std::nullopt, {}});
  for (const row& r : rows) {
    CAPTURE(r.num);
    const std::string num = std::to_string(r.num);
    std::string expected =
        replaced_once(plain, empty_num, std::string(R"(value=")") + num + R"(">)");
    expected = replaced_once(
        expected, empty_result,
        R"(<p id="value" class="value" aria-live="polite">F()" + num + ") = " + r.value + "</p>");
    CHECK(render_page(page_content{1000, r.num, {}}) == expected);
  }
}

TEST_CASE("http_page: an error is shown HTML-escaped in the alert, without a result") {
  struct row {
    std::string message;
    std::string shown;
  };
  const std::vector<row> rows{
      {R"(parameter "num" must not be negative, got "-2")",
       "parameter &quot;num&quot; must not be negative, got &quot;-2&quot;"},
      {R"(</p><script>alert('x')</script>)",
       "&lt;/p&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
      {R"(" onmouseover="alert(1))", "&quot; onmouseover=&quot;alert(1)"},
      {"&amp; stays text", "&amp;amp; stays text"},
      // A marker in the message is text, not a place to fill in.
      {"@@RESULT@@ @@NUM@@", "@@RESULT@@ @@NUM@@"},
  };
  const std::string plain = render_page(page_content{});
  for (const row& r : rows) {
    CAPTURE(r.message);
    const std::string expected = replaced_once(
        plain, empty_error, R"(<p id="error" class="error" role="alert">)" + r.shown + "</p>");
    // num is ignored with an error: the result and the input stay empty.
    CHECK(render_page(page_content{default_max_fibonacci, 19, r.message}) == expected);
  }
}

TEST_CASE("http_page: a num that is not below the limit throws std::out_of_range") {
  CHECK_THROWS_AS(render_page(page_content{100, 100, {}}), std::out_of_range);
  CHECK_THROWS_AS(render_page(page_content{0, 0, {}}), std::out_of_range);
  CHECK_THROWS_AS(
      render_page(page_content{std::numeric_limits<std::uint64_t>::max(), 1'000'000'001, {}}),
      std::out_of_range);
  CHECK_NOTHROW(render_page(page_content{100, 99, {}}));
}

TEST_CASE("http_page: a page route renders its num or its message") {
  const route_result ok = page_route("/?num=19", 100);
  REQUIRE(ok.kind == route_kind::page);
  CHECK(render_page(ok, 100) == render_page(page_content{100, 19, {}}));

  const route_result plain = page_route("/", 100);
  REQUIRE(plain.kind == route_kind::page);
  CHECK(render_page(plain, 100) == render_page(page_content{100, std::nullopt, {}}));

  const route_result bad = page_route("/?num=-2", 100);
  REQUIRE(bad.kind == route_kind::page);
  REQUIRE(bad.status == 400);
  const std::string page = render_page(bad, 100);
  CHECK(count_of(page,
                 R"(<p id="error" class="error" role="alert">)"
                 "parameter &quot;num&quot; must not be negative, got &quot;-2&quot;</p>") == 1);
  CHECK(count_of(page, empty_result) == 1);
}

TEST_CASE("http_page: append_html_escaped replaces the five special characters only") {
  struct row {
    std::string_view text;
    std::string_view escaped;
  };
  const std::vector<row> rows{
      {"", ""},
      {"plain text 123", "plain text 123"},
      {"&<>\"'", "&amp;&lt;&gt;&quot;&#39;"},
      {"a&&b", "a&amp;&amp;b"},
      {"caf\xc3\xa9 \xe2\x80\xa6", "caf\xc3\xa9 \xe2\x80\xa6"},  // UTF-8 kept as it is
      {std::string_view("nul\0byte", 8), std::string_view("nul\0byte", 8)},
  };
  for (const row& r : rows) {
    CAPTURE(r.text);
    std::string out = "kept:";
    append_html_escaped(out, r.text);
    CHECK(out == "kept:" + std::string(r.escaped));
  }
}
