// A tally's distinct subscribers: one bit per subscriber number, counted once however often it comes.
#include <catch2/catch.hpp>

#include "policy/dry_run.hpp"

using sealscope::policy::SubscriberBits;

TEST_CASE("subscriber bits: each number counted once, across words and far apart", "[policy][tally]") {
  SubscriberBits s;
  CHECK(s.size() == 0);
  for (uint32_t n : {0u, 63u, 64u, 0u, 63u, 1000003u, 64u, 1000003u, 65u}) s.add(n);
  CHECK(s.size() == 5);  // 0, 63, 64, 65, 1000003
  SubscriberBits t;
  for (uint32_t n = 0; n < 10000; ++n) t.add(n % 2500);
  CHECK(t.size() == 2500);
}
