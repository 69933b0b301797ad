// Hostile capture files (issue 7): each case is written here byte by byte (classic pcap records with
// whatever header fields the case needs, pcapng blocks) and run through the real Analyzer — libpcap's
// readers, our offset accounting, decode, flows — checking that nothing stops silently: libpcap's own
// errors become an InputProblem with the byte offset of the last good record, malformed frames are
// counted per reason, and flows are still right. The CLI's message is checked on the real binary.
#include <pcap/dlt.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analyze/analyzer.hpp"
#include "capture/pcap_source.hpp"
#include "common/errors.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using sealscope::testing::Frame;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;
using decode::Anomaly;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr TimestampUs kT0 = 1709294400ull * 1000000;

struct Rec {
  TimestampUs ts;
  Bytes data;              ///< captured bytes (caplen = size unless caplen_override)
  uint32_t wirelen = 0;    ///< 0 = data.size()
  int64_t caplen_override = -1;
};

void le16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void le32(Bytes& b, uint32_t v) {
  le16(b, v & 0xFFFF);
  le16(b, v >> 16);
}

/// A classic pcap file (microseconds, little-endian) with the given snaplen and records as given.
Bytes pcap_file(int linktype, uint32_t snaplen, const std::vector<Rec>& recs) {
  Bytes b;
  le32(b, 0xa1b2c3d4);
  le16(b, 2);
  le16(b, 4);
  le32(b, 0);
  le32(b, 0);
  le32(b, snaplen);
  le32(b, static_cast<uint32_t>(linktype));
  for (const Rec& r : recs) {
    le32(b, static_cast<uint32_t>(r.ts / 1000000));
    le32(b, static_cast<uint32_t>(r.ts % 1000000));
    le32(b, r.caplen_override >= 0 ? static_cast<uint32_t>(r.caplen_override) : static_cast<uint32_t>(r.data.size()));
    le32(b, r.wirelen != 0 ? r.wirelen : static_cast<uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

/// pcapng block: type, total length, body padded to 4, total length.
void ng_block(Bytes& b, uint32_t type, const Bytes& body) {
  Bytes padded = body;
  while (padded.size() % 4 != 0) padded.push_back(0);
  const uint32_t len = static_cast<uint32_t>(12 + padded.size());
  le32(b, type);
  le32(b, len);
  b.insert(b.end(), padded.begin(), padded.end());
  le32(b, len);
}
void ng_shb(Bytes& b) {
  Bytes body;
  le32(body, 0x1A2B3C4D);
  le16(body, 1);
  le16(body, 0);
  le32(body, 0xFFFFFFFF);
  le32(body, 0xFFFFFFFF);  // section length: unknown
  ng_block(b, 0x0A0D0D0A, body);
}
void ng_idb(Bytes& b, int linktype) {
  Bytes body;
  le16(body, static_cast<uint32_t>(linktype));
  le16(body, 0);
  le32(body, 262144);
  ng_block(b, 1, body);
}
void ng_epb(Bytes& b, uint32_t iface, TimestampUs ts, const Bytes& data) {
  Bytes body;
  le32(body, iface);
  le32(body, static_cast<uint32_t>(ts >> 32));
  le32(body, static_cast<uint32_t>(ts));
  le32(body, static_cast<uint32_t>(data.size()));
  le32(body, static_cast<uint32_t>(data.size()));
  body.insert(body.end(), data.begin(), data.end());
  ng_block(b, 6, body);
}

Bytes bytes(const Frame& f) { return Bytes(f.ptr(), f.ptr() + f.size()); }

Bytes udp_frame(const char* src, const char* dst, uint16_t sport, uint16_t dport, size_t payload = 20) {
  return bytes(PacketBuilder().eth().ipv4(src, dst).udp(sport, dport).payload(payload).build());
}

struct Records : stats::RecordSink {
  std::vector<stats::FlowRecord> recs;
  void write(const stats::FlowRecord& r) override { recs.push_back(r); }
};

/// A temporary capture file, removed at scope end.
struct TempFile {
  explicit TempFile(const Bytes& b, const char* ext = ".pcap")
      : path((fs::temp_directory_path() / ("sealscope-hostile-" + std::to_string(getpid()) + "-" +
                                            std::to_string(counter()++) + ext))
                 .string()) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                static_cast<std::streamsize>(b.size()));
  }
  ~TempFile() { std::remove(path.c_str()); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string path;
};

struct Run {
  bool ok = false;
  stats::Summary summary;
  Records records;
  uint64_t anomaly(Anomaly a) const { return summary.anomalies.get(a); }
};

void analyze_file(const std::string& path, Run& out) {
  analyze::AnalyzeOptions o;
  o.files = {path};
  analyze::TeeSink tee;
  tee.add(&out.summary);
  tee.add(&out.records);
  analyze::Analyzer a(o, tee, out.summary);
  out.ok = a.run();
}

/// Runs the real binary (when built) and returns its stderr and exit status.
bool run_cli(const std::string& path, std::string& err, int& rc) {
  const std::string bin = std::string(SEALSCOPE_BINARY_DIR) + "/sealscope";
  if (!fs::exists(bin)) return false;
  const std::string cmd = bin + " analyze -q --no-progress '" + path + "' 2>&1 >/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) err += buf;
  const int st = pclose(p);
  rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return true;
}

}  // namespace

TEST_CASE("hostile capture: snaplen smaller than the headers", "[hostile]") {
  const Bytes full = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  SECTION("snaplen 10: not even the Ethernet header is captured") {
    std::vector<Rec> recs;
    for (int i = 0; i < 3; ++i) recs.push_back({kT0 + i, Bytes(full.begin(), full.begin() + 10), static_cast<uint32_t>(full.size())});
    TempFile f(pcap_file(DLT_EN10MB, 10, recs));
    Run r;
    analyze_file(f.path, r);
    CHECK(r.ok);
    CHECK(r.summary.frames == 3);
    CHECK(r.summary.frames_cut == 3);
    CHECK(r.anomaly(Anomaly::LinkTruncated) == 3);
    CHECK(r.records.recs.empty());
  }
  SECTION("snaplen 24: the IPv4 header is cut") {
    TempFile f(pcap_file(DLT_EN10MB, 24, {{kT0, Bytes(full.begin(), full.begin() + 24), static_cast<uint32_t>(full.size())}}));
    Run r;
    analyze_file(f.path, r);
    CHECK(r.ok);
    CHECK(r.anomaly(Anomaly::Ipv4HeaderTruncated) == 1);
    CHECK(r.summary.malformed == 1);
  }
  SECTION("snaplen 42: headers complete, payload cut: the flow counts the wire lengths") {
    std::vector<Rec> recs;
    for (int i = 0; i < 4; ++i) recs.push_back({kT0 + i * 1000, Bytes(full.begin(), full.begin() + 42), static_cast<uint32_t>(full.size())});
    TempFile f(pcap_file(DLT_EN10MB, 42, recs));
    Run r;
    analyze_file(f.path, r);
    CHECK(r.ok);
    CHECK(r.summary.anomalies.total() == 0);
    REQUIRE(r.records.recs.size() == 1);
    CHECK(r.records.recs[0].packets[0] == 4);
    CHECK(r.records.recs[0].bytes[0] == 4 * (full.size() - 14));
    CHECK(r.records.recs[0].payload[0] == 4 * 20);
    CHECK(r.summary.frames_cut == 4);  // reported, so a user knows why labels may be missing
  }
  SECTION("frames captured whole are not counted as cut") {
    TempFile f(pcap_file(DLT_EN10MB, 65535, {{kT0, full}, {kT0 + 1000, full}}));
    Run r;
    analyze_file(f.path, r);
    CHECK(r.summary.frames == 2);
    CHECK(r.summary.frames_cut == 0);
  }
}

TEST_CASE("hostile capture: a compressed capture is named by its compressor, with the way to read it", "[hostile]") {
  struct Case {
    Bytes magic;
    const char* says;
  };
  const Case cases[] = {{{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00}, "gzip-compressed"},
                        {{0xfd, '7', 'z', 'X', 'Z', 0x00}, "xz-compressed"},
                        {{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00}, "zstd-compressed"},
                        {{'B', 'Z', 'h', '9', 0x31, 0x41}, "bzip2-compressed"},
                        {{0x04, 0x22, 0x4d, 0x18, 0x64, 0x40}, "lz4-compressed"},
                        {{'B', 'Z', 'x', '9', 0x31, 0x41}, "not a readable pcap/pcapng capture"}};
  for (const Case& c : cases) {
    Bytes file = c.magic;
    file.resize(64, 0x5a);  // past libpcap's header read
    TempFile f(file);
    INFO(c.says);
    try {
      capture::PcapSource::open_file(f.path);
      FAIL("opened");
    } catch (const InputError& e) {
      const std::string what = e.what();
      CHECK(what.find(f.path + ": " + c.says) == 0);
      if (std::string(c.says).find("compressed") != std::string::npos) {
        CHECK(what.find("| sealscope ... -") != std::string::npos);
      }
    }
  }
}

TEST_CASE("hostile capture: zero-length records are counted, not fatal", "[hostile]") {
  const Bytes good = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  TempFile f(pcap_file(DLT_EN10MB, 262144,
                       {{kT0, good}, {kT0 + 1, {}}, {kT0 + 2, {}, 60}, {kT0 + 3, good}}));
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.summary.frames == 4);
  CHECK(r.anomaly(Anomaly::LinkTruncated) == 2);
  REQUIRE(r.records.recs.size() == 1);
  CHECK(r.records.recs[0].packets[0] == 2);
}

TEST_CASE("hostile capture: oversized records stop the file with its offset", "[hostile]") {
  const Bytes good = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  const uint64_t after_two = 24 + 2 * (16 + good.size());
  SECTION("caplen above libpcap's 256 KiB maximum") {
    Rec huge{kT0 + 2, good, 0, 300000};  // header claims 300000 captured bytes
    TempFile f(pcap_file(DLT_EN10MB, 262144, {{kT0, good}, {kT0 + 1, good}, huge}));
    Run r;
    analyze_file(f.path, r);
    CHECK_FALSE(r.ok);
    REQUIRE(r.summary.problems.size() == 1);
    CHECK(r.summary.problems[0].offset == after_two);
    CHECK(r.summary.problems[0].packets == 2);
    CHECK(r.summary.problems[0].reason.find("300000") != std::string::npos);
    REQUIRE(r.records.recs.size() == 1);  // the flow seen so far is still written
    CHECK(r.records.recs[0].packets[0] == 2);
    std::string err;
    int rc = 0;
    if (run_cli(f.path, err, rc)) {
      CHECK(rc == 1);
      CHECK(err.find("(read 2 packets, stopped at byte offset " + std::to_string(after_two) + ")") != std::string::npos);
    }
  }
  SECTION("caplen above the file's snaplen (but below libpcap's maximum)") {
    // libpcap keeps snaplen bytes of such a record and skips the rest: the file goes on.
    Bytes big = bytes(PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.2").udp(40000, 53).payload(1000).build());
    TempFile f(pcap_file(DLT_EN10MB, 128, {{kT0, good}, {kT0 + 1, big}, {kT0 + 2, good}}));
    Run r;
    analyze_file(f.path, r);
    INFO((r.summary.problems.empty() ? std::string() : r.summary.problems[0].reason));
    if (r.ok) {
      CHECK(r.summary.frames == 3);
      REQUIRE(r.records.recs.size() == 1);
      CHECK(r.records.recs[0].packets[0] == 3);
    } else {  // or it refuses the record: then with its offset
      REQUIRE(r.summary.problems.size() == 1);
      CHECK(r.summary.problems[0].offset == 24 + 16 + good.size());
    }
  }
}

TEST_CASE("hostile capture: a file truncated mid-record", "[hostile]") {
  const Bytes good = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  Bytes file = pcap_file(DLT_EN10MB, 262144, {{kT0, good}, {kT0 + 1, good}, {kT0 + 2, good}});
  const uint64_t after_two = 24 + 2 * (16 + good.size());
  for (uint64_t cut : {after_two + 7, after_two + 16 + 5}) {  // inside the record header, inside the data
    TempFile f(Bytes(file.begin(), file.begin() + static_cast<long>(cut)));
    Run r;
    analyze_file(f.path, r);
    CHECK_FALSE(r.ok);
    REQUIRE(r.summary.problems.size() == 1);
    CHECK(r.summary.problems[0].offset == after_two);
    CHECK(r.summary.problems[0].packets == 2);
    REQUIRE(r.records.recs.size() == 1);
    CHECK(r.records.recs[0].packets[0] == 2);
  }
}

TEST_CASE("hostile capture: pcapng with unknown blocks and several interfaces", "[hostile]") {
  const Bytes eth = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  const Bytes raw(eth.begin() + 14, eth.end());
  SECTION("unknown blocks are skipped; interfaces of one link type are read") {
    Bytes b;
    ng_shb(b);
    ng_block(b, 0x00000BAD, Bytes(13, 0x5A));  // unknown block type
    ng_idb(b, DLT_EN10MB);
    ng_idb(b, DLT_EN10MB);
    ng_epb(b, 0, kT0, eth);
    ng_block(b, 0x40000BAD, Bytes(8, 0x01));  // unknown, "local use" range
    ng_epb(b, 1, kT0 + 1000, eth);
    TempFile f(b, ".pcapng");
    Run r;
    analyze_file(f.path, r);
    CHECK(r.ok);
    CHECK(r.summary.frames == 2);
    REQUIRE(r.records.recs.size() == 1);
    CHECK(r.records.recs[0].packets[0] == 2);
  }
  SECTION("a second interface of another link type: a clear error with the offset") {
    Bytes b;
    ng_shb(b);
    ng_idb(b, DLT_EN10MB);
    ng_epb(b, 0, kT0, eth);
    const uint64_t good_end = b.size();
    ng_idb(b, DLT_RAW);
    ng_epb(b, 1, kT0 + 1000, raw);
    TempFile f(b, ".pcapng");
    Run r;
    analyze_file(f.path, r);
    if (r.ok) {  // a libpcap that maps each interface's link type: both packets decode
      CHECK(r.summary.frames == 2);
    } else {
      REQUIRE(r.summary.problems.size() == 1);
      CHECK(r.summary.problems[0].packets == 1);
      CHECK(r.summary.problems[0].offset == good_end);
      CHECK(r.summary.problems[0].reason.find("link type") != std::string::npos);
      REQUIRE(r.records.recs.size() == 1);
      std::string err;
      int rc = 0;
      if (run_cli(f.path, err, rc)) {
        CHECK(rc == 1);
        CHECK(err.find("stopped at byte offset " + std::to_string(good_end)) != std::string::npos);
        CHECK(err.find("link type") != std::string::npos);
      }
    }
  }
}

TEST_CASE("hostile capture: timestamps going backwards", "[hostile]") {
  const Bytes a = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  const Bytes b = udp_frame("198.51.100.2", "192.0.2.1", 53, 40000);
  constexpr TimestampUs s = 1000000;
  TempFile f(pcap_file(DLT_EN10MB, 262144, {{kT0 + 10 * s, a}, {kT0 + 5 * s, b}, {kT0 + 12 * s, a}, {kT0 + 11 * s, b}}));
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.anomaly(Anomaly::TimestampBackwards) == 2);
  REQUIRE(r.records.recs.size() == 1);
  const stats::FlowRecord& rec = r.records.recs[0];
  CHECK(rec.packets[0] == 2);
  CHECK(rec.packets[1] == 2);
  // The record spans its packets' times, as the summary spans the capture's: the reply stamped 5 s is the
  // flow's earliest packet, though the request stamped 10 s came first and made it.
  CHECK(rec.src_port == 40000);
  CHECK(rec.first_seen == kT0 + 5 * s);
  CHECK(rec.last_seen == kT0 + 12 * s);
  CHECK(r.summary.first_ts == kT0 + 5 * s);
}

TEST_CASE("hostile capture: a packet at time 0 (1970-01-01) is the capture's first, not a missing time", "[hostile]") {
  const Bytes a = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  constexpr TimestampUs s = 1000000;
  SECTION("the first of several") {
    TempFile f(pcap_file(DLT_EN10MB, 262144, {{0, a}, {s / 100, a}, {5 * s, a}}));
    Run r;
    analyze_file(f.path, r);
    CHECK(r.ok);
    CHECK(r.summary.timed);
    CHECK(r.summary.first_ts == 0);
    CHECK(r.summary.last_ts == 5 * s);
  }
  SECTION("every packet at time 0") {
    TempFile f(pcap_file(DLT_EN10MB, 262144, {{0, a}, {0, a}}));
    Run r;
    analyze_file(f.path, r);
    CHECK(r.summary.timed);
    CHECK(r.summary.first_ts == 0);
    CHECK(r.summary.last_ts == 0);
  }
  SECTION("no packet: no times") {
    TempFile f(pcap_file(DLT_EN10MB, 262144, {}));
    Run r;
    analyze_file(f.path, r);
    CHECK_FALSE(r.summary.timed);
  }
}

TEST_CASE("hostile capture: classic pcap times after 2038 stay after 2038", "[hostile]") {
  // The record header's seconds are unsigned 32-bit: 2^31 s is 2038-01-19 03:14:08 UTC, 2^32 - 6 s is in 2106.
  const Bytes a = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  const Bytes b = udp_frame("198.51.100.2", "192.0.2.1", 53, 40000);
  constexpr TimestampUs s = 1000000;
  constexpr TimestampUs t2038 = (TimestampUs{1} << 31) * s, t2106 = ((TimestampUs{1} << 32) - 6) * s;
  TempFile f(pcap_file(DLT_EN10MB, 262144,
                       {{t2038 - 2 * s, a}, {t2038 + 1 * s + 250, b}, {t2106, a}, {t2106 + 5 * s + 999999, b}}));
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.anomaly(Anomaly::TimestampBackwards) == 0);
  CHECK(r.summary.first_ts == t2038 - 2 * s);
  CHECK(r.summary.last_ts == t2106 + 5 * s + 999999);
  REQUIRE(r.records.recs.size() == 2);  // the UDP idle timeout parts the two exchanges
  CHECK(r.records.recs[0].first_seen == t2038 - 2 * s);
  CHECK(r.records.recs[0].last_seen == t2038 + 1 * s + 250);
  CHECK(r.records.recs[1].first_seen == t2106);
  CHECK(r.records.recs[1].last_seen == t2106 + 5 * s + 999999);
}

TEST_CASE("hostile capture: pcapng times beyond what a record can hold are counted and dropped", "[hostile]") {
  // if_tsresol 10^0: the 64-bit timestamp counts seconds, so a frame can claim any time up to 2^64 s.
  // Before, 2^63 - 5 s overflowed the microsecond clock (UBSan: signed overflow in PcapSource::next) and
  // 2^40 s came out as "36812-02-20T00:36:16000000Z". Now a time after 9999-12-31T23:59:59.999999Z (where
  // RFC 3339 ends) is counted as timestamp_out_of_range and its frame dropped; the last second of 9999
  // still passes.
  const Bytes a = udp_frame("192.0.2.1", "198.51.100.2", 40000, 53);
  Bytes b;
  ng_shb(b);
  Bytes idb;
  le16(idb, DLT_EN10MB);
  le16(idb, 0);
  le32(idb, 262144);
  le16(idb, 9);  // if_tsresol
  le16(idb, 1);
  idb.insert(idb.end(), {0, 0, 0, 0});  // 10^0, padding
  le16(idb, 0);  // opt_endofopt
  le16(idb, 0);
  ng_block(b, 1, idb);
  constexpr int64_t kLast = 253402300799;  // 9999-12-31T23:59:59Z
  const uint64_t secs[] = {static_cast<uint64_t>(kT0 / 1000000), (uint64_t{1} << 63) - 5, uint64_t{1} << 40,
                           static_cast<uint64_t>(kLast), static_cast<uint64_t>(kLast) + 1, ~uint64_t{0} - 2};
  for (uint64_t t : secs) ng_epb(b, 0, static_cast<TimestampUs>(t), a);
  TempFile f(b, ".pcapng");
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.summary.frames == 6);
  CHECK(r.anomaly(Anomaly::TimestampOutOfRange) == 4);
  CHECK(r.summary.malformed == 4);
  CHECK(r.summary.first_ts == kT0);
  CHECK(r.summary.last_ts == kLast * 1000000);
  REQUIRE(r.records.recs.size() == 2);  // 8,000 years apart: the UDP idle timeout parts them
  CHECK(r.records.recs[0].first_seen == kT0);
  CHECK(r.records.recs[1].first_seen == kLast * 1000000);
}

TEST_CASE("hostile capture: IPv6 extension header chains that loop or run past the packet", "[hostile]") {
  std::vector<Rec> recs;
  // 20 destination-options headers, each naming the next as destination options again.
  PacketBuilder loop;
  loop.eth().ipv6("2001:db8::1", "2001:db8::2");
  for (int i = 0; i < 20; ++i) loop.ipv6_ext(60);
  recs.push_back({kT0, bytes(loop.udp(1, 2).payload(4).build())});
  // A header whose length runs 2 KiB past the packet.
  Frame past = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(0).udp(1, 2).payload(4).build();
  past.data[past.off(L::Ipv6Ext) + 1] = 255;
  recs.push_back({kT0 + 1, bytes(past)});
  // A chain whose last header names another one where the packet ends.
  Frame dangling = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(43).ipv6_ext(60).build();
  dangling.data[dangling.off(L::Ipv6Ext, 1)] = 60;
  recs.push_back({kT0 + 2, bytes(dangling)});
  recs.push_back({kT0 + 3, bytes(PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).payload(4).build())});
  TempFile f(pcap_file(DLT_EN10MB, 262144, recs));
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.anomaly(Anomaly::Ipv6ExtChainTooLong) == 1);
  CHECK(r.anomaly(Anomaly::Ipv6ExtTruncated) == 2);
  CHECK(r.summary.malformed == 3);
  REQUIRE(r.records.recs.size() == 1);  // the good packet
  CHECK(r.records.recs[0].packets[0] == 1);
}

TEST_CASE("hostile capture: nested VLAN tags and GTP-U nested past the bound", "[hostile]") {
  PacketBuilder deep;
  deep.eth();
  for (int i = 0; i < 12; ++i) deep.vlan(static_cast<uint16_t>(100 + i));
  PacketBuilder eight;
  eight.eth();
  for (int i = 0; i < 8; ++i) eight.vlan(static_cast<uint16_t>(200 + i));
  // kMaxNestedTunnels + 1 GTP-U tunnels inside one another.
  PacketBuilder nested;
  nested.eth().ipv4("10.200.0.1", "10.200.0.254").udp(2152, 2152).gtpu(111);
  for (int i = 0; i < decode::kMaxNestedTunnels; ++i) {
    nested.ipv4("10.10.0.1", "10.10.0.2").udp(2152, 2152).gtpu(static_cast<uint32_t>(222 + i));
  }
  const Frame gtp = nested.ipv4("100.64.1.10", "192.0.2.80").udp(5000, 6000).payload(10).build();
  TempFile f(pcap_file(DLT_EN10MB, 262144,
                       {{kT0, bytes(deep.ipv4("192.0.2.1", "192.0.2.2").udp(1, 2).build())},
                        {kT0 + 1, bytes(eight.ipv4("192.0.2.3", "192.0.2.4").udp(3, 4).build())},
                        {kT0 + 2, bytes(gtp)},
                        {kT0 + 3, bytes(gtp)}}));
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.anomaly(Anomaly::VlanTooDeep) == 1);
  CHECK(r.anomaly(Anomaly::GtpTooDeep) == 2);
  REQUIRE(r.records.recs.size() == 2);
  bool vlan_flow = false, tunnel_flow = false;
  for (const auto& rec : r.records.recs) {
    if (rec.vlan == 200) vlan_flow = rec.packets[0] == 1;
    if (rec.tunnel.type == decode::TunnelType::GtpU) {
      // Accounted as the last level reached: the UDP flow to 2152 there, in the outermost tunnel.
      tunnel_flow = rec.tunnel.id == 111 && rec.src_ip == "10.10.0.1" && rec.dst_port == 2152 &&
                    rec.packets[0] + rec.packets[1] == 2;
    }
  }
  CHECK(vlan_flow);
  CHECK(tunnel_flow);
}

TEST_CASE("hostile capture: TCP sequence numbers wrapping past 2^32", "[hostile]") {
  const char* c = "192.0.2.10";
  const char* s = "198.51.100.20";
  uint32_t cseq = 0xFFFFFF00u, sseq = 0xFFFFFFF0u;
  std::vector<Rec> recs;
  TimestampUs t = kT0;
  auto add = [&](bool up, uint8_t flags, size_t len) {
    const uint32_t seq = up ? cseq : sseq;
    PacketBuilder b;
    b.eth();
    if (up) {
      b.ipv4(c, s).tcp(51000, 8443, flags, seq, sseq);
    } else {
      b.ipv4(s, c).tcp(8443, 51000, flags, seq, cseq);
    }
    if (len > 0) b.payload(len);
    recs.push_back({t += 1000, bytes(b.build())});
    (up ? cseq : sseq) += static_cast<uint32_t>(len + ((flags & 0x03) ? 1 : 0));
  };
  add(true, 0x02, 0);    // SYN
  add(false, 0x12, 0);   // SYN-ACK (the server's sequence wraps on its first data)
  add(true, 0x10, 0);
  for (int i = 0; i < 4; ++i) {  // the client's sequence wraps within these
    add(true, 0x18, 100);
    add(false, 0x18, 300);
  }
  add(true, 0x11, 0);
  add(false, 0x11, 0);
  add(true, 0x10, 0);
  TempFile f(pcap_file(DLT_EN10MB, 262144, recs));
  Run r;
  analyze_file(f.path, r);
  CHECK(r.ok);
  CHECK(r.summary.anomalies.total() == 0);
  REQUIRE(r.records.recs.size() == 1);
  const stats::FlowRecord& rec = r.records.recs[0];
  CHECK(rec.packets[0] == 8);
  CHECK(rec.packets[1] == 6);
  CHECK(rec.payload[0] == 400);
  CHECK(rec.payload[1] == 1200);
  CHECK(rec.end == flow::EndReason::Fin);
}
