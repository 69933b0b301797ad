// classify::TeamsCacheSync: nDPI 4.2's Teams cache (ndpi_reconcile_protocols) kept across workers as one
// module's. Across workers end to end, with nDPI itself: teams-cache.pcap in tests/cli/check_workers.py.
#include <catch2/catch.hpp>

#include <cstdint>

#include "classify/teams_sync.hpp"

using sealscope::classify::TeamsCacheSync;

namespace {
constexpr uint32_t kX = 0x64400A01;           // 100.64.10.1
constexpr uint32_t kZ = kX + 1024;            // the same slot
constexpr uint32_t kOther = kX + 1;           // another slot
}  // namespace

TEST_CASE("Teams cache: a read hits its own key's fresh entry, as nDPI's lookup does", "[teams_sync]") {
  TeamsCacheSync s(2);
  CHECK_FALSE(s.hit(0, 10, kX, 100));  // nothing written
  s.publish(0, 5, kX, 100);
  CHECK(s.hit(0, 10, kX, 100));
  CHECK(s.hit(0, 10, kX, 159));        // 59 s old
  CHECK_FALSE(s.hit(0, 10, kX, 160));  // 60 s: too old
  CHECK_FALSE(s.hit(0, 10, kZ, 100));  // the slot holds another address
  CHECK_FALSE(s.hit(0, 10, kOther, 100));
  // Seconds are 16 bits, and nDPI subtracts them as such: 65 530 then 5 is 11 s.
  s.publish(0, 6, kOther, 65530);
  CHECK(s.hit(0, 10, kOther, 5));
  CHECK_FALSE(s.hit(0, 10, kOther, 65529));  // "earlier" wraps to 65 535 s old
}

TEST_CASE("Teams cache: another worker's writes count from packets before the read only", "[teams_sync]") {
  TeamsCacheSync s(2);
  s.publish(1, 20, kX, 100);  // worker 1 at packet 20
  CHECK_FALSE(s.hit(0, 20, kX, 100));  // worker 0 reads at packet 20 (its own): not before it
  CHECK_FALSE(s.hit(0, 15, kX, 100));
  CHECK(s.hit(0, 21, kX, 100));
  // The latest write before the read wins, whichever worker made it: Z replaces X at packet 30.
  s.publish(0, 30, kZ, 101);
  CHECK_FALSE(s.hit(1, 40, kX, 101));
  CHECK(s.hit(1, 25, kX, 101));  // a read between the two still finds X
  CHECK(s.hit(1, 40, kZ, 101));
  // Worker 1's own later write is seen by its own reads whatever the other has done.
  s.publish(1, 35, kX, 102);
  CHECK(s.hit(1, 40, kX, 102));
  CHECK_FALSE(s.hit(0, 35, kX, 102));  // worker 0 at packet 35 sees its own Z (packet 30), not 35
  CHECK(s.hit(0, 36, kX, 102));
}

TEST_CASE("Teams cache: end-of-input writes are seen by their own worker only", "[teams_sync]") {
  TeamsCacheSync s(2);
  s.publish(0, 10, kX, 100);
  s.publish(1, TeamsCacheSync::kEnd, kZ, 100);  // a give-up at the end, worker 1
  CHECK(s.hit(0, TeamsCacheSync::kEnd, kX, 100));  // worker 0 at the end: worker 1's end is concurrent
  CHECK_FALSE(s.hit(1, TeamsCacheSync::kEnd, kX, 100));  // worker 1's own end write replaced X
  CHECK(s.hit(1, TeamsCacheSync::kEnd, kZ, 100));
}

TEST_CASE("Teams cache: trimming keeps what a later read can see", "[teams_sync]") {
  TeamsCacheSync s(2);
  // 200 writes by worker 0 to one slot, alternating X and Z, while both workers move on.
  for (uint64_t i = 1; i <= 200; ++i) {
    s.at(0, i);
    s.at(1, i);
    s.publish(0, i, (i % 2) != 0 ? kX : kZ, static_cast<uint16_t>(1000 + i));
  }
  // Both workers are at packet 200: reads at 200 or later see the last write (Z at 200) only.
  CHECK(s.hit(1, 201, kZ, 1200));
  CHECK_FALSE(s.hit(1, 201, kX, 1200));
  CHECK(s.hit(1, 200, kX, 1199));  // before 200: X at 199, still kept
  // A worker that lags keeps the older writes it may still read.
  TeamsCacheSync t(2);
  t.at(1, 50);
  for (uint64_t i = 1; i <= 200; ++i) {
    t.at(0, i);
    t.publish(0, i, (i % 2) != 0 ? kX : kZ, static_cast<uint16_t>(1000 + i));
  }
  CHECK(t.hit(1, 52, kX, 1051));   // X at 51
  CHECK(t.hit(1, 51, kZ, 1050));   // Z at 50
  CHECK_FALSE(t.hit(1, 52, kZ, 1051));
}

TEST_CASE("Teams cache: a worker that gets no packets does not hold writes back once it has caught up",
          "[teams_sync]") {
  // Worker 1 never gets a packet (a capture of one subscriber: every flow in worker 0's shard), so its
  // position stays at 0. Worker 0 writes one slot 10 000 times.
  auto run = [](uint64_t caught_up) {
    TeamsCacheSync s(2);
    for (uint64_t i = 1; i <= 10000; ++i) {
      s.at(0, i);
      s.publish(0, i, (i % 2) != 0 ? kX : kZ, static_cast<uint16_t>(i), caught_up);
    }
    return s;
  };
  // Worker 0 knows worker 1 has finished everything sent to it before each write: only the last writes stay.
  const TeamsCacheSync idle = run(0b10);
  CHECK(idle.held() < 64);
  CHECK(idle.hit(1, 10001, kZ, 10000));  // what worker 1 can still read, after the last packet, is there
  CHECK_FALSE(idle.hit(1, 10001, kX, 10000));
  CHECK_FALSE(idle.hit(1, 52, kX, 51));  // a read it can no longer make: gone
  // Without that knowledge worker 1 may still read at packet 1, so everything stays.
  const TeamsCacheSync lagging = run(0);
  CHECK(lagging.held() == 10000);
  CHECK(lagging.hit(1, 52, kX, 51));
}
