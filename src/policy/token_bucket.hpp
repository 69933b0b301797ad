#pragma once
#include <cstdint>

#include "common/types.hpp"

namespace sealscope::policy {

/// Token bucket for a throttle of `kbit_s` kbit/s with a depth of one second's worth (kbit_s × 125 bytes),
/// full at the first packet. Integer arithmetic in 1/8000-byte units, so results are exact and
/// reproducible: a byte costs 8000 units and one µs adds kbit_s units.
class TokenBucket {
 public:
  TokenBucket() = default;
  explicit TokenBucket(uint32_t kbit_s) : rate_(kbit_s), depth_(int64_t{kbit_s} * 1000000) {}

  /// True when a packet of `bytes` at `ts` conforms (and takes its tokens); false when it is dropped.
  bool admit(TimestampUs ts, uint32_t bytes) {
    if (!started_) {
      tokens_ = depth_;
      last_ = ts;
      started_ = true;
    } else if (ts > last_) {
      const int64_t add = (ts - last_) * int64_t{rate_};
      tokens_ = add >= depth_ - tokens_ ? depth_ : tokens_ + add;
      last_ = ts;
    }
    const int64_t cost = int64_t{bytes} * 8000;
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }
  /// Bytes currently in the bucket (rounded down).
  int64_t tokens_bytes() const { return tokens_ / 8000; }
  uint32_t rate_kbit_s() const { return rate_; }

 private:
  uint32_t rate_ = 0;
  int64_t depth_ = 0;
  int64_t tokens_ = 0;
  TimestampUs last_ = 0;
  bool started_ = false;
};

}  // namespace sealscope::policy
