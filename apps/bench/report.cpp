#include "bench/report.hpp"

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string_view>

namespace numsequence::bench {
namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string json_latency(const latency_histogram& h) {
  auto us = [](std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1000.0, 1); };
  return "{\"count\":" + std::to_string(h.count()) + ",\"mean\":" + fixed(h.mean() / 1000.0, 1) +
         ",\"p50\":" + us(h.percentile(0.50)) + ",\"p90\":" + us(h.percentile(0.90)) +
         ",\"p99\":" + us(h.percentile(0.99)) + ",\"max\":" + us(h.max()) + "}";
}

std::string opt_number(const std::optional<std::uint64_t>& v) {
  return v ? std::to_string(*v) : "null";
}
std::string opt_number(const std::optional<double>& v, int digits) {
  return v ? fixed(*v, digits) : "null";
}

}  // namespace

void print_json(const bench_options& o, const result& r) {
  const auto rate = [&](std::uint64_t count) {
    return fixed(r.elapsed > 0 ? static_cast<double>(count) / r.elapsed : 0.0, 1);
  };
  std::ostringstream j;
  j << "{\"mode\":" << json_string(mode_name(o.mode)) << ",\"connections\":" << o.connections
    << ",\"threads\":" << o.threads << ",\"n\":" << o.n << ",\"batch\":" << o.batch
    << ",\"pipeline\":" << o.pipeline << ",\"test_mode\":" << (o.test_mode ? "true" : "false")
    << ",\"duration_s\":" << fixed(r.elapsed, 3) << ",\"requests\":" << r.st.requests
    << ",\"requests_per_s\":" << rate(r.st.requests) << ",\"recv\":" << r.st.recvs
    << ",\"recv_per_s\":" << rate(r.st.recvs) << ",\"numbers\":" << r.st.numbers
    << ",\"numbers_per_s\":" << rate(r.st.numbers) << ",\"sessions\":" << r.st.sessions
    << ",\"sessions_per_s\":" << rate(r.st.sessions) << ",\"recv_total\":" << r.st.recv_total
    << ",\"latency_us\":" << json_latency(r.st.latency);
  if (o.mode == bench_mode::session)
    j << ",\"session_latency_us\":" << json_latency(r.st.session_latency);
  j << ",\"checksums_verified\":" << r.st.checksums_verified
    << ",\"numbers_checked_against_generator\":" << r.st.numbers_checked
    << ",\"errors\":" << r.st.errors << ",\"first_error\":" << json_string(r.st.first_error)
    << ",\"cut_short\":" << (r.cut_short ? "true" : "false")
    << ",\"bench_cpu_s\":" << opt_number(r.bench_cpu_seconds, 3);
  if (o.mode == bench_mode::hold)
    j << ",\"connections_held\":" << r.connections_held;
  if (r.server) {
    const auto& s = *r.server;
    j << ",\"server\":{\"command\":[";
    for (std::size_t i = 0; i < s.command.size(); ++i)
      j << (i ? "," : "") << json_string(s.command[i]);
    j << "],\"cpu_s\":" << opt_number(s.cpu_seconds, 3)
      << ",\"rss_start_kb\":" << opt_number(s.rss_start_kb)
      << ",\"rss_end_kb\":" << opt_number(s.rss_end_kb)
      << ",\"peak_rss_kb\":" << opt_number(s.peak_rss_kb);
    if (o.mode == bench_mode::hold) {
      j << ",\"rss_held_kb\":" << opt_number(s.rss_held_kb);
      if (s.rss_held_kb && s.rss_start_kb && r.connections_held > 0) {
        const double per =
            (static_cast<double>(*s.rss_held_kb) - static_cast<double>(*s.rss_start_kb)) * 1024.0 /
            r.connections_held;
        j << ",\"rss_growth_per_connection_bytes\":" << fixed(per, 0);
      }
    }
    j << ",\"exit_code\":" << (s.exit_code ? std::to_string(*s.exit_code) : "null") << "}";
  }
  j << "}";
  std::cout << j.str() << std::endl;
}

void print_text(const bench_options& o, const result& r) {
  const auto per_s = [&](std::uint64_t count) {
    return fixed(r.elapsed > 0 ? static_cast<double>(count) / r.elapsed : 0.0, 0);
  };
  const auto us = [](std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1000.0, 1); };
  std::cout << "mode " << mode_name(o.mode) << ", " << o.connections << " connection(s), "
            << o.threads << " thread(s), n " << o.n << ", batch " << o.batch << ", pipeline "
            << o.pipeline << (o.test_mode ? ", test mode" : "") << '\n';
  std::cout << "  window " << fixed(r.elapsed, 3) << " s" << (r.cut_short ? " (cut short)" : "")
            << '\n';
  if (o.mode == bench_mode::pingpong) {
    std::cout << "  round trips/s " << per_s(r.st.requests) << '\n';
  } else if (o.mode != bench_mode::hold) {
    std::cout << "  RECV/s " << per_s(r.st.recvs) << ", numbers/s " << per_s(r.st.numbers)
              << ", requests/s " << per_s(r.st.requests) << '\n';
    if (o.mode == bench_mode::session)
      std::cout << "  sessions/s " << per_s(r.st.sessions) << " (" << r.st.sessions << ")\n";
  }
  const auto& h = r.st.latency;
  if (h.count() > 0) {
    std::cout << "  latency us: p50 " << us(h.percentile(0.5)) << ", p90 " << us(h.percentile(0.9))
              << ", p99 " << us(h.percentile(0.99)) << ", max " << us(h.max()) << '\n';
  }
  std::cout << "  checksums verified " << r.st.checksums_verified;
  if (o.test_mode)
    std::cout << ", numbers checked against the generator " << r.st.numbers_checked;
  std::cout << ", errors " << r.st.errors;
  if (r.st.errors > 0)
    std::cout << " (first: " << r.st.first_error << ")";
  std::cout << '\n';
  if (o.mode == bench_mode::hold)
    std::cout << "  connections held " << r.connections_held << '\n';
  if (r.server) {
    const auto& s = *r.server;
    std::cout << "  server: peak RSS " << opt_number(s.peak_rss_kb) << " KiB";
    if (s.rss_held_kb)
      std::cout << ", RSS with connections held " << *s.rss_held_kb << " KiB (at start "
                << opt_number(s.rss_start_kb) << " KiB)";
    std::cout << ", CPU in window " << opt_number(s.cpu_seconds, 2) << " s\n";
  }
}

}  // namespace numsequence::bench
