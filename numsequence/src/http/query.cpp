#include "numsequence/http/query.hpp"

#include <uriparser/Uri.h>

#include <algorithm>
#include <new>

namespace numsequence {
namespace {

/// Frees the library's list however the function returns.
class query_list_holder {
 public:
  query_list_holder() = default;
  query_list_holder(const query_list_holder&) = delete;
  query_list_holder& operator=(const query_list_holder&) = delete;
  ~query_list_holder() { uriFreeQueryListA(list_); }
  UriQueryListA** out() noexcept { return &list_; }
  const UriQueryListA* get() const noexcept { return list_; }

 private:
  UriQueryListA* list_ = nullptr;
};

bool holds_encoded_nul(std::string_view raw) noexcept {
  for (std::size_t at = raw.find('%'); at != std::string_view::npos; at = raw.find('%', at + 1)) {
    if (raw.substr(at + 1, 2) == "00")
      return true;
  }
  return false;
}

}  // namespace

std::optional<query_parameters> parse_query(std::string_view raw) {
  query_parameters out;
  if (raw.empty())
    return out;
  if (holds_encoded_nul(raw))
    return std::nullopt;
  query_list_holder list;
  int items = 0;
  // uriDissectQueryMallocA reads `+` as a space and leaves line breaks alone.
  const int rc = uriDissectQueryMallocA(list.out(), &items, raw.data(), raw.data() + raw.size());
  if (rc == URI_ERROR_MALLOC)
    throw std::bad_alloc();
  if (rc != URI_SUCCESS)
    return std::nullopt;
  out.reserve(static_cast<std::size_t>(std::max(items, 0)));
  for (const UriQueryListA* item = list.get(); item != nullptr; item = item->next) {
    query_parameter p;
    p.key = item->key != nullptr ? item->key : "";
    p.has_value = item->value != nullptr;
    if (p.has_value)
      p.value = item->value;
    out.push_back(std::move(p));
  }
  return out;
}

std::size_t count_parameter(const query_parameters& parameters, std::string_view key) noexcept {
  return static_cast<std::size_t>(std::count_if(parameters.begin(), parameters.end(),
                                                [key](const auto& p) { return p.key == key; }));
}

const query_parameter* find_parameter(const query_parameters& parameters,
                                      std::string_view key) noexcept {
  const auto it = std::find_if(parameters.begin(), parameters.end(),
                               [key](const auto& p) { return p.key == key; });
  return it == parameters.end() ? nullptr : &*it;
}

}  // namespace numsequence
