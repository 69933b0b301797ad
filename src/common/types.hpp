#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace sealscope {

/// Microseconds since the Unix epoch (UTC): the one timestamp type of the packet path.
using TimestampUs = int64_t;

/// An IPv4 or IPv6 address held in 16 bytes (IPv4 in the first four), comparable as bytes.
struct IpAddr {
  uint8_t bytes[16] = {};
  uint8_t version = 0;  ///< 4, 6, or 0 when unset

  static IpAddr v4(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes, p, 4);
    a.version = 4;
    return a;
  }
  static IpAddr v6(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes, p, 16);
    a.version = 6;
    return a;
  }
  bool operator==(const IpAddr& o) const {
    return version == o.version && std::memcmp(bytes, o.bytes, 16) == 0;
  }
};

/// Text form of an address (inet_ntop's: dotted quad, RFC 5952 IPv6); empty for an unset address.
std::string to_string(const IpAddr& a);
/// The same text written to `out` (no allocation, for records); returns its length.
constexpr size_t kIpTextMax = 46;  // INET6_ADDRSTRLEN
size_t format_ip(const IpAddr& a, char (&out)[kIpTextMax]);
/// Parses dotted-quad or IPv6 text; false when it is neither.
bool parse_ip(const std::string& text, IpAddr& out);

/// A byte count for people, in SI units as the summaries print it: 816 B, 959.8 kB, 171.6 MB, 2.1 GB.
std::string human_bytes(uint64_t b);

/// RFC 3339 UTC with microseconds, e.g. 2024-03-01T12:00:00.000123Z.
std::string format_rfc3339_us(TimestampUs ts);
/// The same text written to `out` (no allocation, for the record writers); returns its length, 27 unless
/// the year is outside 0000–9999.
constexpr size_t kRfc3339UsMax = 48;
size_t format_rfc3339_us(TimestampUs ts, char (&out)[kRfc3339UsMax]);
/// Microseconds since the epoch by the wall clock (CLOCK_REALTIME): what libpcap stamps live packets with,
/// and what a netfilter queue's packets are stamped with when read.
TimestampUs wall_clock_us();

}  // namespace sealscope
