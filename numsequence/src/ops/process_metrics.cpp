#include "numsequence/ops/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace numsequence {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<std::uint64_t> to_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

/// The fields of /proc/self/stat (proc(5)) from field 3 (state) on: the command name
/// before them is in parentheses and may itself hold spaces and parentheses.
std::vector<std::string> stat_fields_after_name(const std::string& stat) {
  const auto close = stat.rfind(')');
  if (close == std::string::npos)
    return {};
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;)
    fields.push_back(std::move(f));
  return fields;
}

/// The boot time from /proc/stat's `btime` line, in seconds since the epoch.
std::optional<std::uint64_t> boot_time() {
  const auto stat = read_file("/proc/stat");
  if (!stat)
    return std::nullopt;
  std::istringstream lines(*stat);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("btime "))
      return to_number(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

double open_descriptors() {
  std::error_code ec;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  return count;
}

double descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 0;
  return static_cast<double>(limit.rlim_cur);
}

}  // namespace

std::optional<process_stats> read_process_stats() {
  const auto stat = read_file("/proc/self/stat");
  const auto boot = boot_time();
  if (!stat || !boot)
    return std::nullopt;
  // proc(5) numbers the fields from 1; fields[0] here is field 3.
  const auto fields = stat_fields_after_name(*stat);
  const auto field = [&](std::size_t number) -> std::optional<std::uint64_t> {
    return number - 3 < fields.size() ? to_number(fields[number - 3]) : std::nullopt;
  };
  const auto utime = field(14), stime = field(15), start = field(22);
  const auto vsize = field(23), rss = field(24);
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (!utime || !stime || !start || !vsize || !rss || ticks <= 0 || page <= 0)
    return std::nullopt;
  const auto tick_seconds = 1.0 / static_cast<double>(ticks);
  process_stats s;
  s.cpu_seconds = static_cast<double>(*utime + *stime) * tick_seconds;
  s.start_time_seconds = static_cast<double>(*boot) + static_cast<double>(*start) * tick_seconds;
  s.virtual_memory_bytes = static_cast<double>(*vsize);
  s.resident_memory_bytes = static_cast<double>(*rss) * static_cast<double>(page);
  s.open_fds = open_descriptors();
  s.max_fds = descriptor_limit();
  return s;
}

}  // namespace numsequence
