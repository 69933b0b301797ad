#pragma once
// nDPI 4.2 labels a STUN flow partly from a cache of earlier STUN verdicts (protocols/stun.c and hangout.c:
// 1 024 slots, one entry each, slot = key % 1 024, key = an IPv4 address plus a port; a write replaces the
// slot, a read changes nothing). The cache is per detection module, and a module sees one shard's packets:
// with several workers a lookup could find what one module reading the whole capture would not, or miss
// what it would find (STUN.FacebookVoip for STUN.GoogleHangoutDuo and the like: 100 of 50 770 flows on the
// bench capture). StunCacheSync keeps every worker's cache, at each packet nDPI may read or write it with,
// as one module would hold it at that packet. nDPI can touch only the two slots the packet's keys name,
// and every write to a slot comes from a packet that may_touch_stun_cache picks and whose keys name it.
// The capture thread stamps each such packet with its sequence number and, for every other worker, the
// count of that worker's frames up to its last such packet naming either slot (Analyzer::push_stamped).
// Before nDPI sees the packet, its worker waits until the others have finished those frames, takes the
// writes they published from before the packet (per slot, a later write wins), and afterwards publishes
// what nDPI wrote. On the bench capture with two workers, about 500 of the 16 000 nDPI calls on stamped
// packets had to wait, and the run took as long as before; waiting for every frame sent before the packet
// had instead made 4 400 of them wait and the run 23 % slower.
// Hand-written: no packaged library synchronises a cache inside another library's private state.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace sealscope::decode {
struct Packet;
}

namespace sealscope::classify {

/// Whether nDPI 4.2 may read or write its STUN cache on this packet: IPv4 UDP (as nDPI sees it: the
/// innermost header) whose payload either is shorter than a STUN header (stun.c takes it for STUN in a
/// flow that has had STUN), or has a STUN header's length field that fits the payload, or begins "RSP/"
/// (the text STUN stun.c knows), or goes to or from Hangout's UDP ports (hangout.c). Every path to the
/// cache in stun.c and hangout.c needs one of these, so packets outside them cannot reach it; most inside
/// them do not either (the flow is decided, or the header is not STUN's after all). Decided on what the
/// decoder found, on the capture thread.
bool may_touch_stun_cache(const decode::Packet& p) noexcept;

class StunCacheSync {
 public:
  static constexpr uint32_t kSlots = 1024;  ///< nDPI 4.2 creates its STUN cache with 1 024 entries
  /// One write to a module's cache: at which packet (the capture's packet sequence number), which slot, and
  /// the entry as nDPI stores it (its 8 bytes, copied whole).
  struct Write {
    uint64_t seq = 0;
    uint32_t slot = 0;
    uint64_t entry = 0;
  };

  /// The two slots nDPI 4.2 keys a packet under (stun.c get_stun_lru_key: source address + source port and
  /// destination address + destination port, 32-bit sums, modulo kSlots), read from its IPv4 header on.
  /// False when the header and ports are not both captured: nDPI has no keys for it. The capture thread's
  /// stamps and the worker's merges must name the same slots, so both take them from here.
  static bool key_slots(const uint8_t* l3, uint32_t l3_caplen, uint32_t (&slots)[2]) noexcept;

  explicit StunCacheSync(uint32_t workers);
  uint32_t workers() const { return workers_; }

  /// Worker `w` has finished one more frame of its ring (its writes for it published). Wakes a worker
  /// waiting for this count (seq_cst with wait()'s: one of the two always sees the other).
  void frame_done(uint32_t w) noexcept {
    Done& d = done_[w];
    const uint64_t n = d.frames.load(std::memory_order_relaxed) + 1;
    d.frames.store(n, std::memory_order_seq_cst);
    if (n >= d.wake_at.load(std::memory_order_seq_cst)) wake(d);
  }
  /// Frames worker `w` has finished.
  uint64_t frames_done(uint32_t w) const noexcept { return done_[w].frames.load(std::memory_order_acquire); }
  /// Worker `w`, before a packet whose stamp says `need[l]` frames had gone to each worker l before it:
  /// returns once every other worker has finished those (or abandon() was called). Spins briefly, then yields.
  void wait(uint32_t w, const uint64_t* need) const noexcept;
  /// Worker `w`'s module wrote `x` (in packet order: seq never goes down for one worker). Bit l of
  /// `caught_up` says that worker l has finished every frame sent to it before x's packet: its next take()
  /// is for a later packet, so it will take every write logged so far and needs only the last in each slot.
  /// When every other worker has, the writes none has taken yet are cut to that (a worker that never
  /// takes, having no STUN to look at, would otherwise keep them all for the whole run).
  void publish(uint32_t w, const Write& x, uint64_t caught_up = 0);
  /// Calls `apply(const Write&)` for every write the other workers published with seq < `before` that
  /// worker `w` has not taken yet, each writer's in order.
  template <class F>
  void take(uint32_t w, uint64_t before, F&& apply) {
    for (uint32_t l = 0; l < workers_; ++l) {
      if (l == w) continue;
      Log& log = logs_[l];
      std::atomic<uint64_t>& pos = read_[w * workers_ + l];
      uint64_t at = pos.load(std::memory_order_relaxed);
      if (log.end.load(std::memory_order_acquire) == at) continue;  // nothing new: no lock
      std::lock_guard lock(log.m);
      while (at < log.base + log.writes.size() && log.writes[at - log.base].seq < before) {
        apply(log.writes[at - log.base]);
        ++at;
      }
      pos.store(at, std::memory_order_relaxed);
      trim(l);
    }
  }
  /// A worker stopped processing (an error ends the run): waits return at once from now on.
  void abandon() noexcept;

 private:
  struct alignas(64) Done {
    std::atomic<uint64_t> frames{0};
    /// The lowest count a sleeping waiter wants (kNobody: none sleeps); its waiters sleep on `sleep`.
    std::atomic<uint64_t> wake_at{kNobody};
    std::atomic<uint32_t> sleep{0};
    std::mutex m;  ///< orders waiters lowering wake_at
  };
  static constexpr uint64_t kNobody = ~uint64_t{0};
  static void wake(Done& d) noexcept;
  struct Log {
    std::mutex m;
    std::vector<Write> writes;  ///< writes base .. base + size() - 1 (those every reader has taken are dropped)
    uint64_t base = 0;
    std::atomic<uint64_t> end{0};  ///< base + writes.size(), readable without the lock
  };
  /// Drops the writes of worker `l` that every other worker has taken (called with its log locked).
  void trim(uint32_t l);
  /// Keeps, of the writes of worker `l` that no other worker has taken, the last in each slot (called with
  /// its log locked, when every other worker has caught up).
  void collapse(uint32_t l);

  const uint32_t workers_;
  mutable std::unique_ptr<Done[]> done_;
  std::unique_ptr<Log[]> logs_;
  std::unique_ptr<std::atomic<uint64_t>[]> read_;  ///< [reader * workers + writer]: writes taken
  std::atomic<bool> abandoned_{false};
};

}  // namespace sealscope::classify
