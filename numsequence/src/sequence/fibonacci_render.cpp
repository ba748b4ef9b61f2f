#include "numsequence/sequence/fibonacci_render.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace numsequence {
namespace {

// Refuses what no route asks for, before any number is computed.
const fibonacci_query& checked(const fibonacci_query& q) {
  switch (q.shape) {
    case fibonacci_shape::first_n:
      if (q.from != 0)
        throw std::invalid_argument("Fibonacci first-n answer must start at index 0");
      break;
    case fibonacci_shape::range:
      if (q.count == 0)
        throw std::invalid_argument("Fibonacci range must hold at least one number");
      break;
    case fibonacci_shape::single:
      if (q.count != 1)
        throw std::invalid_argument("Fibonacci single answer must hold exactly one number");
      break;
  }
  if (q.format == fibonacci_format::compat_result && q.shape != fibonacci_shape::first_n)
    throw std::invalid_argument("Fibonacci compat_result format is for the first n only");
  check_fibonacci_range(q.from, q.count);
  return q;
}

std::string json_opening(const fibonacci_query& q) {
  switch (q.shape) {
    case fibonacci_shape::first_n:
      return R"({"sequence":"fibonacci","n":)" + std::to_string(q.count) + R"(,"numbers":[)";
    case fibonacci_shape::range:
      return R"({"sequence":"fibonacci","from":)" + std::to_string(q.from) + R"(,"to":)" +
             std::to_string(q.last()) + R"(,"numbers":[)";
    case fibonacci_shape::single:
      break;
  }
  return R"({"k":)" + std::to_string(q.from) + R"(,"value":)";
}

// About the body's size, to reserve it once: F(k) has about k log10(phi) - log10(sqrt 5) + 1
// digits (never off by more than one), plus a separator per number.
std::size_t estimated_size(const fibonacci_query& q, std::size_t framing) {
  const double count = static_cast<double>(q.count);
  const double index_sum = count * static_cast<double>(q.from) + count * (count - 1) / 2;
  const double digits = 0.20898764024997873 * index_sum + 0.66 * count;
  const double estimate = digits + 2 * count + static_cast<double>(framing);
  // A hint only: an absurd estimate must not become an absurd allocation up front.
  constexpr double cap = 1u << 30;
  return static_cast<std::size_t>(std::min(estimate, cap));
}

}  // namespace

fibonacci_renderer::fibonacci_renderer(const fibonacci_query& q)
    : cursor_(checked(q).from), remaining_(q.count) {
  switch (q.format) {
    case fibonacci_format::json:
      opening_ = json_opening(q);
      separator_ = ",";
      closing_ = q.shape == fibonacci_shape::single ? "}" : "]}";
      break;
    case fibonacci_format::text_spaces:
      separator_ = " ";
      closing_ = "\n";
      break;
    case fibonacci_format::text_lines:
      separator_ = "\n";
      closing_ = q.count == 0 ? "" : "\n";
      break;
    case fibonacci_format::compat_result:
      opening_ = R"({"N":)" + std::to_string(q.count) + R"(,"result":")";
      separator_ = " ";
      closing_ = R"("})";
      break;
  }
}

bool fibonacci_renderer::render(std::string& out, std::size_t budget) {
  const std::size_t start = out.size();
  if (stage_ == stage::opening) {
    out += opening_;
    stage_ = stage::numbers;
  }
  if (stage_ == stage::numbers && remaining_ > 0 && (out.size() < budget || out.size() == start)) {
    remaining_ -= cursor_.append_joined(out, separator_, first_, remaining_, budget);
    first_ = false;
  }
  // The closing is a few bytes: it goes with the last number, so no call appends nothing
  // before the body is complete.
  if (stage_ == stage::numbers && remaining_ == 0) {
    out += closing_;
    stage_ = stage::done;
  }
  return out.size() != start;
}

std::string render_all(const fibonacci_query& q) {
  fibonacci_renderer renderer{q};
  std::string body;
  body.reserve(estimated_size(q, 64));
  while (renderer.render(body, std::numeric_limits<std::size_t>::max())) {
  }
  return body;
}

}  // namespace numsequence
