#pragma once
// nDPI 4.2 names a Skype call Teams when the host it comes from has just used Teams (ndpi_main.c,
// ndpi_reconcile_protocols, run at the end of a detection call and of a give-up): a TCP flow labelled
// Teams writes its source address (the flow's saddr, the source of the last packet nDPI tracked) with the
// time in seconds, 16 bits, into a cache of 1 024 slots (slot = address % 1 024, one entry each, a write
// replaces it); a UDP flow labelled Skype_Teams or SkypeCall reads its own saddr's slot, and if the entry
// is that address and under 60 s old, reports Teams instead and writes the entry anew with its own time.
// The cache is per detection module. With several workers a module sees one shard, and a host's slot is
// shared with every address 1 024 apart in other shards: on the bench capture with two workers 26 of
// 50 770 flows got the other of the two labels (STUN.Teams for STUN.SkypeCall and back).
//
// Unlike the STUN cache (stun_sync.hpp), which packets use it shows only in nDPI's result, so nothing
// waits in advance. Instead each worker's module is made to show every use (NdpiEngine sets the slots a
// call could use before it: empty for TCP, so that a write shows; a matching fresh entry for UDP, so that
// a read hits and shows as Teams over a Skype label), and the history of the cache lives here, as the
// writes each worker published, each at its packet's sequence number. A read is decided once every other
// worker has finished the frames before its packet, from the latest write to its slot before the packet
// among all workers: what one module reading the whole capture would have held. A read that hits is
// itself a write (the refreshed entry).
// Hand-written: no packaged library synchronises a cache inside another library's private state.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace sealscope::classify {

class TeamsCacheSync {
 public:
  static constexpr uint32_t kSlots = 1024;      ///< nDPI 4.2: ndpi_lru_cache_init(1024) for msteams_cache
  static constexpr uint16_t kFreshSeconds = 60;  ///< a read hits an entry younger than this
  /// The sequence number of events after the last packet (end-of-input give-ups): each worker's are seen
  /// only by its own later reads, so the outcome does not depend on how the workers' ends interleave.
  static constexpr uint64_t kEnd = ~uint64_t{0};

  explicit TeamsCacheSync(uint32_t workers);
  uint32_t workers() const { return workers_; }

  /// Worker `w`'s module wrote `key` with `seconds` into the cache at packet `seq` (never lower than its
  /// previous writes' or its last at()). Bit l of `caught_up` says that worker l has finished every frame
  /// sent to it before that packet: its later reads are after the packet (its next frames, and the ticks
  /// and timeline records that count as frames, come after), however long it has had nothing to do.
  void publish(uint32_t w, uint64_t seq, uint32_t key, uint16_t seconds, uint64_t caught_up = 0);
  /// Whether a read by worker `w` at packet `seq` of `key` at `seconds` hits, as in one module: the entry
  /// is the latest write to the key's slot among worker `w`'s own (all earlier than the read) and the other
  /// workers' at packets before `seq` (their writes at the same `seq`, only kEnd or a record without a
  /// packet, are concurrent: not seen). The caller has waited for the other workers to finish those
  /// packets. Does not write: on a hit the caller publishes the refreshed entry.
  bool hit(uint32_t w, uint64_t seq, uint32_t key, uint16_t seconds) const;
  /// Worker `w` has reached packet `seq`: its later reads are at `seq` or after, so each worker's writes
  /// that every worker has passed, but the last one in each slot, can go (a worker that gets no packets
  /// does not hold them back: see publish's `caught_up`). Writes are kept per worker and slot; a slot's
  /// are trimmed when 64 have gathered.
  void at(uint32_t w, uint64_t seq) noexcept { pos_[w].seq.store(seq, std::memory_order_relaxed); }
  /// Writes held, over all workers and slots (what trimming bounds).
  size_t held() const;

 private:
  struct Write {
    uint64_t seq;
    uint32_t key;
    uint16_t seconds;
  };
  struct alignas(64) Pos {
    std::atomic<uint64_t> seq{0};
  };
  struct Lane {
    mutable std::mutex m;
    std::vector<std::vector<Write>> slots;  ///< per slot, this worker's writes in order
  };
  /// Drops the writes of `v` that no read can see any more, worker `w` being at `seq` (called with its lane
  /// locked).
  void trim(std::vector<Write>& v, uint32_t w, uint64_t seq, uint64_t caught_up) const;

  const uint32_t workers_;
  std::unique_ptr<Lane[]> lanes_;
  std::unique_ptr<Pos[]> pos_;
};

}  // namespace sealscope::classify
