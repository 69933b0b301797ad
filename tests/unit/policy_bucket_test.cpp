#include <catch2/catch.hpp>

#include "policy/token_bucket.hpp"

using sealscope::policy::TokenBucket;

TEST_CASE("policy: token bucket starts full, one second deep, and refills at the rate") {
  TokenBucket b(64);  // 64 kbit/s = 8000 bytes/s, depth 8000 bytes
  CHECK(b.admit(0, 8000));       // the full bucket
  CHECK_FALSE(b.admit(0, 1));    // empty
  CHECK(b.admit(125000, 1000));  // 125 ms later: 1000 bytes back
  CHECK_FALSE(b.admit(125000, 1));
  CHECK(b.admit(10000000, 8000));  // long idle: capped at the depth, not more
  CHECK_FALSE(b.admit(10000000, 1));
}

TEST_CASE("policy: token bucket passes a steady stream at its rate and drops the excess") {
  // 100 packets/s of 200 bytes = 160 kbit/s through a 64 kbit/s bucket for 10 s.
  TokenBucket b(64);
  uint64_t passed = 0, bytes = 0;
  for (int i = 0; i < 1000; ++i) {
    if (b.admit(int64_t{i} * 10000, 200)) {
      ++passed;
      bytes += 200;
    }
  }
  // The initial 8000 bytes plus 8000 bytes/s over the 9.99 s to the last packet: at most 87920 bytes.
  CHECK(bytes <= 8000 + 79920);
  CHECK(bytes >= 8000 + 79920 - 200);
  CHECK(passed == bytes / 200);
}

TEST_CASE("policy: token bucket never refills backwards and rejects packets larger than its depth") {
  TokenBucket b(8);  // 1000 bytes deep
  CHECK_FALSE(b.admit(0, 1001));
  CHECK(b.admit(0, 1000));
  CHECK_FALSE(b.admit(-5000000, 1));  // an older timestamp adds nothing
  CHECK(b.admit(1000, 1));            // 1 ms at 1000 B/s = 1 byte
  CHECK(b.tokens_bytes() == 0);
}
