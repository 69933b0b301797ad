// The audit's IP datagram reassembly on its own: completion in and out of order, first copy wins on overlap
// (differing bytes counted), which bytes came from which fragment, and every way a datagram can fail to
// complete — timeout, the byte cap, a fragment cut by the snap length, an impossible length, two ends, the end
// of a timeline — each counted once, with the bytes held always equal to what the datagrams are charged.
#include <catch2/catch.hpp>
#include <string>

#include "audit/defrag.hpp"

using namespace sealscope;
using namespace sealscope::audit;

namespace {

constexpr TimestampUs kT0 = TimestampUs{1700000000} * 1000000;

Defragmenter::Key key(uint32_t id, uint8_t proto = 17) {
  Defragmenter::Key k{};
  k.src[0] = 10;
  k.dst[0] = 11;
  k.id = id;
  k.proto = proto;
  k.ip_version = 4;
  k.vlan = 0xFFFF;
  return k;
}

/// A fragment over `bytes` at `offset`; `first` marks the fragment at offset 0.
struct Frag {
  std::string bytes;
  Defragmenter::Fragment f;
  Frag(uint32_t id, uint32_t offset, bool more, std::string b, const FirstFragment* first = nullptr)
      : bytes(std::move(b)) {
    f.key = key(id);
    f.offset = offset;
    f.more = more;
    f.data = reinterpret_cast<const uint8_t*>(bytes.data());
    f.caplen = f.len = static_cast<uint32_t>(bytes.size());
    f.first = first;
  }
};

std::string text(const Datagram& d) { return std::string(d.bytes.begin(), d.bytes.end()); }

/// What every counter adds up to: each datagram begun is complete, given up for one reason, or still live.
uint64_t ended(const Defragmenter& df) {
  const DefragCounters& c = df.counters();
  return c.reassembled + c.timed_out + c.ended_incomplete + c.dropped_at_cap + c.not_captured + c.invalid +
         df.incomplete_now();
}

}  // namespace

TEST_CASE("defrag: two fragments in order make the datagram, each byte's fragment known", "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  first.transport_payload = 8;
  first.flow_id = 42;
  first.dir = 1;
  Datagram d;
  const std::string a = "HDRHDRHD" "0123456789abcdef", b = "ghijklmn" "opq";
  CHECK_FALSE(df.add(Frag(7, 0, true, a, &first).f, kT0, d));
  CHECK(df.incomplete_now() == 1);
  CHECK(df.counters().held > 0);
  REQUIRE(df.add(Frag(7, 24, false, b).f, kT0 + 10, d));
  CHECK(text(d) == a + b);
  CHECK(d.total == 35);
  CHECK(d.fragments == 2);
  CHECK(d.first.flow_id == 42);
  CHECK(d.first.dir == 1);
  CHECK(d.first.transport_payload == 8);
  CHECK(d.one_fragment_holds(8, 24));       // all in the first fragment
  CHECK(d.one_fragment_holds(24, 35));      // all in the second
  CHECK_FALSE(d.one_fragment_holds(20, 28));  // across the boundary
  CHECK(df.counters().reassembled == 1);
  CHECK(df.counters().overlapping_fragments == 0);
  CHECK(df.incomplete_now() == 0);
  CHECK(df.counters().held == 0);  // nothing is held for a datagram handed out
  CHECK(ended(df) == df.counters().datagrams);
}

TEST_CASE("defrag: out of order, the last fragment first, and no datagram without its first fragment",
          "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  CHECK_FALSE(df.add(Frag(9, 16, false, "CCCCCCCC").f, kT0, d));
  CHECK_FALSE(df.add(Frag(9, 8, true, "BBBBBBBB").f, kT0, d));
  // Every byte from 8 on is there, the end is known, but offset 0 is not: not whole.
  CHECK(df.incomplete_now() == 1);
  REQUIRE(df.add(Frag(9, 0, true, "AAAAAAAA", &first).f, kT0, d));
  CHECK(text(d) == "AAAAAAAABBBBBBBBCCCCCCCC");
  CHECK(df.counters().datagrams == 1);
  CHECK(df.counters().reassembled == 1);
}

TEST_CASE("defrag: overlaps keep the first copy and count the bytes that differed", "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  CHECK_FALSE(df.add(Frag(3, 0, true, "AAAAAAAAAAAAAAAA", &first).f, kT0, d));  // [0, 16)
  CHECK_FALSE(df.add(Frag(3, 8, true, "AAAAxxxxBBBBBBBB").f, kT0, d));          // [8, 24): 4 differ in [8, 16)
  CHECK(df.counters().overlapping_fragments == 1);
  CHECK(df.counters().conflicting_bytes == 4);
  CHECK_FALSE(df.add(Frag(3, 16, true, "BBBBBBBB").f, kT0, d));  // an exact duplicate: overlapping, no conflict
  CHECK(df.counters().overlapping_fragments == 2);
  CHECK(df.counters().conflicting_bytes == 4);
  REQUIRE(df.add(Frag(3, 24, false, "CCCC").f, kT0, d));
  CHECK(text(d) == "AAAAAAAAAAAAAAAA" "BBBBBBBB" "CCCC");
  // [8, 16) came from the first fragment, [16, 24) from the second (the duplicate filled nothing).
  CHECK(d.one_fragment_holds(0, 16));
  CHECK(d.one_fragment_holds(16, 24));
  CHECK_FALSE(d.one_fragment_holds(12, 20));
}

TEST_CASE("defrag: a fragment that overlaps with the same bytes holds its whole range", "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  CHECK_FALSE(df.add(Frag(2, 0, true, "0123456789abcdef", &first).f, kT0, d));  // [0, 16)
  CHECK_FALSE(df.add(Frag(2, 8, true, "89abcdefGHIJKLMN").f, kT0, d));          // [8, 24), agrees on [8, 16)
  REQUIRE(df.add(Frag(2, 24, false, "end").f, kT0, d));
  CHECK(df.counters().conflicting_bytes == 0);
  CHECK(d.one_fragment_holds(8, 24));  // the second fragment's payload holds all of it
  CHECK(d.one_fragment_holds(0, 16));
  CHECK_FALSE(d.one_fragment_holds(4, 20));
  CHECK_FALSE(d.one_fragment_holds(20, 26));
}

TEST_CASE("defrag: a fragment covering several holes fills each, around the bytes already held", "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  CHECK_FALSE(df.add(Frag(4, 8, true, "11111111").f, kT0, d));
  CHECK_FALSE(df.add(Frag(4, 24, true, "33333333").f, kT0, d));
  CHECK_FALSE(df.add(Frag(4, 0, true, "abcdefghijklmnopqrstuvwxyzABCDEF", &first).f, kT0, d));  // [0, 32)
  CHECK(df.counters().overlapping_fragments == 1);
  CHECK(df.counters().conflicting_bytes == 16);
  REQUIRE(df.add(Frag(4, 32, false, "end").f, kT0, d));
  CHECK(text(d) == "abcdefgh" "11111111" "qrstuvwx" "33333333" "end");
  CHECK(d.one_fragment_holds(16, 24));
  CHECK_FALSE(d.one_fragment_holds(0, 9));
}

TEST_CASE("defrag: an incomplete datagram times out, counted, and later fragments begin a new one", "[audit][defrag]") {
  DefragLimits lim;
  lim.timeout_s = 30;
  Defragmenter df(lim);
  FirstFragment first;
  Datagram d;
  CHECK_FALSE(df.add(Frag(5, 0, true, "AAAAAAAA", &first).f, kT0, d));
  df.expire(kT0 + 30 * 1000000);  // exactly the timeout: still waiting
  CHECK(df.incomplete_now() == 1);
  df.expire(kT0 + 30 * 1000000 + 1);
  CHECK(df.counters().timed_out == 1);
  CHECK(df.incomplete_now() == 0);
  CHECK(df.counters().held == 0);
  // Its last fragment after the timeout cannot complete it.
  CHECK_FALSE(df.add(Frag(5, 8, false, "BBBB").f, kT0 + 31 * 1000000, d));
  CHECK(df.counters().datagrams == 2);
  CHECK(df.incomplete_now() == 1);
  CHECK(ended(df) == df.counters().datagrams);
}

TEST_CASE("defrag: at the byte cap the oldest datagrams are given up, counted, and the cap holds",
          "[audit][defrag]") {
  DefragLimits lim;
  // Room for one datagram of 1000 bytes in one run, not for two.
  lim.held = Defragmenter::kDatagramOverhead + Defragmenter::kRunOverhead + 1500;
  Defragmenter df(lim);
  FirstFragment first;
  Datagram d;
  const std::string k(1000, 'k');
  CHECK_FALSE(df.add(Frag(1, 0, true, k, &first).f, kT0, d));
  CHECK_FALSE(df.add(Frag(2, 0, true, k, &first).f, kT0 + 1, d));
  CHECK(df.counters().dropped_at_cap == 1);  // datagram 1, the older
  CHECK(df.incomplete_now() == 1);
  CHECK(df.counters().held <= lim.held);
  CHECK(df.counters().peak <= lim.held);
  REQUIRE(df.add(Frag(2, 1000, false, "tail").f, kT0 + 2, d));  // datagram 2 completes
  CHECK(d.total == 1004);
  CHECK_FALSE(df.add(Frag(1, 1000, false, "tail").f, kT0 + 3, d));  // datagram 1 lost its first fragment
  // A datagram that alone is larger than the cap is given up too.
  CHECK_FALSE(df.add(Frag(3, 2000, true, k).f, kT0 + 4, d));
  CHECK(df.counters().dropped_at_cap >= 2);
  CHECK(df.counters().held <= lim.held);
  CHECK(ended(df) == df.counters().datagrams);
}

TEST_CASE("defrag: a cap below one datagram's bookkeeping keeps nothing, also for datagrams given up otherwise",
          "[audit][defrag]") {
  DefragLimits lim;
  lim.held = 64;
  Defragmenter df(lim);
  FirstFragment first;
  Datagram d;
  Frag a(21, 0, true, "AAAAAAAAAAAAAAAA", &first);
  a.f.caplen = 4;
  CHECK_FALSE(df.add(a.f, kT0, d));                                  // not captured in full
  CHECK_FALSE(df.add(Frag(22, 65528, false, "0123456789").f, kT0, d));  // past 65535
  CHECK_FALSE(df.add(Frag(23, 8, false, "BBBB").f, kT0, d));            // an ordinary fragment
  CHECK(df.counters().not_captured == 1);
  CHECK(df.counters().invalid == 1);
  CHECK(df.counters().dropped_at_cap == 1);
  CHECK(df.counters().held == 0);
  CHECK(df.counters().peak <= lim.held);
  CHECK(df.incomplete_now() == 0);
  CHECK(ended(df) == df.counters().datagrams);
}

TEST_CASE("defrag: a fragment the capture cut short gives the datagram up, its later fragments counted late",
          "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  Frag a(6, 0, true, "AAAAAAAAAAAAAAAA", &first);
  a.f.caplen = 10;  // snap length
  CHECK_FALSE(df.add(a.f, kT0, d));
  CHECK(df.counters().not_captured == 1);
  CHECK_FALSE(df.add(Frag(6, 16, false, "BBBB").f, kT0, d));
  CHECK(df.counters().late_fragments == 1);
  CHECK(df.counters().reassembled == 0);
  CHECK(df.incomplete_now() == 0);
  CHECK(ended(df) == df.counters().datagrams);
}

TEST_CASE("defrag: impossible datagrams are invalid, counted once", "[audit][defrag]") {
  FirstFragment first;
  Datagram d;
  SECTION("past 65535 bytes (the ping of death)") {
    Defragmenter df;
    CHECK_FALSE(df.add(Frag(8, 65528, false, std::string(16, 'x')).f, kT0, d));
    CHECK(df.counters().invalid == 1);
  }
  SECTION("two last fragments that disagree on the end") {
    Defragmenter df;
    CHECK_FALSE(df.add(Frag(8, 16, false, "12345678").f, kT0, d));
    CHECK_FALSE(df.add(Frag(8, 16, false, "1234").f, kT0, d));
    CHECK(df.counters().invalid == 1);
    CHECK_FALSE(df.add(Frag(8, 0, true, std::string(16, 'a'), &first).f, kT0, d));  // too late
    CHECK(df.counters().late_fragments == 1);
    CHECK(df.counters().reassembled == 0);
  }
  SECTION("bytes past the end the last fragment set") {
    Defragmenter df;
    CHECK_FALSE(df.add(Frag(8, 32, true, "12345678").f, kT0, d));
    CHECK_FALSE(df.add(Frag(8, 16, false, "1234").f, kT0, d));
    CHECK(df.counters().invalid == 1);
  }
}

TEST_CASE("defrag: the end of a timeline gives up what is incomplete, so another capture cannot complete it",
          "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  CHECK_FALSE(df.add(Frag(11, 0, true, "AAAAAAAA", &first).f, kT0, d));
  CHECK_FALSE(df.add(Frag(12, 8, false, "BBBB").f, kT0, d));
  df.end_timeline();
  CHECK(df.counters().ended_incomplete == 2);
  CHECK(df.incomplete_now() == 0);
  CHECK(df.counters().held == 0);
  CHECK_FALSE(df.add(Frag(11, 8, false, "BBBB").f, kT0 - 1000000, d));
  CHECK(df.counters().reassembled == 0);
}

TEST_CASE("defrag: many tiny fragments in any order complete, the charge returns to 0", "[audit][defrag]") {
  Defragmenter df;
  FirstFragment first;
  Datagram d;
  std::string all;
  for (int i = 0; i < 200; ++i) all += std::string(8, static_cast<char>('a' + i % 26));
  // Odd pieces first, then even ones backwards: every piece lands between pieces already held.
  bool done = false;
  for (int i = 1; i < 200; i += 2) {
    done = df.add(Frag(13, 8 * i, i != 199, all.substr(8 * i, 8)).f, kT0, d);
    CHECK_FALSE(done);
  }
  for (int i = 198; i >= 0; i -= 2) {
    done = df.add(Frag(13, 8 * i, true, all.substr(8 * i, 8), i == 0 ? &first : nullptr).f, kT0, d);
    CHECK(done == (i == 0));
  }
  REQUIRE(done);
  CHECK(text(d) == all);
  CHECK(d.runs.size() == 200);
  CHECK(df.counters().held == 0);
  CHECK(df.counters().overlapping_fragments == 0);
}
