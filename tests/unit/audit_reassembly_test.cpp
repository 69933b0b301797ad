// TCP reassembly for the audit (src/audit/reassembly.*): order, retransmission, overlap, wrap, gaps, caps.
#include <catch2/catch.hpp>

#include <string>

#include "audit/reassembly.hpp"

using namespace sealscope::audit;

namespace {
struct Collect : StreamSink {
  std::string bytes;  // '?' for gap bytes (when small)
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t next = 0;
  bool in_order = true;
  void stream_data(uint64_t off, const uint8_t* d, std::size_t n, uint32_t) override {
    in_order &= off == next;
    bytes.append(reinterpret_cast<const char*>(d), n);
    next = off + n;
  }
  void stream_gap(uint64_t off, uint64_t len) override {
    in_order &= off == next;
    gaps.emplace_back(off, len);
    if (len < 64) bytes.append(static_cast<size_t>(len), '?');
    next = off + len;
  }
};
void seg(TcpReassembler& r, uint32_t seq, const std::string& s, ReassemblyBudget& b, Collect& c, bool syn = false,
         uint32_t uncaptured = 0) {
  r.segment(seq, syn, reinterpret_cast<const uint8_t*>(s.data()), s.size(), uncaptured, 1, b, c);
}
}  // namespace

TEST_CASE("audit reassembly: in order, out of order, retransmitted and overlapping segments give the stream once") {
  ReassemblyBudget b;
  TcpReassembler r;
  Collect c;
  seg(r, 999, "", b, c, true);      // SYN: the stream starts at 1000
  seg(r, 1000, "Hello, ", b, c);
  seg(r, 1012, "! How ", b, c);     // ahead of a hole (1007-1011)
  CHECK(c.bytes == "Hello, ");
  CHECK(r.buffered() == 6);
  CHECK(b.used == 6);
  seg(r, 1000, "Hello, ", b, c);    // retransmission
  seg(r, 1005, ", world", b, c);    // overlaps 2 delivered bytes, fills the hole and reaches into held bytes
  CHECK(c.bytes == "Hello, world! How ");
  seg(r, 1018, "are you?", b, c);
  r.finish(b, c);
  CHECK(c.bytes == "Hello, world! How are you?");
  CHECK(c.in_order);
  CHECK(c.gaps.empty());
  CHECK(r.counters().duplicate == 7 + 2 + 0);  // the retransmission, the overlap (the held copy wins the rest)
  CHECK(r.counters().out_of_order == 1);
  CHECK(r.buffered() == 0);
  CHECK(b.used == 0);
  CHECK(b.peak == 6);
}

TEST_CASE("audit reassembly: sequence numbers wrapping past 2^32") {
  ReassemblyBudget b;
  TcpReassembler r;
  Collect c;
  seg(r, 0xFFFFFFF9u, "", b, c, true);  // data from 0xFFFFFFFA
  seg(r, 0x00000002u, "-wraps", b, c);  // 8 bytes after 0xFFFFFFFA: ahead of the hole
  seg(r, 0xFFFFFFFAu, "sequence", b, c);
  r.finish(b, c);
  CHECK(c.bytes == "sequence-wraps");
  CHECK(c.gaps.empty());
}

TEST_CASE("audit reassembly: a hole never filled becomes a gap at the end, mid-stream starts are noted") {
  ReassemblyBudget b;
  TcpReassembler r;
  Collect c;
  seg(r, 5000, "abc", b, c);  // no SYN
  seg(r, 5010, "xyz", b, c);
  r.finish(b, c);
  CHECK(r.counters().mid_stream);
  REQUIRE(c.gaps.size() == 1);
  CHECK(c.gaps[0] == std::make_pair(uint64_t{3}, uint64_t{7}));
  CHECK(c.bytes == "abc???????xyz");
  CHECK(r.counters().gap_bytes == 7);
}

TEST_CASE("audit reassembly: bytes the capture cut off (snap length) are a gap, not a hole to wait for") {
  ReassemblyBudget b;
  TcpReassembler r;
  Collect c;
  seg(r, 99, "", b, c, true);
  seg(r, 100, "head", b, c, false, 6);  // 10 bytes on the wire, 4 captured
  seg(r, 110, "next", b, c);
  CHECK(c.bytes == "head??????next");
  CHECK(r.buffered() == 0);
  CHECK(r.counters().gaps == 1);
}

TEST_CASE("audit reassembly: the per-stream cap turns the hole into a gap, counted, memory bounded") {
  ReassemblyBudget b;
  b.limits.per_stream = 100;
  b.limits.total = 1000;
  TcpReassembler r;
  Collect c;
  seg(r, 0, "", b, c, true);
  // Byte 1 never arrives; 40-byte segments pile up behind the hole.
  for (int i = 0; i < 10; ++i) seg(r, 2 + 40 * i, std::string(40, static_cast<char>('a' + i)), b, c);
  CHECK(r.counters().stream_cap_hits >= 1);
  CHECK(b.stream_cap_hits == r.counters().stream_cap_hits);
  CHECK(r.counters().peak_buffered <= 100 + 40);  // at most one segment beyond the cap, briefly
  CHECK(r.buffered() <= 100);
  REQUIRE_FALSE(c.gaps.empty());
  CHECK(c.gaps[0] == std::make_pair(uint64_t{0}, uint64_t{1}));  // offset 0 = seq 1
  r.finish(b, c);
  CHECK(c.bytes.size() == 1 + 400);
  CHECK(c.in_order);
  CHECK(b.used == 0);
}

TEST_CASE("audit reassembly: the total cap is shared by all streams and counted separately") {
  ReassemblyBudget b;
  b.limits.per_stream = 1000;
  b.limits.total = 150;
  TcpReassembler r1, r2;
  Collect c1, c2;
  seg(r1, 0, "", b, c1, true);
  seg(r2, 0, "", b, c2, true);
  seg(r1, 10, std::string(100, 'x'), b, c1);  // held: 100 of 150
  CHECK(b.used == 100);
  seg(r2, 10, std::string(100, 'y'), b, c2);  // 200 > 150: r2 gives up its hole
  CHECK(b.total_cap_hits == 1);
  CHECK(r2.counters().total_cap_hits == 1);
  CHECK(r1.counters().total_cap_hits == 0);
  CHECK(b.used == 100);
  CHECK(b.peak == 200);
  CHECK(c2.gaps.size() == 1);
  r1.finish(b, c1);
  CHECK(b.used == 0);
}

TEST_CASE("reassembly: stream counters add up into a run total, peak buffered as the larger", "[reasm]") {
  StreamCounters a, b;
  a.delivered = 100, a.duplicate = 1, a.out_of_order = 2, a.gaps = 3, a.gap_bytes = 4;
  a.stream_cap_hits = 5, a.total_cap_hits = 6, a.out_of_window = 7, a.peak_buffered = 900;
  b.delivered = 10, b.duplicate = 20, b.out_of_order = 30, b.gaps = 40, b.gap_bytes = 50;
  b.stream_cap_hits = 60, b.total_cap_hits = 70, b.out_of_window = 80, b.peak_buffered = 50;
  b.mid_stream = true;
  StreamCounters t;
  t.add(a);
  t.add(b);
  CHECK(t.delivered == 110);
  CHECK(t.duplicate == 21);
  CHECK(t.out_of_order == 32);
  CHECK(t.gaps == 43);
  CHECK(t.gap_bytes == 54);
  CHECK(t.stream_cap_hits == 65);
  CHECK(t.total_cap_hits == 76);
  CHECK(t.out_of_window == 87);
  CHECK(t.peak_buffered == 900);
  CHECK(t.mid_stream);
}
