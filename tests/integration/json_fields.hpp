#pragma once
/// @file
/// @brief Just enough JSON reading for the client's flat `--json` object.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace numsequence::integration {

/// @brief The raw value of top-level `"key"` in a flat JSON object: a string's contents
/// (escapes left as they are), or a number / true / false / null as written.
inline std::optional<std::string> json_field(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  std::size_t at = 0;
  auto skip_space = [&] {
    while (at < json.size() && (json[at] == ' ' || json[at] == '\n' || json[at] == '\t')) {
      ++at;
    }
  };
  // The key is the quoted text followed by ':' (the same text may also be a value).
  for (std::size_t from = 0;; from = at) {
    const auto found = json.find(quoted, from);
    if (found == std::string_view::npos) {
      return std::nullopt;
    }
    at = found + quoted.size();
    skip_space();
    if (at < json.size() && json[at] == ':') {
      break;
    }
  }
  ++at;
  skip_space();
  if (at >= json.size()) {
    return std::nullopt;
  }
  if (json[at] == '"') {
    std::size_t end = at + 1;
    while (end < json.size() && json[end] != '"') {
      end += json[end] == '\\' ? std::size_t{2} : std::size_t{1};
    }
    if (end >= json.size()) {
      return std::nullopt;
    }
    return std::string(json.substr(at + 1, end - at - 1));
  }
  const auto end = json.find_first_of(",} \n\t", at);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(json.substr(at, end - at));
}

}  // namespace numsequence::integration
