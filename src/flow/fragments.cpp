#include "flow/fragments.hpp"

#include <xxhash.h>

#include <cstring>
#include <new>
#include <type_traits>

namespace sealscope::flow {

FragmentTable::FragmentTable(uint32_t sets, uint32_t timeout_s)
    : sets_(sets),
      timeout_us_(TimestampUs{timeout_s} * 1000000),
      entries_(static_cast<Entry*>(std::calloc(static_cast<size_t>(sets) * kWays, sizeof(Entry)))) {
  static_assert(std::is_trivial_v<Entry>, "calloc'd entries must be valid when all zero");
  if (!entries_) throw std::bad_alloc();
}

bool FragmentTable::matches(const Entry& e, const decode::Packet& p) const {
  return e.used && e.id == p.frag_id && e.proto == datagram_proto(p) && e.vlan == p.vlan &&
         e.ip_version == p.ip_version && std::memcmp(e.src, p.src.bytes, 16) == 0 &&
         std::memcmp(e.dst, p.dst.bytes, 16) == 0;
}

uint32_t FragmentTable::set_of(const decode::Packet& p) const {
  struct {
    uint8_t s[16], d[16];
    uint32_t id;
  } k;
  std::memcpy(k.s, p.src.bytes, 16);
  std::memcpy(k.d, p.dst.bytes, 16);
  k.id = p.frag_id;
  return static_cast<uint32_t>(XXH3_64bits(&k, sizeof k) % sets_);
}

FragmentTable::Entry* FragmentTable::find(const decode::Packet& p, TimestampUs now) {
  Entry* set = &entries_[static_cast<size_t>(set_of(p)) * kWays];
  for (size_t i = 0; i < kWays; ++i) {
    if (matches(set[i], p) && set[i].ts + timeout_us_ > now) return &set[i];
  }
  return nullptr;
}

FragmentTable::Entry* FragmentTable::upsert(const decode::Packet& p, TimestampUs now, uint64_t& displaced,
                                            bool& evicted_fresh) {
  displaced = 0;
  evicted_fresh = false;
  Entry* set = &entries_[static_cast<size_t>(set_of(p)) * kWays];
  Entry* victim = nullptr;
  for (size_t i = 0; i < kWays; ++i) {
    if (matches(set[i], p) && set[i].ts + timeout_us_ > now) {
      set[i].ts = now;
      return &set[i];
    }
    if (victim == nullptr || !set[i].used || (victim->used && set[i].ts < victim->ts)) victim = &set[i];
  }
  if (victim->used) {
    if (!victim->have_first) displaced = victim->npending;
    evicted_fresh = victim->ts + timeout_us_ > now;
  }
  std::memset(static_cast<void*>(victim), 0, sizeof(Entry));
  victim->used = true;
  std::memcpy(victim->src, p.src.bytes, 16);
  std::memcpy(victim->dst, p.dst.bytes, 16);
  victim->id = p.frag_id;
  victim->vlan = p.vlan;
  victim->proto = datagram_proto(p);
  victim->ip_version = p.ip_version;
  victim->ts = now;
  return victim;
}

uint64_t FragmentTable::pending_total() const {
  uint64_t n = 0;
  for (size_t i = 0; i < sets_ * kWays; ++i) {
    if (entries_[i].used && !entries_[i].have_first) n += entries_[i].npending;
  }
  return n;
}

}  // namespace sealscope::flow
