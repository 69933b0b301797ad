#include "common/local_time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <exception>

namespace sealscope {

const date::time_zone* find_zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::string unknown_zone_message(const std::string& name) {
  return "unknown time zone '" + name + "' (expected an IANA name like Europe/Berlin; see tzselect(8))";
}

LocalClock local_clock(const date::time_zone* tz, TimestampUs ts) {
  using namespace std::chrono;
  // The capture reader keeps frame times within 1970..9999, but this takes any 64-bit time, and adding a
  // zone's offset to one near the ends of int64 would overflow. ±2^60 µs is ±36,000 years.
  constexpr TimestampUs kLimit = TimestampUs{1} << 60;
  ts = std::clamp(ts, -kLimit, kLimit);
  const date::sys_time<microseconds> st{microseconds{ts}};
  const date::local_time<microseconds> lt =
      tz != nullptr ? tz->to_local(st) : date::local_time<microseconds>{st.time_since_epoch()};
  const auto day = date::floor<date::days>(lt);
  LocalClock c;
  c.weekday = (date::weekday{day}.c_encoding() + 6) % 7;  // c_encoding: 0 = Sunday
  c.minute = static_cast<uint32_t>(date::floor<minutes>(lt - day).count());
  return c;
}

}  // namespace sealscope
