// numsequence-client: fetches a number sequence, resuming across dropped connections.

#include <unistd.h>

#include <openssl/rand.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cxxopts.hpp>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "numsequence/client/client.hpp"
#include "numsequence/client/state_file.hpp"
#include "numsequence/client/stream_client.hpp"
#include "numsequence/client/stream_session.hpp"
#include "numsequence/net/tls.hpp"
#include "numsequence/protocol/message.hpp"
#include "numsequence/sequence/fibonacci.hpp"

namespace {

using namespace numsequence;

constexpr const char* examples = R"(
Commands:
  NEW [N] PORT      start a session of N numbers (if N is left out: random, 1-65535,
                    or 1-25000 with --sequence fibonacci)
  CONTINUE PORT     continue the session in the state file
  STREAM HTTP_PORT  type N or A B, get Fibonacci numbers over the server's WebSocket
                    stream (numsequence-client STREAM --help)

Examples:
  numsequence-client NEW 5 5000 --client_id 123e4567-e89b-12d3-a456-426614174000
  numsequence-client NEW 65535 5000 --batch-size 1000
  numsequence-client CONTINUE 5000 --verbose
  numsequence-client NEW 100 5000 --json
  numsequence-client NEW 65535 5000 --server 127.0.0.1:5001 --server 127.0.0.1:5002
  numsequence-client NEW 100 5443 --host localhost --tls --ca ca.pem
  numsequence-client NEW 1000 5000 --sequence fibonacci --batch-size 100
  printf '10\n5 7\n' | numsequence-client STREAM 8080

Exit status: 0 checksum valid, 1 checksum mismatch, 2 usage error or bad state file,
3 the server refused (ERR), 4 gave up after --retries failed attempts (resume with CONTINUE).
)";

enum class command_kind { new_session, continue_session };

struct parsed_command {
  command_kind kind = command_kind::new_session;
  std::optional<std::uint32_t> n;
  std::optional<client_id> id;
  std::uint32_t batch = 5;
  sequence_kind sequence = sequence_kind::random;
  std::uint16_t port = 0;
  client_options options;
  bool verbose = false;
  bool json = false;
};

std::uint32_t parse_count(const std::string& text) {
  const auto n = cli::parse_unsigned<std::uint32_t>(text);
  if (!n || *n > max_count) {
    throw cli::usage_error("invalid N '" + text + "' (expected a whole number from 0 to 65535)");
  }
  return *n;
}

// The option groups, in the order --help shows them (cxxopts would sort them by name).
// NEW and CONTINUE's positional arguments are in the unnamed group: --help does not list
// them (the usage line and the Commands section describe them).
constexpr const char* session_group = "Session";
constexpr const char* connection_group = "Connection";
constexpr const char* output_group = "Output";

// clang-format off
void add_command_options(cxxopts::Options& options) {
  options.add_options()
    ("command", "NEW or CONTINUE", cxxopts::value<std::string>())
    ("arguments", "N and PORT", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"command", "arguments"});
}

void add_session_options(cxxopts::Options& options) {
  options.add_options(session_group)
    ("client_id", "session id, a UUID (default: a random version-4 UUID)",
     cxxopts::value<std::string>())
    ("batch-size", "numbers per batch (NEW only), 1-65535",
     cxxopts::value<std::string>()->default_value("5"))
    ("sequence", "which numbers (NEW only): random, or fibonacci (exact, F(0) .. F(N-1))",
     cxxopts::value<std::string>()->default_value("random"))
    ("state-file", "where progress is kept",
     cxxopts::value<std::string>()->default_value(".numsequence-client-state"));
}

void add_connection_options(cxxopts::Options& options) {
  options.add_options(connection_group)
    ("host", "server address", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("server", "another server, HOST:PORT, tried after PORT when one stops answering "
     "(repeatable; servers must share their sessions, e.g. through Redis)",
     cxxopts::value<std::vector<std::string>>())
    ("retries", "consecutive failed connection attempts before giving up",
     cxxopts::value<std::string>()->default_value("10"))
    ("pipeline", "RECV requests in flight (default 64; 1 with --verbose)",
     cxxopts::value<std::string>())
    ("timeout", "seconds without an answer before a connection counts as lost",
     cxxopts::value<std::string>()->default_value("10"))
    ("tls", "connect with TLS, verifying the server's certificate")
    ("ca", "trust this CA certificate (PEM) for --tls instead of the system's authorities",
     cxxopts::value<std::string>());
}

void add_output_options(cxxopts::Options& options) {
  options.add_options(output_group)
    ("v,verbose", "print the protocol transcript, as the reference client does")
    ("json", "print one JSON object with the outcome instead of text")
    ("h,help", "show this help")
    ("version", "show the version");
}
// clang-format on

/// cxxopts' verdict on the command line; one that cannot be parsed is a usage error.
cxxopts::ParseResult parse_arguments(cxxopts::Options& options, int argc, char** argv) {
  try {
    return options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    // cxxopts takes a negative N for an unknown option: say what was meant.
    std::string message = e.what();
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a.size() > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9') {
        message = "invalid N '" + std::string(a) + "' (expected a whole number from 0 to 65535)";
      }
    }
    throw cli::usage_error(message);
  }
}

/// --help and --version print and exit 0.
void answer_help_and_version(const cxxopts::Options& options, const cxxopts::ParseResult& args) {
  if (args.count("help")) {
    std::cout << options.help({session_group, connection_group, output_group}) << examples;
    std::exit(0);
  }
  if (args.count("version")) {
    std::cout << "numsequence-client " << NUMSEQUENCE_VERSION << '\n';
    std::exit(0);
  }
}

/// NEW [N] PORT or CONTINUE PORT.
void parse_command(const cxxopts::ParseResult& args, parsed_command& cmd) {
  if (!args.count("command"))
    throw cli::usage_error("missing command (NEW, CONTINUE or STREAM)");
  const auto command = args["command"].as<std::string>();
  const auto rest = args.count("arguments") ? args["arguments"].as<std::vector<std::string>>()
                                            : std::vector<std::string>{};
  if (command == "NEW") {
    cmd.kind = command_kind::new_session;
    if (rest.size() == 2) {
      cmd.n = parse_count(rest[0]);
    } else if (rest.size() != 1) {
      throw cli::usage_error("NEW takes [N] PORT");
    }
    cmd.port = cli::parse_port(rest.back());
  } else if (command == "CONTINUE") {
    cmd.kind = command_kind::continue_session;
    if (rest.size() != 1)
      throw cli::usage_error("CONTINUE takes PORT");
    cmd.port = cli::parse_port(rest[0]);
    if (args.count("client_id") || args.count("batch-size") || args.count("sequence")) {
      throw cli::usage_error(
          "--client_id, --batch-size and --sequence belong to NEW; CONTINUE reads them "
          "from the state file");
    }
  } else if (command == "STREAM") {
    // main() hands STREAM its own options only when it comes first.
    throw cli::usage_error("STREAM must come first: numsequence-client STREAM HTTP_PORT [options]");
  } else {
    throw cli::usage_error("unknown command '" + command + "' (expected NEW, CONTINUE or STREAM)");
  }
}

/// The session NEW starts: its id and batch size.
void parse_session_options(const cxxopts::ParseResult& args, parsed_command& cmd) {
  if (args.count("client_id")) {
    cmd.id = client_id::parse(args["client_id"].as<std::string>());
    if (!cmd.id) {
      throw cli::usage_error(
          "invalid --client_id (expected a UUID such as "
          "123e4567-e89b-12d3-a456-426614174000)");
    }
  }
  const auto batch = cli::parse_unsigned<std::uint32_t>(args["batch-size"].as<std::string>());
  if (!batch || *batch == 0 || *batch > max_batch) {
    throw cli::usage_error("invalid --batch-size (expected 1-65535)");
  }
  cmd.batch = *batch;
  const auto sequence = parse_kind_name(args["sequence"].as<std::string>());
  if (!sequence)
    throw cli::usage_error("invalid --sequence (expected random or fibonacci)");
  cmd.sequence = *sequence;
}

/// The servers to try in turn: --host with PORT first, then each --server.
void parse_servers(const cxxopts::ParseResult& args, const parsed_command& cmd, client_options& o) {
  o.servers.push_back({args["host"].as<std::string>(), cmd.port});
  if (!args.count("server"))
    return;
  for (const auto& text : args["server"].as<std::vector<std::string>>()) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      throw cli::usage_error("invalid --server '" + text + "' (expected HOST:PORT)");
    }
    o.servers.push_back({text.substr(0, colon), cli::parse_port(text.substr(colon + 1))});
  }
}

/// How the connections behave: retries, pipeline depth, TLS, timeout.
void parse_connection_options(const cxxopts::ParseResult& args, bool verbose, client_options& o) {
  const auto retries = cli::parse_unsigned<unsigned>(args["retries"].as<std::string>());
  if (!retries || *retries > 1000)
    throw cli::usage_error("invalid --retries (expected 0-1000)");
  o.retries = *retries;
  // The reference's transcript is strictly request/response; keep its order when asked for it.
  o.pipeline = verbose ? 1 : 64;
  if (args.count("pipeline")) {
    const auto depth = cli::parse_unsigned<unsigned>(args["pipeline"].as<std::string>());
    if (!depth || *depth == 0 || *depth > 4096) {
      throw cli::usage_error("invalid --pipeline (expected 1-4096)");
    }
    o.pipeline = *depth;
  }
  o.tls = args.count("tls") > 0;
  if (args.count("ca")) {
    if (!o.tls)
      throw cli::usage_error("--ca needs --tls");
    o.tls_ca = args["ca"].as<std::string>();
  }
  o.io_timeout = cli::parse_seconds("timeout", args["timeout"].as<std::string>());
  if (o.io_timeout == o.io_timeout.zero())
    throw cli::usage_error("--timeout must be above 0");
}

parsed_command parse_command_line(int argc, char** argv) {
  cxxopts::Options options("numsequence-client",
                           "Fetches a number sequence from a numsequence server, resuming "
                           "across dropped connections, and checks its checksum.");
  options.custom_help("[options]");
  options.positional_help("NEW [N] PORT | CONTINUE PORT | STREAM HTTP_PORT");
  add_command_options(options);
  add_session_options(options);
  add_connection_options(options);
  add_output_options(options);

  const cxxopts::ParseResult args = parse_arguments(options, argc, argv);
  answer_help_and_version(options, args);
  // Checked in this order, so that a line with several mistakes names the same one first.
  parsed_command cmd;
  parse_command(args, cmd);
  parse_session_options(args, cmd);
  cmd.verbose = args.count("verbose") > 0;
  cmd.json = args.count("json") > 0;
  parse_servers(args, cmd, cmd.options);
  cmd.options.state_file = args["state-file"].as<std::string>();
  parse_connection_options(args, cmd.verbose, cmd.options);
  return cmd;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

const char* outcome_name(client_outcome o) {
  switch (o) {
    case client_outcome::valid:
      return "valid";
    case client_outcome::mismatch:
      return "mismatch";
    case client_outcome::usage:
      return "usage";
    case client_outcome::refused:
      return "refused";
    case client_outcome::gave_up:
      return "gave_up";
  }
  return "unknown";
}

void print_json(const client_result& r, const parsed_command& cmd) {
  std::ostringstream out;
  out << "{\"client_id\":" << json_string(r.id.view()) << ",\"n\":" << r.n
      << ",\"batch\":" << r.batch << ",\"sequence\":\"" << kind_name(r.kind) << "\",\"outcome\":\""
      << outcome_name(r.outcome) << '"';
  if (r.checksum) {
    // The exact sum as a JSON number: a Fibonacci sum passes 2^53, where a reader that
    // takes JSON numbers as doubles rounds it.
    out << ",\"sum\":" << r.sum << ",\"checksum\":\"" << to_hex(*r.checksum)
        << "\",\"server_checksum\":\"" << to_hex(*r.server_checksum)
        << "\",\"valid\":" << (r.outcome == client_outcome::valid ? "true" : "false");
  }
  if (!r.error.empty())
    out << ",\"error\":" << json_string(r.error);
  out << ",\"reconnects\":" << r.reconnects
      << ",\"state_file\":" << json_string(cmd.options.state_file.string()) << "}\n";
  std::cout << out.str() << std::flush;
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
class progress_bar {
 public:
  void update(std::uint32_t done, std::uint32_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done != total && now - last_ < std::chrono::milliseconds(100))
      return;
    last_ = now;
    constexpr int width = 40;
    const int filled = static_cast<int>(std::uint64_t{done} * width / std::max(total, 1u));
    std::fprintf(stderr, "\r[%.*s%*s] %3u%% %u/%u batches", filled,
                 "########################################", width - filled, "",
                 static_cast<unsigned>(std::uint64_t{done} * 100 / std::max(total, 1u)), done,
                 total);
    shown_ = true;
  }
  ~progress_bar() {
    if (shown_)
      std::fputs("\r\033[K", stderr);
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

/// n for NEW without N: 1-65535, or up to the server's default limit for Fibonacci.
std::uint32_t random_count(sequence_kind kind) {
  std::uint32_t value = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof value) != 1) {
    throw std::runtime_error("the OS random source failed");
  }
  const auto most = kind == sequence_kind::fibonacci
                        ? static_cast<std::uint32_t>(default_max_fibonacci)
                        : max_count;
  return 1 + value % most;
}

int run(parsed_command& cmd) {
  std::optional<progress_bar> bar;
  if (cmd.verbose) {
    // With --json, stdout holds the JSON object alone; the transcript goes to stderr.
    std::ostream& transcript = cmd.json ? std::cerr : std::cout;
    cmd.options.on_transcript = [&transcript](std::string_view line) {
      transcript << line << '\n';
    };
    cmd.options.on_note = [](std::string_view line) { std::cerr << line << '\n'; };
  } else if (!cmd.json && ::isatty(STDERR_FILENO)) {
    bar.emplace();
    cmd.options.on_progress = [&bar](std::uint32_t done, std::uint32_t total) {
      if (total >= 100)
        bar->update(done, total);
    };
  }

  client_result result;
  if (cmd.kind == command_kind::new_session) {
    const client_id id = cmd.id ? *cmd.id : client_id::random();
    if (!cmd.n) {
      cmd.n = random_count(cmd.sequence);
      if (!cmd.json)
        std::cout << "N not given: requesting " << *cmd.n << " numbers\n";
    }
    result = run_new_session(id, *cmd.n, cmd.batch, cmd.options, cmd.sequence);
  } else {
    result = run_continue_session(cmd.options);
  }
  bar.reset();

  if (cmd.json) {
    print_json(result, cmd);
    return static_cast<int>(result.outcome);
  }
  switch (result.outcome) {
    case client_outcome::valid:
    case client_outcome::mismatch:
      std::cout << "The SUM of numbers is: " << result.sum << '\n';
      if (result.outcome == client_outcome::valid) {
        std::cout << "Checksum (" << to_hex(*result.checksum) << ") is valid!\n";
      } else {
        std::cout << "Checksum calculated(" << to_hex(*result.checksum)
                  << ") does not match received (" << to_hex(*result.server_checksum) << ")\n";
      }
      break;
    case client_outcome::refused:
      std::cerr << "numsequence-client: the server refused: " << result.error << '\n';
      break;
    case client_outcome::gave_up:
      std::cerr << "numsequence-client: " << result.error << ".\nProgress is kept in "
                << cmd.options.state_file.string() << "; resume with: numsequence-client CONTINUE "
                << cmd.port << '\n';
      break;
    case client_outcome::usage:
      break;
  }
  std::cout << std::flush;
  return static_cast<int>(result.outcome);
}

// STREAM: the interactive client of the WebSocket stream. Its own options: it has no state
// file, session id, batch or pipeline, and speaks to the HTTP port.

constexpr const char* stream_examples = R"(
Type a line, get the numbers, one per line, then "done count=C md5=M" (MD5 of Python's
str(list) of them, checked against the server's); the next line is read after that.
  N      F(0) ... F(N-1), the first N Fibonacci numbers
  A B    F(A) ... F(B)
A bad line gets a message on stderr and is not sent. A dropped connection is resumed from
the next number not printed. End of input (Ctrl-D) ends the client.

Examples:
  numsequence-client STREAM 8080
  printf '10\n5 7\n' | numsequence-client STREAM 8080 --host 127.0.0.1

Exit status: 0 every line answered and checked, 1 an answer failed its check, 2 usage error,
3 a line was refused (by the client or the server), 4 gave up (server unreachable after
--retries failed attempts, or no WebSocket stream at HTTP_PORT).
)";

// clang-format off
void add_stream_options(cxxopts::Options& options) {
  options.add_options()
    ("command", "STREAM", cxxopts::value<std::string>())
    ("arguments", "HTTP_PORT", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"command", "arguments"});
  options.add_options(connection_group)
    ("host", "server address", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("retries", "consecutive failed connection attempts before giving up",
     cxxopts::value<std::string>()->default_value("10"))
    ("timeout", "seconds without a sign from the server, during an answer, before the "
     "connection counts as lost", cxxopts::value<std::string>()->default_value("10"));
  options.add_options(output_group)
    ("h,help", "show this help");
}
// clang-format on

/// STREAM HTTP_PORT [--host H] [--retries N] [--timeout S].
stream_client_options parse_stream_command(const cxxopts::ParseResult& args) {
  const auto rest = args.count("arguments") ? args["arguments"].as<std::vector<std::string>>()
                                            : std::vector<std::string>{};
  if (rest.size() != 1)
    throw cli::usage_error("STREAM takes HTTP_PORT (the server's --http port)");
  stream_client_options o;
  o.target.port = cli::parse_port(rest[0]);
  if (o.target.port == 0)
    throw cli::usage_error("invalid port '0' (expected 1-65535)");
  o.target.host = args["host"].as<std::string>();
  const auto retries = cli::parse_unsigned<unsigned>(args["retries"].as<std::string>());
  if (!retries || *retries > 1000)
    throw cli::usage_error("invalid --retries (expected 0-1000)");
  o.retries = *retries;
  o.io_timeout = cli::parse_seconds("timeout", args["timeout"].as<std::string>());
  if (o.io_timeout == o.io_timeout.zero())
    throw cli::usage_error("--timeout must be above 0");
  return o;
}

/// One line of stdin without its '\n' (a last line may lack it); nullopt at the end. Only the
/// first max_stream_line + 1 bytes are kept: a longer line is refused all the same.
std::optional<std::string> read_stdin_line() {
  std::string line;
  bool any = false;
  for (int c = std::getc(stdin); c != EOF; c = std::getc(stdin)) {
    any = true;
    if (c == '\n')
      return line;
    if (line.size() <= max_stream_line)
      line += static_cast<char>(c);
  }
  if (!any)
    return std::nullopt;
  return line;
}

/// Where the lines come from and the numbers go; a prompt only when a person types.
void wire_stream_io(stream_client_options& o) {
  const bool terminal = ::isatty(STDIN_FILENO) != 0;
  o.next_line = [terminal, first = true]() mutable {
    if (terminal && std::exchange(first, false))
      std::fputs("Type N for F(0) ... F(N-1), or A B for F(A) ... F(B); Ctrl-D ends.\n", stderr);
    if (terminal)
      std::fputs("> ", stderr);
    auto line = read_stdin_line();
    if (!line && terminal)
      std::fputs("\n", stderr);
    return line;
  };
  o.on_output = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);  // a frame's numbers show as they arrive, in a pipe too
  };
  o.on_message = [](std::string_view line) {
    std::fprintf(stderr, "numsequence-client: %.*s\n", static_cast<int>(line.size()), line.data());
  };
}

int stream_main(int argc, char** argv) {
  cxxopts::Options options("numsequence-client STREAM",
                           "Asks a numsequence server's WebSocket stream for Fibonacci numbers, "
                           "a line at a time, resuming across dropped connections.");
  options.custom_help("[options]");
  options.positional_help("HTTP_PORT");
  add_stream_options(options);
  stream_client_options o;
  try {
    const cxxopts::ParseResult args = parse_arguments(options, argc, argv);
    if (args.count("help")) {
      std::cout << options.help({connection_group, output_group}) << stream_examples;
      return 0;
    }
    o = parse_stream_command(args);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-client: " << e.what()
              << "\nTry 'numsequence-client STREAM --help'.\n";
    return 2;
  }
  wire_stream_io(o);
  try {
    return static_cast<int>(run_stream_client(o));
  } catch (const std::exception& e) {
    std::cerr << "numsequence-client: " << e.what() << '\n';
    return 4;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "STREAM")
    return stream_main(argc, argv);
  parsed_command cmd;
  try {
    cmd = parse_command_line(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-client: " << e.what() << "\nTry 'numsequence-client --help'.\n";
    return 2;
  }
  try {
    return run(cmd);
  } catch (const state_file_error& e) {
    std::cerr << "numsequence-client: " << e.what() << '\n';
    return 2;
  } catch (const tls_error& e) {
    std::cerr << "numsequence-client: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "numsequence-client: " << e.what() << '\n';
    return 4;
  }
}
