// The only source that includes nlohmann/json: it costs seconds to compile.
#include "numsequence/websocket/json_text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

#include "numsequence/websocket/excerpt.hpp"

namespace numsequence {

namespace {

using json = nlohmann::json;
using value_kind = json_value_text::kind;

// A number nlohmann passed as a double: classify it by its text, which it keeps as written.
value_kind classify_number_text(std::string_view text) noexcept {
  if (text.find_first_of(".eE") != std::string_view::npos)
    return value_kind::other_number;
  return !text.empty() && text.front() == '-' ? value_kind::negative_integer
                                              : value_kind::large_integer;
}

std::string json_quoted(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// nlohmann's messages quote input bytes as they are, and a quote can end inside a UTF-8
// sequence: a round trip through its writer (which replaces invalid bytes by U+FFFD) and its
// reader mends that, so the message is valid UTF-8 whatever the input.
std::string mend_utf8(const std::string& s) {
  return json::parse(json_quoted(s)).get<std::string>();
}

// "[json.exception.parse_error.101] parse error at ..." -> "parse error at ...", with the
// parser's quote of the input (which can be the whole input) cut to an excerpt.
std::string parser_message(const std::string& what, const std::string& last_token) {
  std::string message = what;
  if (message.rfind("[json.exception.", 0) == 0) {
    const auto end = message.find("] ");
    if (end != std::string::npos)
      message.erase(0, end + 2);
  }
  if (last_token.size() > 40) {
    const auto at = message.find(last_token);
    if (at != std::string::npos)
      message.replace(at, last_token.size(), excerpt(last_token));
  }
  return mend_utf8(message);
}

// SAX events of the whole document; the values of the wanted top-level members are written
// out as compact text as they stream past. No tree is built.
class member_reader final : public nlohmann::json_sax<json> {
 public:
  explicit member_reader(std::span<const std::string_view> names) : names_(names) {
    result_.values.resize(names.size());
  }

  json_members take() && {
    if (result_.result == json_members::status::ok && !root_is_object_)
      result_.result = json_members::status::not_object;
    return std::move(result_);
  }

  bool null() override {
    scalar(value_kind::null, "null");
    return true;
  }
  bool boolean(bool val) override {
    scalar(value_kind::boolean, val ? "true" : "false");
    return true;
  }
  bool number_integer(number_integer_t val) override {
    // nlohmann passes only numbers written with a minus sign here; 0 can only be "-0".
    scalar(value_kind::negative_integer, val == 0 ? "-0" : std::to_string(val));
    return true;
  }
  bool number_unsigned(number_unsigned_t val) override {
    if (auto* member = scalar(value_kind::unsigned_integer, std::to_string(val)))
      member->number = val;
    return true;
  }
  bool number_float(number_float_t, const string_t& s) override {
    scalar(classify_number_text(s), s);
    return true;
  }
  bool string(string_t& val) override {
    if (auto* member = scalar(value_kind::string, json_quoted(val)))
      member->string = std::move(val);
    return true;
  }
  // Only binary formats (CBOR, MessagePack) produce this; JSON text never does.
  bool binary(binary_t&) override { return true; }

  bool start_object(std::size_t) override { return open(value_kind::object, '{'); }
  bool end_object() override { return close('}'); }
  bool start_array(std::size_t) override { return open(value_kind::array, '['); }
  bool end_array() override { return close(']'); }

  bool key(string_t& val) override {
    if (depth_ == 1)
      return top_level_key(val);
    if (current_ != nullptr) {
      separate();
      current_->text += json_quoted(val);
      current_->text += ':';
      expect_value_ = true;
    }
    return true;
  }

  bool parse_error(std::size_t, const std::string& last_token,
                   const nlohmann::detail::exception& ex) override {
    // id 406: a number too large for a double. As a wanted member's value it is that
    // member's problem, for the caller to name; anywhere else the request is refused.
    if (ex.id == 406 && depth_ == 1 && current_ != nullptr && capture_depth_ == 0) {
      current_->what = classify_number_text(last_token);
      current_->text = last_token;
      result_.stopped_at = current_index_;
      return false;
    }
    result_.result = json_members::status::not_json;
    result_.detail = parser_message(ex.what(), last_token);
    return false;
  }

 private:
  bool top_level_key(const std::string& name) {
    current_ = nullptr;
    const auto it = std::find(names_.begin(), names_.end(), name);
    if (it == names_.end())
      return true;
    current_index_ = static_cast<std::size_t>(it - names_.begin());
    auto& slot = result_.values[current_index_];
    if (slot.has_value()) {
      result_.result = json_members::status::duplicate_member;
      result_.detail = name;
      return false;
    }
    slot.emplace();
    current_ = &*slot;
    return true;
  }

  // A comma before every element of a captured array or object but the first.
  void separate() {
    if (expect_value_) {
      expect_value_ = false;  // a member's value follows its key's colon
      return;
    }
    if (!first_.empty() && !first_.back())
      current_->text += ',';
    if (!first_.empty())
      first_.back() = false;
  }

  // Returns the member whose whole value this scalar is, if any.
  json_value_text* scalar(value_kind what, std::string_view text) {
    if (depth_ == 0) {
      root_is_object_ = false;
      return nullptr;
    }
    if (current_ == nullptr)
      return nullptr;
    if (capture_depth_ == 0) {
      json_value_text* member = std::exchange(current_, nullptr);
      member->what = what;
      member->text.assign(text);
      return member;
    }
    separate();
    current_->text += text;
    return nullptr;
  }

  bool open(value_kind what, char bracket) {
    if (depth_++ == 0) {
      root_is_object_ = what == value_kind::object;
      return true;
    }
    if (current_ == nullptr)
      return true;
    if (capture_depth_++ == 0) {
      current_->what = what;
    } else {
      separate();
    }
    current_->text += bracket;
    first_.push_back(true);
    return true;
  }

  bool close(char bracket) {
    --depth_;
    if (current_ == nullptr || capture_depth_ == 0)
      return true;
    current_->text += bracket;
    first_.pop_back();
    if (--capture_depth_ == 0)
      current_ = nullptr;
    return true;
  }

  std::span<const std::string_view> names_;
  json_members result_;
  bool root_is_object_ = true;
  std::size_t depth_ = 0;               // containers open, the root object counted
  std::size_t capture_depth_ = 0;       // containers open inside the member being captured
  json_value_text* current_ = nullptr;  // the member being captured, if any
  std::size_t current_index_ = 0;       // its index in names_
  std::vector<bool> first_;             // per open captured container: no element written yet
  bool expect_value_ = false;           // a captured object's key was just written
};

}  // namespace

json_members read_json_members(std::string_view text, std::span<const std::string_view> names) {
  // nlohmann's lexer takes a NUL byte for the end of the input, so `{"n":5}\0junk` would pass.
  // JSON text holds none (not even in a string, where it must be escaped): refuse it here.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    json_members m;
    m.result = json_members::status::not_json;
    m.detail = "NUL byte at position " + std::to_string(nul + 1) + ": JSON text cannot hold one";
    m.values.resize(names.size());
    return m;
  }
  member_reader reader(names);
  json::sax_parse(text.begin(), text.end(), &reader);
  return std::move(reader).take();
}

void append_json_string(std::string& out, std::string_view s) {
  out += json_quoted(s);
}

}  // namespace numsequence
