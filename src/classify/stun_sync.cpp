#include "classify/stun_sync.hpp"

#include <algorithm>
#include <array>
#include <thread>

#include "decode/packet.hpp"

namespace sealscope::classify {

namespace {
// nDPI 4.2 hangout.c: HANGOUT_UDP_LOW_PORT .. HANGOUT_UDP_HIGH_PORT, payloads longer than 24 bytes.
constexpr uint16_t kHangoutLow = 19302, kHangoutHigh = 19309;
constexpr uint32_t kStunHeader = 20;  // stun.c: sizeof(struct stun_packet_header)
constexpr uint32_t kStunMax = 512;    // stun.c: longer payloads are not STUN

/// Whether a payload of `n` bytes (of which `have` captured, at `b`) can take stun.c to its cache.
bool stun_like(const uint8_t* b, uint32_t have, uint32_t n) {
  if (n == 0 || n >= kStunMax) return false;
  if (n < kStunHeader) return true;
  if (have >= 4 && ((uint32_t{b[2]} << 8) | b[3]) + kStunHeader == n) return true;
  return have >= 4 && b[0] == 'R' && b[1] == 'S' && b[2] == 'P' && b[3] == '/';
}
}  // namespace

bool may_touch_stun_cache(const decode::Packet& p) noexcept {
  if (p.ip_version != 4 || p.l4_proto != 17 || !p.has_ports || p.later_fragment || p.payload == nullptr) {
    return false;
  }
  // nDPI takes the payload's length from what it is given (the IP packet as captured, cut at the IP length),
  // the decoder from the headers: either may be the one nDPI goes by, so both are tried.
  const uint32_t ihl = p.l3 != nullptr && p.l3_caplen > 0 ? (p.l3[0] & 0x0Fu) * 4 : 0;
  const uint32_t l3 = std::min(p.ip_len, p.l3_caplen);
  const uint32_t seen = l3 >= ihl + 8 ? l3 - ihl - 8 : 0;
  for (uint32_t n : {p.payload_len, p.payload_caplen, seen}) {
    if (stun_like(p.payload, p.payload_caplen, n)) return true;
    if (n > 24 && ((p.sport >= kHangoutLow && p.sport <= kHangoutHigh) ||
                   (p.dport >= kHangoutLow && p.dport <= kHangoutHigh))) {
      return true;
    }
  }
  return false;
}

bool StunCacheSync::key_slots(const uint8_t* l3, uint32_t l3_caplen, uint32_t (&slots)[2]) noexcept {
  if (l3 == nullptr || l3_caplen < 20) return false;
  const uint32_t ihl = (l3[0] & 0x0Fu) * 4;
  if (l3_caplen < ihl + 4) return false;
  auto be32 = [](const uint8_t* b) {
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  };
  auto be16 = [](const uint8_t* b) { return static_cast<uint32_t>((b[0] << 8) | b[1]); };
  slots[0] = (be32(l3 + 12) + be16(l3 + ihl)) % kSlots;
  slots[1] = (be32(l3 + 16) + be16(l3 + ihl + 2)) % kSlots;
  return true;
}

StunCacheSync::StunCacheSync(uint32_t workers)
    : workers_(workers),
      done_(std::make_unique<Done[]>(workers)),
      logs_(std::make_unique<Log[]>(workers)),
      read_(std::make_unique<std::atomic<uint64_t>[]>(size_t{workers} * workers)) {
  for (size_t i = 0; i < size_t{workers} * workers; ++i) read_[i].store(0, std::memory_order_relaxed);
}

void StunCacheSync::wait(uint32_t w, const uint64_t* need) const noexcept {
  for (uint32_t l = 0; l < workers_; ++l) {
    if (l == w) continue;
    Done& d = done_[l];
    // Usually the other worker is close behind and busy: spin a little, then sleep until it gets there
    // (the machine may have fewer cores than threads: spinning longer would keep it from the core).
    for (unsigned i = 0; i < 128 && frames_done(l) < need[l]; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    while (frames_done(l) < need[l] && !abandoned_.load(std::memory_order_acquire)) {
      const uint32_t ticket = d.sleep.load(std::memory_order_acquire);
      {
        std::lock_guard lock(d.m);
        if (need[l] < d.wake_at.load(std::memory_order_relaxed)) d.wake_at.store(need[l], std::memory_order_seq_cst);
      }
      if (d.frames.load(std::memory_order_seq_cst) >= need[l] || abandoned_.load(std::memory_order_acquire)) break;
      d.sleep.wait(ticket, std::memory_order_acquire);
    }
  }
}

void StunCacheSync::wake(Done& d) noexcept {
  {
    std::lock_guard lock(d.m);
    d.wake_at.store(kNobody, std::memory_order_seq_cst);
  }
  // Every sleeper wakes and checks its own count again; one wanting more sets wake_at anew.
  d.sleep.fetch_add(1, std::memory_order_release);
  d.sleep.notify_all();
}

void StunCacheSync::abandon() noexcept {
  abandoned_.store(true, std::memory_order_seq_cst);
  for (uint32_t l = 0; l < workers_; ++l) wake(done_[l]);
}

void StunCacheSync::publish(uint32_t w, const Write& x, uint64_t caught_up) {
  Log& log = logs_[w];
  std::lock_guard lock(log.m);
  log.writes.push_back(x);
  trim(w);
  if (log.writes.size() >= 2 * kSlots) {
    bool all = true;
    for (uint32_t r = 0; r < workers_ && all; ++r) all = r == w || (r < 64 && ((caught_up >> r) & 1) != 0);
    if (all) collapse(w);
  }
  log.end.store(log.base + log.writes.size(), std::memory_order_release);
}

void StunCacheSync::collapse(uint32_t l) {
  Log& log = logs_[l];
  // From the first write no reader has taken: positions before it stay as they are.
  uint64_t from = log.base;
  for (uint32_t r = 0; r < workers_; ++r) {
    if (r != l) from = std::max(from, read_[r * workers_ + l].load(std::memory_order_relaxed));
  }
  const size_t start = static_cast<size_t>(from - log.base);
  if (log.writes.size() - start < 2 * kSlots) return;
  std::array<uint8_t, kSlots> later{};  // a later write to the slot is kept (on the stack: no allocation)
  size_t keep = log.writes.size();
  for (size_t i = log.writes.size(); i-- > start;) {
    const Write& x = log.writes[i];
    if (later[x.slot] != 0) continue;
    later[x.slot] = 1;
    log.writes[--keep] = x;
  }
  log.writes.erase(log.writes.begin() + static_cast<std::ptrdiff_t>(start),
                   log.writes.begin() + static_cast<std::ptrdiff_t>(keep));
}

void StunCacheSync::trim(uint32_t l) {
  Log& log = logs_[l];
  if (log.writes.size() < 1024) return;  // a few KiB: not worth a move yet
  uint64_t taken = log.base + log.writes.size();
  for (uint32_t r = 0; r < workers_; ++r) {
    if (r != l) taken = std::min(taken, read_[r * workers_ + l].load(std::memory_order_relaxed));
  }
  if (taken - log.base < log.writes.size() / 2) return;  // most are still wanted: keep moving rarely
  log.writes.erase(log.writes.begin(), log.writes.begin() + static_cast<std::ptrdiff_t>(taken - log.base));
  log.base = taken;
}

}  // namespace sealscope::classify
