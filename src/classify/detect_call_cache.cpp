#include "classify/detect_call_cache.hpp"

#include <xxhash.h>

#include <cstring>

namespace sealscope::classify {
namespace {
bool same(const IpAddr& a, const IpAddr& b) noexcept {
  return a.version == b.version && std::memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}
}  // namespace

std::size_t CallCache::hash(const IpAddr& ep, uint16_t port) noexcept {
  // xxHash, as the flow and fragment tables use, over address, version and port.
  uint8_t k[sizeof ep.bytes + 3];
  std::memcpy(k, ep.bytes, sizeof ep.bytes);
  k[sizeof ep.bytes] = ep.version;
  k[sizeof ep.bytes + 1] = static_cast<uint8_t>(port >> 8);
  k[sizeof ep.bytes + 2] = static_cast<uint8_t>(port);
  return static_cast<std::size_t>(XXH3_64bits(k, sizeof k));
}

void CallCache::add(const IpAddr& ep, uint16_t port, DetApp app, TimestampUs from, TimestampUs to) noexcept {
  if (app == DetApp::None || ep.version == 0) return;
  const std::size_t h = hash(ep, port);
  Entry* victim = nullptr;
  for (std::size_t i = 0; i < kProbe; ++i) {
    Entry& e = slots_[(h + i) & (kCapacity - 1)];
    if (e.app != DetApp::None && e.port == port && same(e.ep, ep)) {
      e.app = app;
      if (from < e.from) e.from = from;
      if (to > e.to) e.to = to;
      return;
    }
    if (e.app == DetApp::None) {
      if (victim == nullptr || victim->app != DetApp::None) victim = &e;
    } else if (victim == nullptr || (victim->app != DetApp::None && e.to < victim->to)) {
      victim = &e;  // the entry used longest ago
    }
  }
  if (victim->app == DetApp::None) ++used_;
  *victim = Entry{ep, port, app, from, to};
}

DetApp CallCache::find(const IpAddr& ep, uint16_t port, TimestampUs from, TimestampUs to) const noexcept {
  const std::size_t h = hash(ep, port);
  for (std::size_t i = 0; i < kProbe; ++i) {
    const Entry& e = slots_[(h + i) & (kCapacity - 1)];
    if (e.app == DetApp::None || e.port != port || !same(e.ep, ep)) continue;
    const TimestampUs lo = e.from > kMarginUs ? e.from - kMarginUs : 0;
    if (to >= lo && from <= e.to + kMarginUs) return e.app;
  }
  return DetApp::None;
}

}  // namespace sealscope::classify
