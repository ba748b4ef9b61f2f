#include "numsequence/client/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "numsequence/protocol/message.hpp"

namespace numsequence {
namespace {

// Version 2 added the `sequence` line and `have` lines; a version 1 file is a random session.
constexpr std::string_view magic_prefix = "numsequence-client-state ";
constexpr std::string_view magic = "numsequence-client-state 2";

md5_digest md5_of(std::string_view text) {
  md5_digest d{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), d.data(), &len, EVP_md5(), nullptr) != 1 ||
      len != d.size()) {
    throw state_file_error("MD5 failed while checking the state file");
  }
  return d;
}

template <class T>
bool parse_decimal(std::string_view text, T& out) {
  if (text.empty() || text.size() > 10)
    return false;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// Reads the state text line by line, naming the line of any problem.
class line_reader {
 public:
  explicit line_reader(std::string_view text) : text_(text) {}

  bool at_end() const noexcept { return pos_ >= text_.size(); }
  std::size_t line_number() const noexcept { return line_; }
  std::size_t offset() const noexcept { return pos_; }

  std::string_view next() {
    ++line_;
    if (at_end())
      fail("unexpected end of file");
    const auto nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos)
      fail("last line is not terminated (file truncated?)");
    const auto line = text_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return line;
  }

  /// A line "<key> <value>"; returns the value.
  std::string_view field(std::string_view key) {
    const auto line = next();
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
      fail("expected '" + std::string(key) + " <value>'");
    }
    return line.substr(key.size() + 1);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw state_file_error("line " + std::to_string(line_) + ": " + what);
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 0;
};

}  // namespace

client_state client_state::fresh(const client_id& id, std::uint32_t n, std::uint32_t batch,
                                 sequence_kind kind) {
  client_state s;
  s.id = id;
  s.n = n;
  s.batch = batch;
  s.kind = kind;
  if (kind == sequence_kind::random)
    s.numbers.assign(n, 0);
  s.have.assign(s.batch_count(), false);
  return s;
}

std::uint32_t client_state::batch_count() const noexcept {
  return static_cast<std::uint32_t>((std::uint64_t{n} + batch - 1) / batch);
}

std::uint32_t client_state::batches_received() const noexcept {
  return static_cast<std::uint32_t>(std::count(have.begin(), have.end(), true));
}

std::uint32_t client_state::batch_size(std::uint32_t k) const noexcept {
  const std::uint32_t begin = batch_begin(k);
  return std::min(batch, n - begin);
}

namespace {

/// `have <k>` or `have <k>-<last>` for each run of batches received.
void append_have_lines(std::string& out, const client_state& state) {
  const std::uint32_t count = state.batch_count();
  for (std::uint32_t k = 0; k < count;) {
    if (!state.have[k]) {
      ++k;
      continue;
    }
    std::uint32_t last = k;
    while (last + 1 < count && state.have[last + 1])
      ++last;
    out += "have " + std::to_string(k);
    if (last != k)
      out += "-" + std::to_string(last);
    out += '\n';
    k = last + 1;
  }
}

}  // namespace

std::string format_state(const client_state& state) {
  std::string out;
  out.reserve(160 + state.numbers.size() * 11);
  out += magic;
  out += "\nid ";
  out += state.id.view();
  out += "\nn " + std::to_string(state.n);
  out += "\nbatch-size " + std::to_string(state.batch);
  out += "\nsequence ";
  out += kind_name(state.kind);
  out += "\nacknowledged ";
  out += state.acknowledged ? "1" : "0";
  out += "\nserver-checksum ";
  out += state.server_checksum ? to_hex(*state.server_checksum) : "none";
  out += '\n';
  if (state.kind == sequence_kind::fibonacci) {
    append_have_lines(out, state);
    out += "digest " + to_hex(md5_of(out)) + '\n';
    return out;
  }
  char digits[16];
  for (std::uint32_t k = 0; k < state.batch_count(); ++k) {
    if (!state.have[k])
      continue;
    out += "data " + std::to_string(k) + ' ';
    const std::uint32_t begin = state.batch_begin(k);
    for (std::uint32_t i = 0; i < state.batch_size(k); ++i) {
      if (i != 0)
        out += ':';
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, state.numbers[begin + i]);
      out.append(digits, end);
    }
    out += '\n';
  }
  out += "digest " + to_hex(md5_of(out)) + '\n';
  return out;
}

namespace {

/// The format version of the first line: 1 or 2.
int parse_version(line_reader& in) {
  const auto line = in.next();
  if (line == std::string(magic_prefix) + "1")
    return 1;
  if (line != magic)
    in.fail("not a numsequence client state file (or a version this client does not read)");
  return 2;
}

/// The lines before the batches: magic, id, n, batch size, sequence (version 2),
/// acknowledged, server checksum.
client_state parse_header(line_reader& in) {
  const int version = parse_version(in);
  const auto id = client_id::parse(in.field("id"));
  if (!id)
    in.fail("invalid client id");
  std::uint32_t n = 0;
  std::uint32_t batch = 0;
  if (!parse_decimal(in.field("n"), n) || n > max_count)
    in.fail("invalid n");
  if (!parse_decimal(in.field("batch-size"), batch) || batch == 0 || batch > max_batch) {
    in.fail("invalid batch size");
  }
  sequence_kind kind = sequence_kind::random;  // all that version 1 knew
  if (version >= 2) {
    const auto parsed = parse_kind_name(in.field("sequence"));
    if (!parsed)
      in.fail("sequence must be random or fibonacci");
    kind = *parsed;
  }
  client_state s = client_state::fresh(*id, n, batch, kind);
  const auto ack = in.field("acknowledged");
  if (ack != "0" && ack != "1")
    in.fail("acknowledged must be 0 or 1");
  s.acknowledged = ack == "1";
  const auto fac = in.field("server-checksum");
  if (fac != "none") {
    s.server_checksum = md5_from_hex(fac);
    if (!s.server_checksum)
      in.fail("invalid server checksum");
  }
  return s;
}

/// `<k> <a>:<b>:…` (a data line after its key): stores batch k into `s`.
void parse_batch(line_reader& in, std::string_view rest, client_state& s) {
  const auto space = rest.find(' ');
  std::uint32_t k = 0;
  if (space == std::string_view::npos || !parse_decimal(rest.substr(0, space), k) ||
      k >= s.batch_count()) {
    in.fail("invalid batch index");
  }
  if (s.have[k])
    in.fail("batch " + std::to_string(k) + " appears twice");
  auto numbers = rest.substr(space + 1);
  const std::uint32_t begin = s.batch_begin(k);
  const std::uint32_t count = s.batch_size(k);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto colon = numbers.find(':');
    const auto item = numbers.substr(0, colon);
    if (!parse_decimal(item, s.numbers[begin + i]))
      in.fail("invalid number in batch");
    if ((colon == std::string_view::npos) != (i + 1 == count)) {
      in.fail("batch " + std::to_string(k) + " does not hold " + std::to_string(count) +
              " numbers");
    }
    numbers = colon == std::string_view::npos ? std::string_view{} : numbers.substr(colon + 1);
  }
  s.have[k] = true;
}

/// `<k>` or `<k>-<last>` (a have line after its key): marks those batches received.
void parse_have(line_reader& in, std::string_view rest, client_state& s) {
  const auto dash = rest.find('-');
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  if (!parse_decimal(rest.substr(0, dash), first) ||
      (dash != std::string_view::npos && !parse_decimal(rest.substr(dash + 1), last))) {
    in.fail("invalid batch range");
  }
  if (dash == std::string_view::npos)
    last = first;
  if (first > last || last >= s.batch_count())
    in.fail("invalid batch range");
  for (std::uint32_t k = first; k <= last; ++k) {
    if (s.have[k])
      in.fail("batch " + std::to_string(k) + " appears twice");
    s.have[k] = true;
  }
}

/// One line after the header: a batch, as its kind keeps them.
void parse_batch_line(line_reader& in, std::string_view line, client_state& s) {
  if (s.kind == sequence_kind::fibonacci) {
    if (!line.starts_with("have "))
      in.fail("expected 'have <k>[-<last>]' or 'digest <md5>'");
    parse_have(in, line.substr(5), s);
    return;
  }
  if (!line.starts_with("data "))
    in.fail("expected 'data <k> <numbers>' or 'digest <md5>'");
  parse_batch(in, line.substr(5), s);
}

}  // namespace

client_state parse_state(std::string_view text) {
  line_reader in(text);
  client_state s = parse_header(in);
  for (;;) {
    const std::size_t line_start = in.offset();
    const auto line = in.next();
    if (line.starts_with("digest ")) {
      const auto expected = md5_from_hex(line.substr(7));
      if (!expected)
        in.fail("invalid digest");
      if (*expected != md5_of(text.substr(0, line_start))) {
        in.fail("digest does not match the contents (the file was truncated or edited)");
      }
      if (!in.at_end())
        in.fail("bytes after the digest line");
      return s;
    }
    parse_batch_line(in, line, s);
  }
}

void save_state(const std::filesystem::path& path, const client_state& state) {
  write_file_atomically(path, format_state(state));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  // A name of this process's own: two clients pointed at one state file must not write
  // into each other's temporary file (the last rename wins, whole).
  std::filesystem::path tmp = path;
  tmp += "." + std::to_string(::getpid()) + ".tmp";
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw state_file_error("cannot write state file " + path.string() + ": " + what + ": " +
                           std::strerror(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail("open");
  std::size_t written = 0;
  while (written < text.size()) {
    const auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      ::close(fd);
      fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  // fsync before rename: otherwise a power cut can leave the new name on empty data.
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync");
  }
  if (::close(fd) != 0)
    fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail("rename");
  // The rename itself is durable only once the directory is synced.
  auto dir = path.parent_path();
  if (dir.empty())
    dir = ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::optional<std::string> read_file_if_present(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec)
      return std::nullopt;
    throw state_file_error("cannot read state file " + path.string());
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad())
    throw state_file_error("cannot read state file " + path.string());
  return std::move(contents).str();
}

client_state load_state(const std::filesystem::path& path) {
  const auto contents = read_file_if_present(path);
  if (!contents) {
    throw state_file_error("no state file at " + path.string() +
                           " (start a session with NEW first)");
  }
  try {
    return parse_state(*contents);
  } catch (const state_file_error& e) {
    throw state_file_error("state file " + path.string() + " is damaged: " + e.what());
  }
}

}  // namespace numsequence
