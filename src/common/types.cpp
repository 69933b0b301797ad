#include "common/types.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <climits>
#include <ctime>

namespace sealscope {

std::string to_string(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.version == 4) {
    inet_ntop(AF_INET, a.bytes, buf, sizeof buf);
  } else if (a.version == 6) {
    inet_ntop(AF_INET6, a.bytes, buf, sizeof buf);
  }
  return buf;
}

bool parse_ip(const std::string& text, IpAddr& out) {
  out = IpAddr{};
  if (inet_pton(AF_INET, text.c_str(), out.bytes) == 1) {
    out.version = 4;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.bytes) == 1) {
    out.version = 6;
    return true;
  }
  return false;
}

std::string human_bytes(uint64_t b) {
  constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string format_rfc3339_us(TimestampUs ts) {
  int64_t secs = ts / 1000000;
  int64_t us = ts % 1000000;
  if (us < 0) {
    us += 1000000;
    --secs;
  }
  // date::format("%FT%TZ", …) gives the same text but builds an ostringstream per call (about 0.8 µs; every
  // record has two). Records of one capture share their seconds often: keep the last
  // "YYYY-MM-DDTHH:MM:SS." per thread.
  thread_local int64_t cached_secs = INT64_MIN;
  thread_local char cached[24];
  if (secs != cached_secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    fmt::format_to_n(cached, sizeof cached, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  std::string out(cached, 20);
  char frac[8] = {static_cast<char>('0' + us / 100000),     static_cast<char>('0' + us / 10000 % 10),
                  static_cast<char>('0' + us / 1000 % 10),  static_cast<char>('0' + us / 100 % 10),
                  static_cast<char>('0' + us / 10 % 10),    static_cast<char>('0' + us % 10), 'Z', 0};
  out.append(frac, 7);
  return out;
}

TimestampUs wall_clock_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<TimestampUs>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace sealscope
