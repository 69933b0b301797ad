#pragma once
#include <cstdint>
#include <string>

#include "common/local_time.hpp"
#include "common/types.hpp"

namespace sealscope::policy {

/// A weekly time window in an IANA time zone: the listed weekdays, from `start` to `end` local time.
/// When end <= start the window crosses midnight: it opens on a listed day at `start` and closes on the
/// next day at `end`. Local time is computed from the UTC timestamp, so DST changes are honoured.
struct TimeWindow {
  uint8_t days = 0x7F;        ///< bit 0 = Monday … bit 6 = Sunday
  uint32_t start_min = 0;     ///< minutes after local midnight, 0..1439
  uint32_t end_min = 1440;    ///< 1..1440 (24:00 = end of day)
  std::string tz_name = "UTC";
  const date::time_zone* tz = nullptr;  ///< null = UTC

  /// True when local time at `ts` (µs since the epoch, UTC) falls in the window.
  bool contains(TimestampUs ts) const;
  /// True when the window can never be open (no days, or start == end).
  bool empty() const { return days == 0 || start_min == end_min; }
  /// True when the window is open all week.
  bool always() const { return days == 0x7F && start_min == 0 && end_min == 1440; }
  /// True when every instant of `o` is inside this window (same zone; conservative: false when unsure).
  bool covers(const TimeWindow& o) const;
  /// "mon,tue 18:00-06:00 Europe/Berlin".
  std::string describe() const;
};

/// Parses "HH:MM" (00:00–24:00); false on bad syntax.
bool parse_hhmm(const std::string& s, uint32_t& minutes);

}  // namespace sealscope::policy
