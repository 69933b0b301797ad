// The text pieces every flow record is made of, written by hand for speed (addresses, RFC 3339 times,
// three-decimal numbers): checked against the library calls they stand in for (inet_ntop, gmtime_r) and
// against the rounding the record contract documents.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <ctime>
#include <string>

#include "common/types.hpp"
#include "report/flow_writers.hpp"

using namespace sealscope;

namespace {
IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr x;
  x.version = 4;
  x.bytes[0] = a;
  x.bytes[1] = b;
  x.bytes[2] = c;
  x.bytes[3] = d;
  return x;
}

std::string ntop(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  REQUIRE(inet_ntop(a.version == 4 ? AF_INET : AF_INET6, a.bytes, buf, sizeof buf) != nullptr);
  return buf;
}

/// gmtime_r's reading of `secs`, as the records write it.
std::string gm(int64_t secs, int us) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  REQUIRE(gmtime_r(&t, &tm) != nullptr);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
  return buf;
}

std::string rfc(TimestampUs ts) {
  char buf[kRfc3339UsMax];
  const size_t n = format_rfc3339_us(ts, buf);
  REQUIRE(n <= sizeof buf);
  const std::string s(buf, n);
  CHECK(format_rfc3339_us(ts) == s);  // the allocating form writes the same
  return s;
}

/// The "duration_ms" value the JSONL writer gives a flow lasting `us` microseconds, and the CSV's.
std::pair<std::string, std::string> duration_text(TimestampUs us) {
  stats::FlowRecord r;
  r.src_ip = "10.0.0.1";
  r.dst_ip = "10.0.0.2";
  r.l4 = "udp";
  r.first_seen = 1'700'000'000'000'000;
  r.last_seen = r.first_seen + us;
  fmt::memory_buffer j, c;
  report::JsonlWriter::format(r, j);
  report::CsvWriter::format(r, c);
  const std::string js = fmt::to_string(j), cs = fmt::to_string(c);
  const size_t at = js.find("\"duration_ms\":");
  REQUIRE(at != std::string::npos);
  const size_t from = at + std::strlen("\"duration_ms\":");
  // CSV: the 17th column (after id, 5 endpoint columns, vlan, 7 tunnel columns, first_seen, last_seen).
  size_t col = 0, pos = 0;
  while (col < 16) {
    pos = cs.find(',', pos) + 1;
    ++col;
  }
  return {js.substr(from, js.find(',', from) - from), cs.substr(pos, cs.find(',', pos) - pos)};
}

/// The size moments' text for a record whose sizes have these values (JSONL "size":{"all":{...}}).
std::string size_min_text(double v) {
  stats::FlowRecord r;
  r.src_ip = "10.0.0.1";
  r.dst_ip = "10.0.0.2";
  r.l4 = "udp";
  r.size[0] = {1, v, v, 0.0, v};
  fmt::memory_buffer j;
  report::JsonlWriter::format(r, j);
  const std::string js = fmt::to_string(j);
  const std::string key = "\"size\":{\"all\":{\"min\":";
  const size_t at = js.find(key);
  REQUIRE(at != std::string::npos);
  const size_t from = at + key.size();
  return js.substr(from, js.find(',', from) - from);
}
}  // namespace

TEST_CASE("record text: IPv4 addresses written by hand read as inet_ntop writes them", "[writers]") {
  // Every octet value in every position, with the others at their widest and narrowest.
  for (int pos = 0; pos < 4; ++pos) {
    for (int v = 0; v < 256; ++v) {
      for (uint8_t other : {uint8_t{0}, uint8_t{9}, uint8_t{10}, uint8_t{99}, uint8_t{100}, uint8_t{255}}) {
        uint8_t o[4] = {other, other, other, other};
        o[pos] = static_cast<uint8_t>(v);
        const IpAddr a = v4(o[0], o[1], o[2], o[3]);
        char buf[kIpTextMax];
        const size_t n = format_ip(a, buf);
        REQUIRE(std::string(buf, n) == ntop(a));
        REQUIRE(to_string(a) == ntop(a));
      }
    }
  }
  // IPv6 keeps inet_ntop (RFC 5952 compression); an unset address is empty.
  IpAddr six;
  REQUIRE(parse_ip("2001:db8::ff00:42:8329", six));
  CHECK(to_string(six) == "2001:db8::ff00:42:8329");
  REQUIRE(parse_ip("::ffff:192.0.2.1", six));
  CHECK(to_string(six) == ntop(six));
  CHECK(to_string(IpAddr{}).empty());
  char buf[kIpTextMax];
  CHECK(format_ip(IpAddr{}, buf) == 0);
}

TEST_CASE("record text: RFC 3339 times with microseconds, against gmtime_r", "[writers]") {
  CHECK(rfc(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(rfc(1'700'000'000'123'456) == "2023-11-14T22:13:20.123456Z");
  CHECK(rfc(-1) == "1969-12-31T23:59:59.999999Z");  // before the epoch: the second before, not -0.000001
  CHECK(rfc(951'782'400'000'007) == "2000-02-29T00:00:00.000007Z");
  // Alternating seconds (the per-thread cache of the date part must not leak one into the other), and a
  // sweep over 40 years in steps that touch every month, day and hour.
  for (int i = 0; i < 4; ++i) {
    CHECK(rfc(1'000'000'000'000'001) == gm(1'000'000'000, 1));
    CHECK(rfc(2'000'000'000'999'999) == gm(2'000'000'000, 999'999));
  }
  for (int64_t s = 946'684'800; s < 2'208'988'800; s += 86'400 * 7 + 3'661) {
    REQUIRE(rfc(s * 1'000'000 + 250'001) == gm(s, 250'001));
  }
  // Years outside four digits (only from a corrupt pcapng timestamp) keep every character.
  CHECK(rfc(253'402'300'800LL * 1'000'000) == "10000-01-01T00:00:00.000000Z");
  CHECK(rfc(253'402'300'799LL * 1'000'000 + 5) == "9999-12-31T23:59:59.000005Z");
}

TEST_CASE("record text: three decimals, halves away from zero, the same in JSONL and CSV", "[writers]") {
  using P = std::pair<std::string, std::string>;
  CHECK(duration_text(0) == P{"0.000", "0.000"});
  CHECK(duration_text(1) == P{"0.001", "0.001"});
  CHECK(duration_text(999'999) == P{"999.999", "999.999"});
  CHECK(duration_text(86'400'000'000) == P{"86400000.000", "86400000.000"});
  // Values from sizes and times: exact halves round up (774.5625 has an exact binary value), just below
  // a half rounds down, large values keep their integer part.
  CHECK(size_min_text(774.5625) == "774.563");
  CHECK(size_min_text(0.0005) == "0.001");
  CHECK(size_min_text(2.0004999) == "2.000");
  CHECK(size_min_text(1500) == "1500.000");
  CHECK(size_min_text(1e15) == "1000000000000000.000");
  CHECK(size_min_text(-0.0004) == "0.000");  // no "-0.000"
  CHECK(size_min_text(-1.25) == "-1.250");
}
