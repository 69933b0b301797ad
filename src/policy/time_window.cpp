#include "policy/time_window.hpp"

#include <cstdio>

namespace sealscope::policy {

namespace {
constexpr const char* kDayNames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
}  // namespace

bool TimeWindow::contains(TimestampUs ts) const {
  if (empty()) return false;
  if (always()) return true;
  const LocalClock c = local_clock(tz, ts);
  const unsigned wd = c.weekday;
  const uint32_t m = c.minute;
  const bool today = (days >> wd) & 1;
  if (start_min < end_min) return today && m >= start_min && m < end_min;
  const bool yesterday = (days >> ((wd + 6) % 7)) & 1;
  return (today && m >= start_min) || (yesterday && m < end_min);
}

bool TimeWindow::covers(const TimeWindow& o) const {
  if (always()) return true;
  if (o.empty()) return true;
  if (tz_name != o.tz_name) return false;
  const bool in_days = (days & o.days) == o.days;
  const bool cross = end_min <= start_min, ocross = o.end_min <= o.start_min;
  if (cross == ocross) return in_days && start_min <= o.start_min && o.end_min <= end_min;
  if (cross) {
    // o lies within [start, 24:00) of a listed day, or within [0, end) of the day after a listed day.
    const uint8_t next = static_cast<uint8_t>(((days << 1) | (days >> 6)) & 0x7F);
    return (in_days && o.start_min >= start_min) || ((next & o.days) == o.days && o.end_min <= end_min);
  }
  return false;
}

std::string TimeWindow::describe() const {
  std::string d;
  for (int i = 0; i < 7; ++i) {
    if ((days >> i) & 1) {
      if (!d.empty()) d += ',';
      d += kDayNames[i];
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, " %02u:%02u-%02u:%02u ", start_min / 60, start_min % 60, end_min / 60,
                end_min % 60);
  return (d.empty() ? std::string("(no days)") : d) + buf + tz_name;
}

bool parse_hhmm(const std::string& s, uint32_t& minutes) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (int i : {0, 1, 3, 4}) {
    if (s[static_cast<size_t>(i)] < '0' || s[static_cast<size_t>(i)] > '9') return false;
  }
  const uint32_t h = static_cast<uint32_t>((s[0] - '0') * 10 + (s[1] - '0'));
  const uint32_t m = static_cast<uint32_t>((s[3] - '0') * 10 + (s[4] - '0'));
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return false;
  minutes = h * 60 + m;
  return true;
}

}  // namespace sealscope::policy
