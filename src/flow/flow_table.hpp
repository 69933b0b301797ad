#pragma once
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "flow/flow.hpp"

namespace sealscope::flow {

/// Timeouts and bounds of the flow table (seconds, flows).
struct FlowTableOptions {
  uint32_t tcp_idle_s = 300;
  uint32_t udp_idle_s = 120;
  uint32_t other_idle_s = 60;
  uint32_t active_s = 1800;       ///< 0 = no active timeout
  uint32_t close_linger_s = 60;   ///< after FIN both ways or RST, absorb stray packets this long (TIME_WAIT)
  uint64_t max_flows = 1000000;   ///< beyond this the least recently seen flow is evicted (counted)
  uint16_t splt = 32;             ///< first-N packet shape entries kept per flow (0 = off)
  uint32_t classify_idle_s = 30;  ///< give up classifying a flow idle this long, freeing nDPI state (0 = never)
  uint32_t park_idle_s = 10;      ///< park (compact) the nDPI state of a flow idle this long (0 = never)
};

/// Receives each flow exactly once when it ends; the flow is recycled after the call returns.
class FlowSink {
 public:
  virtual ~FlowSink() = default;
  virtual void flow_ended(Flow& f) = 0;
};

/// Bidirectional flow table: open-addressing index over a chunked flow pool (lookups never allocate),
/// per-timeout-class LRU lists ordered by last-seen for O(1) idle expiry, bounded size with eviction.
class FlowTable {
 public:
  static constexpr uint32_t kSpltSmall = 8;  ///< SPLT entries of a small overflow slab (see splt_entry)
  FlowTable(const FlowTableOptions& opts, FlowSink& sink, uint64_t seed);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  /// Finds or creates the flow of `key`. `created` tells whether it is new.
  Flow& lookup(const FlowKey& key, TimestampUs now, bool& created);
  /// Marks activity: moves the flow to the tail of its LRU list and updates last_seen.
  void touch(Flow& f, TimestampUs now);
  /// Moves a closing TCP flow to the short linger list.
  void mark_closing(Flow& f, EndReason why);
  /// Ends the flow now (reason set by caller) and recycles it.
  void end(Flow& f, EndReason why);
  /// Ends every flow idle at `now` (O(expired) per call).
  void expire(TimestampUs now);
  /// Ends all remaining flows in creation order (end of input).
  void drain(EndReason why);
  /// Calls fn(Flow&) for every live flow (no record is written).
  template <typename Fn>
  void for_each_live(Fn&& fn) {
    for (int l = 0; l < kLists; ++l) {
      for (uint32_t s = head_[l]; s != kNil; s = at(s).next) fn(at(s));
    }
  }

  Flow* find(const FlowKey& key);
  /// The flow in `slot` (slots are stable while the flow lives).
  Flow& flow_at(uint32_t slot) { return at(slot); }
  uint64_t size() const { return size_; }
  uint64_t peak() const { return peak_; }
  uint64_t evictions() const { return evictions_; }
  uint64_t created() const { return created_; }
  /// Numbers this table's flows first, first + step, first + 2·step, ... (default 0, 1, 2, ...): shard k of
  /// n numbers its flows k, k + n, ..., so flow ids stay unique in a run with several tables. Call before
  /// the first lookup.
  void number_flows(uint64_t first, uint64_t step) {
    next_id_ = first;
    id_step_ = step;
  }
  /// Tests only: moves the creation counter on by `n` (ids spans a real run would take years to reach).
  void skip_ids_for_test(uint64_t n) { next_id_ += n; }
  const FlowTableOptions& options() const { return opts_; }

  /// Where the SPLT entry `i` (< options().splt) of `f` goes. Entries are recorded in order: `i` is the
  /// entry being added, and f.splt_len already counts it (`splt_entry(f, f.splt_len++)`). Beyond the
  /// Flow::kSpltInline entries in the slot, a flow borrows a small overflow slab (the next
  /// kSpltSmall entries), and a flow that goes beyond that too trades it for a slab of all the rest
  /// (copying what the small one held). Which one a flow holds follows from splt_len. A slab comes
  /// from a free list or a new chunk of slabs (amortised); at most two per flow.
  SpltEntry& splt_entry(Flow& f, uint16_t i) {
    if (i < Flow::kSpltInline) return f.splt_head[i];
    const uint32_t j = i - Flow::kSpltInline;
    if (j < small_.per) {
      if (f.splt_more == kNil) f.splt_more = small_.alloc();
      return small_.at(f.splt_more)[j];
    }
    if (j == small_.per) move_to_big(f);
    return big_.at(f.splt_more)[j];
  }
  /// The flow's recorded SPLT entries, in order, into `out`.
  void splt_copy(const Flow& f, std::vector<SpltEntry>& out) const;
  /// Forgets the flow's SPLT entries (an active timeout starts the flow's shape afresh) and returns its slab.
  void splt_clear(Flow& f);

  /// Bytes the table holds for a flow of `packets` packets (for documentation and --help): its slot, its
  /// share of the index and the overflow slab it holds, if any, with `splt` SPLT entries kept per flow.
  static size_t bytes_per_flow(uint16_t splt, uint64_t packets);

 private:
  static constexpr uint32_t kNil = 0xFFFFFFFFu;
  static constexpr int kLists = 4;  // tcp, udp, other, closing
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunkMask = (1u << kChunkBits) - 1;

  Flow& at(uint32_t slot) { return chunks_[slot >> kChunkBits].get()[slot & kChunkMask]; }
  /// SPLT overflow slabs of one size: `per` entries each, in chunks of 4096 slabs, with a free list.
  struct SlabPool {
    uint32_t per = 0;
    std::vector<std::unique_ptr<SpltEntry[]>> chunks;
    std::vector<uint32_t> free;
    uint32_t used = 0;
    SpltEntry* at(uint32_t slab) const {
      return chunks[slab >> kChunkBits].get() + static_cast<size_t>(slab & kChunkMask) * per;
    }
    uint32_t alloc();
  };
  /// Whether the flow's slab is a small one, from how many entries it holds beyond the slot (valid when it
  /// holds a slab at all: splt_len > Flow::kSpltInline).
  bool holds_small(const Flow& f) const {
    return static_cast<uint32_t>(f.splt_len - Flow::kSpltInline) <= small_.per;
  }
  void move_to_big(Flow& f);
  void free_splt(Flow& f);
  uint64_t hash(const FlowKey& k) const;
  uint32_t alloc_slot();
  void index_insert(uint32_t slot, uint32_t tag);
  void index_erase(const Flow& f);
  void grow_index();
  void list_push_back(Flow& f, uint8_t list);
  void list_unlink(Flow& f);
  uint8_t list_of(const Flow& f) const;
  TimestampUs timeout_us(uint8_t list) const;
  void evict_one();
  void end_in_drain(Flow& f, EndReason why);

  FlowTableOptions opts_;
  FlowSink& sink_;
  uint64_t seed_;
  /// Raw storage for 1 << kChunkBits flows; a slot is constructed when it is first handed out, so the pages
  /// of slots never used stay out of the resident set (a chunk is 2 MB; a short capture touches one page).
  /// Slots below slots_used_ are constructed and destroyed by the table.
  struct RawDelete {
    void operator()(Flow* p) const { ::operator delete(p, std::align_val_t{alignof(Flow)}); }
  };
  std::vector<std::unique_ptr<Flow, RawDelete>> chunks_;
  // SPLT overflow slabs: many flows that go beyond the slot's entries end within kSpltSmall more (9 to 16
  // packets: 8 800 of the 21 300 such flows of the bench capture), so a flow first borrows a small slab,
  // not one for all the rest (96 bytes less for each of those).
  SlabPool small_, big_;
  std::vector<uint32_t> free_;
  uint32_t slots_used_ = 0;
  // Index: slot per bucket (kNil empty) plus the hash's low 32 bits (the bucket's, and more to skip most key
  // compares).
  std::vector<uint32_t> index_;
  std::vector<uint32_t> tags_;
  uint64_t mask_ = 0;
  uint32_t head_[kLists], tail_[kLists];
  TimestampUs timeout_[kLists];  ///< idle timeout per list in µs (timeout_us()), -1 for never
  uint64_t size_ = 0, peak_ = 0, evictions_ = 0, next_id_ = 0, id_step_ = 1, created_ = 0;
  bool draining_ = false;  ///< inside drain(): end() leaves the lists and the index to it
};

}  // namespace sealscope::flow
