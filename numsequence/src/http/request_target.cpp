#include "numsequence/http/request_target.hpp"

#include <uriparser/Uri.h>

#include <new>

namespace numsequence {
namespace {

/// Frees a parsed UriUriA however the function returns.
class uri_holder {
 public:
  uri_holder() = default;
  uri_holder(const uri_holder&) = delete;
  uri_holder& operator=(const uri_holder&) = delete;
  ~uri_holder() { uriFreeUriMembersA(&uri_); }
  UriUriA* get() noexcept { return &uri_; }

 private:
  UriUriA uri_{};
};

std::string_view text(const UriTextRangeA& range) {
  if (range.first == nullptr || range.afterLast == nullptr)
    return {};
  return {range.first, static_cast<std::size_t>(range.afterLast - range.first)};
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

}  // namespace

std::optional<request_target> parse_request_target(std::string_view target) {
  if (target == "*")
    return request_target{"*", {}};
  // An origin-form target is parsed behind a placeholder authority: on its own, `//a/b`
  // would read as a network-path reference with host `a`, while in a request line it is the
  // path `//a/b` (RFC 9112 3.2.1).
  const bool origin_form = !target.empty() && target.front() == '/';
  std::string text_to_parse;
  if (origin_form)
    text_to_parse = "http://origin";
  text_to_parse.append(target);

  uri_holder uri;
  const char* error_position = nullptr;
  const char* first = text_to_parse.data();
  const int parsed_ok =
      uriParseSingleUriExA(uri.get(), first, first + text_to_parse.size(), &error_position);
  if (parsed_ok == URI_ERROR_MALLOC)
    throw std::bad_alloc();
  if (parsed_ok != URI_SUCCESS)
    return std::nullopt;
  const UriUriA& parsed = *uri.get();
  const std::string_view scheme = text(parsed.scheme);
  if (!equals_ignoring_case(scheme, "http") && !equals_ignoring_case(scheme, "https"))
    return std::nullopt;
  if (parsed.hostText.first == nullptr || parsed.fragment.first != nullptr)
    return std::nullopt;

  request_target out;
  out.query = std::string(text(parsed.query));
  const int normalized = uriNormalizeSyntaxExA(uri.get(), URI_NORMALIZE_PATH);
  if (normalized == URI_ERROR_MALLOC)
    throw std::bad_alloc();
  if (normalized != URI_SUCCESS)
    return std::nullopt;
  for (const UriPathSegmentA* segment = parsed.pathHead; segment != nullptr;
       segment = segment->next) {
    out.path += '/';
    out.path.append(text(segment->text));
  }
  if (out.path.empty())
    out.path = "/";
  return out;
}

}  // namespace numsequence
