// numsequence-bench-web: the HTTP and WebSocket side of the server, measured from a client
// that checks what it is sent (bench/http-compare runs it).
//
//   --mode http     GET the target (default /v1/fibonacci?n=N) --rounds times on one
//                   keep-alive connection: time to the last byte of each body
//   --mode ws       one WebSocket on /v1/stream, --rounds requests for the first N one after
//                   another: time from the request to the done frame
//   --mode ws-many  --connections WebSockets opened and upgraded, then every one asks for the
//                   first N at once: time to the last done frame, every answer checked
//
// Every answer is checked after its clock stops: an HTTP body against --expect-md5; every
// WebSocket answer's frames (their order, indices and numbers, the count) and its md5, which
// must equal the MD5 of the numbers received and --expect-md5 when given. A wrong answer is
// a failure (exit 1), not a figure.

#include <algorithm>
#include <cstdio>
#include <cxxopts.hpp>
#include <exception>
#include <iostream>
#include <sstream>

#include "bench/web_run.hpp"
#include "cli.hpp"

namespace {

using namespace numsequence;
using namespace numsequence::bench::web;

constexpr const char* modes_help = R"(
Modes:
  http     GET the target --rounds times on one keep-alive connection: time to the last
           byte of each body
  ws       one WebSocket on /v1/stream, --rounds requests for the first N one after another:
           time from the request to the done frame
  ws-many  --connections WebSockets opened and upgraded, then all ask for the first N at
           once: time to the last done frame; with --server-pid, the server's RSS and CPU

Every answer is checked after its clock stops; a wrong one fails the run.
Exit status: 0 ok, 1 a failed check, a refused connection or a timeout, 2 usage error.
)";

template <class T>
T unsigned_option(const cxxopts::ParseResult& args, const char* name, T low, T high) {
  const auto text = args[name].as<std::string>();
  const auto value = cli::parse_unsigned<T>(text);
  if (!value || *value < low || *value > high)
    throw cli::usage_error("invalid value '" + text + "' for --" + name + " (expected " +
                           std::to_string(low) + "-" + std::to_string(high) + ")");
  return *value;
}

web_options parse(int argc, char** argv) {
  cxxopts::Options options("numsequence-bench-web",
                           "HTTP and WebSocket answers of numsequence-server, timed and checked");
  // clang-format off
  options.add_options()
    ("mode", "http, ws or ws-many", cxxopts::value<std::string>()->default_value("ws"))
    ("host", "server address", cxxopts::value<std::string>()->default_value("127.0.0.1"))
    ("port", "the server's HTTP port", cxxopts::value<std::string>())
    ("target", "http: the request target (default /v1/fibonacci?n=N)", cxxopts::value<std::string>())
    ("numbers", "N: the first N Fibonacci numbers (--n works too)",
     cxxopts::value<std::string>()->default_value("25000"))
    ("rounds", "http, ws: answers fetched one after another", cxxopts::value<std::string>()->default_value("3"))
    ("connections", "ws-many: WebSockets at once", cxxopts::value<std::string>()->default_value("1000"))
    ("expect-md5", "http: the body's MD5; ws, ws-many: the numbers' list MD5", cxxopts::value<std::string>())
    ("server-pid", "read the server's RSS and CPU time from /proc", cxxopts::value<std::string>())
    ("memory", "bytes of answers kept at once (an estimate): made ready before the clocks start",
     cxxopts::value<std::string>()->default_value("0"))
    ("timeout", "seconds the whole run may take", cxxopts::value<std::string>()->default_value("120"))
    ("json", "one JSON object on stdout")
    ("h,help", "this help");
  // clang-format on
  std::vector<std::string> spelled;
  std::vector<char*> args_in;
  for (int i = 0; i < argc; ++i) {  // cxxopts takes one-letter long options for short ones
    const std::string a = argv[i];
    spelled.push_back(a == "--n"              ? "--numbers"
                      : a.starts_with("--n=") ? "--numbers" + a.substr(3)
                                              : a);
  }
  for (auto& s : spelled)
    args_in.push_back(s.data());
  cxxopts::ParseResult args;
  try {
    args = options.parse(static_cast<int>(args_in.size()), args_in.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw cli::usage_error(e.what());
  }
  if (args.count("help") != 0) {
    std::cout << options.help() << modes_help;
    std::exit(0);
  }
  web_options o;
  o.mode = args["mode"].as<std::string>();
  if (o.mode != "http" && o.mode != "ws" && o.mode != "ws-many")
    throw cli::usage_error("--mode must be http, ws or ws-many");
  if (args.count("port") == 0)
    throw cli::usage_error("--port is required");
  o.port = cli::parse_port(args["port"].as<std::string>());
  o.host = args["host"].as<std::string>();
  if (args.count("target") != 0)
    o.target = args["target"].as<std::string>();
  o.n = unsigned_option<std::uint64_t>(args, "numbers", 0, 1'000'000);
  o.rounds = unsigned_option<unsigned>(args, "rounds", 1, 1000);
  o.connections = unsigned_option<unsigned>(args, "connections", 1, 100'000);
  if (args.count("expect-md5") != 0) {
    o.expect_md5 = md5_from_hex(args["expect-md5"].as<std::string>());
    if (!o.expect_md5)
      throw cli::usage_error("--expect-md5 needs 32 lower-case hex digits");
  }
  if (args.count("server-pid") != 0)
    o.server_pid = unsigned_option<pid_t>(args, "server-pid", 1, 1 << 30);
  o.timeout = std::chrono::duration<double>(
                  cli::parse_seconds("timeout", args["timeout"].as<std::string>()))
                  .count();
  o.memory = unsigned_option<std::size_t>(args, "memory", 0, std::size_t{16} << 30);
  o.json = args.count("json") != 0;
  return o;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 != 0 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

template <class T>
void field(std::ostringstream& out, const char* name, const std::optional<T>& v) {
  if (v)
    out << ",\"" << name << "\":" << *v;
}

std::string json(const web_options& o, const web_result& r) {
  std::ostringstream out;
  out << "{\"mode\":\"" << o.mode << "\",\"n\":" << o.n << ",\"bytes\":" << r.bytes
      << ",\"frames\":" << r.frames << ",\"md5\":\"" << r.md5 << "\"";
  if (o.mode != "ws-many") {
    out << ",\"seconds\":[";
    for (std::size_t i = 0; i < r.round_seconds.size(); ++i)
      out << (i == 0 ? "" : ",") << number(r.round_seconds[i]);
    out << "],\"median_s\":" << number(median(r.round_seconds))
        << ",\"first_s\":" << number(r.round_seconds.front()) << ",\"later_median_s\":"
        << number(median(
               std::vector<double>(r.round_seconds.begin() + (r.round_seconds.size() > 1 ? 1 : 0),
                                   r.round_seconds.end())))
        << ",\"min_s\":"
        << number(*std::min_element(r.round_seconds.begin(), r.round_seconds.end()))
        << ",\"median_mb_s\":"
        << number(static_cast<double>(r.bytes) / median(r.round_seconds) / 1e6);
  } else {
    out << ",\"connections\":" << o.connections << ",\"answers_checked\":" << r.answers_checked
        << ",\"connect_s\":" << number(r.connect_seconds)
        << ",\"stream_s\":" << number(r.stream_seconds)
        << ",\"total_s\":" << number(r.connect_seconds + r.stream_seconds)
        << ",\"answer_p50_s\":" << number(median(r.answer_seconds)) << ",\"answer_max_s\":"
        << number(*std::max_element(r.answer_seconds.begin(), r.answer_seconds.end()));
  }
  field(out, "server_rss_before_kb", r.server_rss_before_kb);
  field(out, "server_rss_during_kb", r.server_rss_during_kb);
  field(out, "server_peak_rss_kb", r.server_peak_rss_kb);
  if (r.server_cpu_seconds)
    out << ",\"server_cpu_s\":" << number(*r.server_cpu_seconds);
  if (r.bench_cpu_seconds)
    out << ",\"bench_cpu_s\":" << number(*r.bench_cpu_seconds);
  out << "}";
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  web_options o;
  try {
    o = parse(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-bench-web: " << e.what() << "\nTry 'numsequence-bench-web --help'.\n";
    return 2;
  }
  try {
    const web_result r = o.mode == "http" ? run_http(o)
                         : o.mode == "ws" ? run_ws(o)
                                          : run_ws_many(o);
    const std::string line = json(o, r);
    if (o.json)
      std::cout << line << '\n';
    else
      std::cout << o.mode << " n=" << o.n << ": " << line << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "numsequence-bench-web: " << e.what() << '\n';
    return 1;
  }
}
