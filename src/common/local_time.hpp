#pragma once
#include <cstdint>
#include <string>

#include "common/types.hpp"

namespace date {
class time_zone;
}

namespace sealscope {

/// Looks up an IANA zone name ("Europe/Berlin", "UTC") in the system tzdata through howardhinnant-date;
/// null when the name is unknown. The rules' window `tz:` and `analyze --tz` both go through it.
const date::time_zone* find_zone(const std::string& name);

/// What to say about a zone name find_zone() does not know.
std::string unknown_zone_message(const std::string& name);

/// Local weekday and time of day of a UTC timestamp.
struct LocalClock {
  unsigned weekday = 0;  ///< 0 = Monday … 6 = Sunday
  uint32_t minute = 0;   ///< minutes after local midnight, 0..1439
};

/// `ts` (µs since the epoch, UTC) as local time in `tz` (null = UTC), daylight saving time honoured; a
/// time beyond ±2^60 µs counts as that bound.
LocalClock local_clock(const date::time_zone* tz, TimestampUs ts);

}  // namespace sealscope
