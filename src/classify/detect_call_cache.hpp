#pragma once
// Per-call correlation (the idea of current nDPI's STUN cache): once one flow of a call is known, the
// call's participant endpoints (address + port) are remembered with the app and the time span they were
// seen in; another flow that shares such an endpoint within that span (plus a margin) belongs to the
// same call and inherits the app. Only endpoints that act as call participants are stored (the sender
// of STUN requests, both peers of peer-to-peer media, the client of a relay), never a server that only
// answers, so a shared STUN/TURN server does not join unrelated calls.
// Fixed capacity (open addressing, oldest entry replaced), capture-time expiry, no allocation after
// construction. One per worker.

#include <array>
#include <cstdint>

#include "classify/detect_apps.hpp"
#include "common/types.hpp"

namespace sealscope::classify {

class CallCache {
 public:
  static constexpr std::size_t kCapacity = 4096;   ///< entries (power of two)
  static constexpr std::size_t kProbe = 8;         ///< slots probed per lookup
  static constexpr TimestampUs kMarginUs = TimestampUs{120} * 1000000;  ///< how long after its last use an entry holds

  /// Records that `ep:port` took part in a call of `app` during [from, to].
  void add(const IpAddr& ep, uint16_t port, DetApp app, TimestampUs from, TimestampUs to) noexcept;
  /// The app of a call `ep:port` took part in, overlapping [from - margin, to + margin]; None otherwise.
  DetApp find(const IpAddr& ep, uint16_t port, TimestampUs from, TimestampUs to) const noexcept;
  std::size_t size() const noexcept { return used_; }

 private:
  struct Entry {
    IpAddr ep;
    uint16_t port = 0;
    DetApp app = DetApp::None;
    TimestampUs from = 0, to = 0;
  };
  static std::size_t hash(const IpAddr& ep, uint16_t port) noexcept;
  std::array<Entry, kCapacity> slots_{};
  std::size_t used_ = 0;
};

}  // namespace sealscope::classify
