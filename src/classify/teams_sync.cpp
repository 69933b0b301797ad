#include "classify/teams_sync.hpp"

#include <algorithm>

namespace sealscope::classify {

TeamsCacheSync::TeamsCacheSync(uint32_t workers)
    : workers_(workers), lanes_(std::make_unique<Lane[]>(workers)), pos_(std::make_unique<Pos[]>(workers)) {
  for (uint32_t w = 0; w < workers; ++w) lanes_[w].slots.resize(kSlots);
}

void TeamsCacheSync::publish(uint32_t w, uint64_t seq, uint32_t key, uint16_t seconds, uint64_t caught_up) {
  Lane& l = lanes_[w];
  std::lock_guard lock(l.m);
  std::vector<Write>& v = l.slots[key % kSlots];
  v.push_back({seq, key, seconds});
  if (v.size() >= 64) trim(v, w, seq, caught_up);
}

void TeamsCacheSync::trim(std::vector<Write>& v, uint32_t w, uint64_t seq, uint64_t caught_up) const {
  uint64_t lowest = kEnd;  // no worker reads before this any more
  for (uint32_t l = 0; l < workers_; ++l) {
    uint64_t at = pos_[l].seq.load(std::memory_order_relaxed);
    if (l == w || (l < 64 && ((caught_up >> l) & 1) != 0)) at = std::max(at, seq);
    lowest = std::min(lowest, at);
  }
  // A read at `lowest` or later sees the last write before it and those after: the rest can go.
  auto keep = std::partition_point(v.begin(), v.end(), [&](const Write& x) { return x.seq < lowest; });
  if (keep != v.begin()) --keep;
  v.erase(v.begin(), keep);
}

size_t TeamsCacheSync::held() const {
  size_t n = 0;
  for (uint32_t l = 0; l < workers_; ++l) {
    std::lock_guard lock(lanes_[l].m);
    for (const auto& v : lanes_[l].slots) n += v.size();
  }
  return n;
}

bool TeamsCacheSync::hit(uint32_t w, uint64_t seq, uint32_t key, uint16_t seconds) const {
  const uint32_t slot = key % kSlots;
  bool found = false;
  Write latest{};
  for (uint32_t l = 0; l < workers_; ++l) {
    const Lane& lane = lanes_[l];
    std::lock_guard lock(lane.m);
    const std::vector<Write>& v = lane.slots[slot];
    // Own writes are all before the read; another worker's count only from packets before it.
    auto end = l == w ? v.end()
                      : std::partition_point(v.begin(), v.end(), [&](const Write& x) { return x.seq < seq; });
    if (end == v.begin()) continue;
    const Write& x = *(end - 1);
    // Two workers never write at the same packet (a frame goes to one worker): ties are only the own
    // worker's write at this very packet, which is the later one.
    if (!found || x.seq > latest.seq || (x.seq == latest.seq && l == w)) latest = x, found = true;
  }
  // nDPI: hit when the slot holds this key and (now - then), in 16 bits, is under 60 s.
  return found && latest.key == key && static_cast<uint16_t>(seconds - latest.seconds) < kFreshSeconds;
}

}  // namespace sealscope::classify
