#include "flow/flow_table.hpp"

#include <xxhash.h>

#include <algorithm>
#include <new>
#include <utility>

namespace sealscope::flow {

FlowTable::FlowTable(const FlowTableOptions& opts, FlowSink& sink, uint64_t seed)
    : opts_(opts), sink_(sink), seed_(seed) {
  if (opts_.max_flows == 0) opts_.max_flows = 1;
  // Per list, once: every packet's expire() reads them. An idle timeout of 0 is "never" (as
  // --active-timeout 0), marked -1; a linger of 0 is "at once".
  for (uint8_t l = 0; l < kLists; ++l) {
    const TimestampUs t = timeout_us(l);
    timeout_[l] = t == 0 && l != 3 ? -1 : t;
  }
  for (int i = 0; i < kLists; ++i) head_[i] = tail_[i] = kNil;
  const uint32_t more = opts_.splt > Flow::kSpltInline ? opts_.splt - Flow::kSpltInline : 0;
  small_.per = std::min(more, kSpltSmall);
  big_.per = more;
  index_.assign(1024, kNil);
  tags_.assign(1024, 0);
  mask_ = 1023;
}

FlowTable::~FlowTable() {
  for (uint32_t s = 0; s < slots_used_; ++s) at(s).~Flow();
}

size_t FlowTable::bytes_per_flow(uint16_t splt, uint64_t packets) {
  // flow slot (with its first SPLT entries) + two index buckets (load factor <= 1/2) of slot and tag
  // + the SPLT overflow slab of a longer flow: small, or all the entries beyond the slot
  const uint64_t kept = std::min<uint64_t>(packets, splt);
  size_t more = 0;
  if (kept > Flow::kSpltInline) {
    more = kept - Flow::kSpltInline <= kSpltSmall ? std::min<size_t>(splt - Flow::kSpltInline, kSpltSmall)
                                                  : splt - Flow::kSpltInline;
  }
  return sizeof(Flow) + 4 * 2 * sizeof(uint32_t) + more * sizeof(SpltEntry);
}

uint32_t FlowTable::SlabPool::alloc() {
  if (!free.empty()) {
    const uint32_t s = free.back();
    free.pop_back();
    return s;
  }
  if ((used & kChunkMask) == 0) {
    // A new chunk of slabs: amortised, at most once per 4096 slabs. Not touched before it is used.
    chunks.emplace_back(new SpltEntry[static_cast<size_t>(per) * (1u << kChunkBits)]);
  }
  return used++;
}

void FlowTable::move_to_big(Flow& f) {
  const uint32_t b = big_.alloc();
  std::copy_n(small_.at(f.splt_more), small_.per, big_.at(b));
  small_.free.push_back(f.splt_more);
  f.splt_more = b;
}

void FlowTable::free_splt(Flow& f) {
  if (f.splt_more == kNil) return;
  // A flow holds a slab only once it has entries beyond the slot, and which pool it is from follows from
  // how many.
  (holds_small(f) ? small_ : big_).free.push_back(f.splt_more);
  f.splt_more = kNil;
}

void FlowTable::splt_clear(Flow& f) {
  free_splt(f);
  f.splt_len = 0;
}

void FlowTable::splt_copy(const Flow& f, std::vector<SpltEntry>& out) const {
  const uint16_t head = std::min(f.splt_len, Flow::kSpltInline);
  out.assign(f.splt_head, f.splt_head + head);
  if (f.splt_len > head) {
    const SpltEntry* more = (holds_small(f) ? small_ : big_).at(f.splt_more);
    out.insert(out.end(), more, more + (f.splt_len - head));
  }
}

uint64_t FlowTable::hash(const FlowKey& k) const { return XXH3_64bits_withSeed(&k, sizeof k, seed_); }

uint32_t FlowTable::alloc_slot() {
  if (!free_.empty()) {
    uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  if ((slots_used_ & kChunkMask) == 0) {
    // A new chunk of flows: amortised allocation at flow creation, never per packet. Not constructed (and so
    // not touched) beyond the slots handed out.
    std::unique_ptr<Flow, RawDelete> chunk(static_cast<Flow*>(
        ::operator new(sizeof(Flow) * (size_t{1} << kChunkBits), std::align_val_t{alignof(Flow)})));
    chunks_.push_back(std::move(chunk));
  }
  const uint32_t s = slots_used_;
  new (&at(s)) Flow();
  ++slots_used_;
  at(s).slot = s;
  return s;
}

void FlowTable::index_insert(uint32_t slot, uint32_t tag) {
  uint64_t i = tag & mask_;
  while (index_[i] != kNil) i = (i + 1) & mask_;
  index_[i] = slot;
  tags_[i] = tag;
}

void FlowTable::grow_index() {
  // The tags are the hashes' low 32 bits, where the bucket comes from: moving needs no key hashed again.
  // The index stops at 2^32 buckets (slot numbers are 32-bit too, so it never fills).
  if (index_.size() >= (size_t{1} << 32)) return;
  std::vector<uint32_t> old = std::move(index_);
  std::vector<uint32_t> old_tags = std::move(tags_);
  const size_t n = old.size() * 2;
  index_.assign(n, kNil);
  tags_.assign(n, 0);
  mask_ = n - 1;
  for (size_t i = 0; i < old.size(); ++i) {
    if (old[i] != kNil) index_insert(old[i], old_tags[i]);
  }
}

Flow* FlowTable::find(const FlowKey& key) {
  const uint64_t h = hash(key);
  const uint32_t tag = static_cast<uint32_t>(h);
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint32_t s = index_[i];
    if (s == kNil) return nullptr;
    if (tags_[i] == tag) {
      Flow& f = at(s);
      if (f.key == key) return &f;
    }
  }
}

void FlowTable::index_erase(const Flow& f) {
  const uint64_t h = hash(f.key);
  uint64_t i = h & mask_;
  while (index_[i] != f.slot) i = (i + 1) & mask_;
  // Backward-shift deletion keeps linear probing chains intact without tombstones.
  uint64_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    if (index_[j] == kNil) break;
    const uint64_t home = tags_[j] & mask_;
    const bool between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (!between) {
      index_[i] = index_[j];
      tags_[i] = tags_[j];
      i = j;
    }
  }
  index_[i] = kNil;
}

uint8_t FlowTable::list_of(const Flow& f) const {
  if (f.closing != EndReason::None) return 3;
  if (f.key.l4 == 6) return 0;
  if (f.key.l4 == 17) return 1;
  return 2;
}

TimestampUs FlowTable::timeout_us(uint8_t list) const {
  switch (list) {
    case 0: return TimestampUs{opts_.tcp_idle_s} * 1000000;
    case 1: return TimestampUs{opts_.udp_idle_s} * 1000000;
    case 2: return TimestampUs{opts_.other_idle_s} * 1000000;
    default: return TimestampUs{opts_.close_linger_s} * 1000000;
  }
}

void FlowTable::list_push_back(Flow& f, uint8_t list) {
  f.list = list;
  f.next = kNil;
  f.prev = tail_[list];
  if (tail_[list] != kNil) {
    at(tail_[list]).next = f.slot;
  } else {
    head_[list] = f.slot;
  }
  tail_[list] = f.slot;
}

void FlowTable::list_unlink(Flow& f) {
  if (f.prev != kNil) {
    at(f.prev).next = f.next;
  } else {
    head_[f.list] = f.next;
  }
  if (f.next != kNil) {
    at(f.next).prev = f.prev;
  } else {
    tail_[f.list] = f.prev;
  }
  f.prev = f.next = kNil;
}

void FlowTable::evict_one() {
  // The least recently seen flow is at the head of one of the lists.
  uint32_t victim = kNil;
  for (int l = 0; l < kLists; ++l) {
    if (head_[l] == kNil) continue;
    if (victim == kNil || at(head_[l]).last_seen < at(victim).last_seen) victim = head_[l];
  }
  if (victim != kNil) {
    ++evictions_;
    end(at(victim), EndReason::Evicted);
  }
}

Flow& FlowTable::lookup(const FlowKey& key, TimestampUs now, bool& created) {
  const uint64_t h = hash(key);
  const uint32_t tag = static_cast<uint32_t>(h);
  uint64_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    const uint32_t s = index_[i];
    if (s == kNil) break;
    if (tags_[i] == tag) {
      Flow& f = at(s);
      if (f.key == key) {
        created = false;
        return f;
      }
    }
  }
  created = true;
  if (size_ >= opts_.max_flows) evict_one();
  if ((size_ + 1) * 2 > index_.size()) grow_index();
  const uint32_t s = alloc_slot();
  Flow& f = at(s);
  f.reset();
  f.in_use = true;
  f.key = key;
  f.id = next_id_;
  next_id_ += id_step_;
  ++created_;
  f.first_seen = f.last_seen = now;
  index_insert(s, tag);
  list_push_back(f, list_of(f));
  ++size_;
  peak_ = std::max(peak_, size_);
  return f;
}

void FlowTable::touch(Flow& f, TimestampUs now) {
  if (now > f.last_seen) f.last_seen = now;
  if (f.next != kNil) {  // already at the tail otherwise
    list_unlink(f);
    list_push_back(f, f.list);
  }
}

void FlowTable::mark_closing(Flow& f, EndReason why) {
  if (f.closing != EndReason::None) return;
  list_unlink(f);
  f.closing = why;
  list_push_back(f, 3);
}

void FlowTable::end(Flow& f, EndReason why) {
  f.end = why;
  if (!draining_) {  // drain() empties the lists and the index at once when every flow has ended
    list_unlink(f);
    index_erase(f);
  }
  --size_;
  sink_.flow_ended(f);
  f.in_use = false;
  f.meta.reset();
  f.det.reset();
  f.extra.reset();
  free_splt(f);
  free_.push_back(f.slot);
}

void FlowTable::expire(TimestampUs now) {
  for (uint8_t l = 0; l < kLists; ++l) {
    const TimestampUs t = timeout_[l];
    if (t < 0) continue;
    while (head_[l] != kNil) {
      Flow& f = at(head_[l]);
      if (f.last_seen + t > now) break;
      end(f, l == 3 ? f.closing : EndReason::Idle);
    }
  }
}

void FlowTable::drain(EndReason why) {
  if (size_ == 0) return;
  // Sorted by creation id, without loading each flow's id at every comparison (that missed the cache: a
  // tenth of the drain's time on the bench capture's 50,000 flows). When the live ids span less than 2^32
  // (always, but for a flow kept through four billion others), each entry is one word: id offset above,
  // slot below. This runs when memory is at its peak (every flow still held), so its size counts.
  // The flows are found by going through the slots in order, not along the expiry lists: a list's next
  // flow is anywhere in memory, and each step waited for a cache miss.
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint32_t s = 0; s < slots_used_; ++s) {
    const Flow& f = at(s);
    if (!f.in_use) continue;
    lo = std::min(lo, f.id);
    hi = std::max(hi, f.id);
  }
  // Every flow ends, so none is taken out of its list or the index one by one (each took a cache miss or
  // two, into the index and into the list neighbours' slots): both are emptied once all have ended.
  draining_ = true;
  try {
    if (hi - lo <= UINT32_MAX) {
      std::vector<uint64_t> live;
      live.reserve(size_);
      for (uint32_t s = 0; s < slots_used_; ++s) {
        if (at(s).in_use) live.push_back((at(s).id - lo) << 32 | s);
      }
      std::sort(live.begin(), live.end());
      for (uint64_t e : live) end_in_drain(at(static_cast<uint32_t>(e)), why);
    } else {
      std::vector<std::pair<uint64_t, uint32_t>> live;
      live.reserve(size_);
      for (uint32_t s = 0; s < slots_used_; ++s) {
        if (at(s).in_use) live.emplace_back(at(s).id, s);
      }
      std::sort(live.begin(), live.end());
      for (const auto& [id, s] : live) end_in_drain(at(s), why);
    }
  } catch (...) {
    // A record could not be written (the sink threw): the flows ended so far leave the lists and the
    // index now, as end() would have taken them out; the others, the one whose record failed included,
    // stay where they were, and the count is theirs.
    draining_ = false;
    size_ = 0;
    for (int l = 0; l < kLists; ++l) {
      for (uint32_t s = head_[l]; s != kNil;) {
        Flow& f = at(s);
        s = f.next;
        if (f.in_use) {
          ++size_;
        } else {
          list_unlink(f);
          index_erase(f);
        }
      }
    }
    throw;
  }
  draining_ = false;
  for (int l = 0; l < kLists; ++l) head_[l] = tail_[l] = kNil;
  std::fill(index_.begin(), index_.end(), kNil);
}

void FlowTable::end_in_drain(Flow& f, EndReason why) { end(f, f.closing != EndReason::None ? f.closing : why); }

}  // namespace sealscope::flow
