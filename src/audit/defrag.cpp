#include "audit/defrag.hpp"

#include <algorithm>
#include <iterator>

namespace sealscope::audit {

bool Datagram::one_fragment_holds(uint32_t start, uint32_t end) const {
  auto r = runs.upper_bound(start);
  if (r != runs.begin() && std::prev(r)->second.end >= end) return true;
  return std::any_of(agreeing.begin(), agreeing.end(),
                     [&](const auto& a) { return a.first <= start && end <= a.second; });
}

void Defragmenter::recharge(Datagram& d) {
  const uint64_t now =
      kDatagramOverhead + (d.runs.size() + d.agreeing.capacity()) * kRunOverhead + d.bytes.capacity();
  c_.held = c_.held + now - d.charge;
  d.charge = now;
}

void Defragmenter::give_up(Entry& e, Drop why) {
  Datagram& d = e.d;
  if (d.dead) return;
  switch (why) {
    case Drop::TimedOut: ++c_.timed_out; break;
    case Drop::EndedIncomplete: ++c_.ended_incomplete; break;
    case Drop::Cap: ++c_.dropped_at_cap; break;
    case Drop::NotCaptured: ++c_.not_captured; break;
    case Drop::Invalid: ++c_.invalid; break;
  }
  d.dead = true;
  std::vector<uint8_t>().swap(d.bytes);
  d.runs.clear();
  std::vector<std::pair<uint32_t, uint32_t>>().swap(d.agreeing);
  --live_;
  recharge(d);
}

void Defragmenter::erase(Map::iterator it) {
  Datagram& d = it->second.d;
  c_.held -= d.charge;
  if (!d.dead) --live_;
  order_.erase(it->second.pos);
  map_.erase(it);
}

bool Defragmenter::fit(Map::iterator current) {
  for (auto k = order_.begin(); c_.held > limits_.held && k != order_.end();) {
    auto it = map_.find(*k);
    ++k;  // before erase() removes *k's node
    if (it == current) continue;
    give_up(it->second, Drop::Cap);  // (a tombstone was counted already)
    erase(it);                       // no tombstone: the point is to free memory
  }
  if (c_.held <= limits_.held) return true;
  give_up(current->second, Drop::Cap);  // larger than the cap on its own
  erase(current);
  return false;
}

void Defragmenter::expire(TimestampUs now) {
  const TimestampUs timeout = TimestampUs{limits_.timeout_s} * 1000000;
  while (!order_.empty()) {
    auto it = map_.find(order_.front());
    if (it->second.d.created + timeout >= now) break;
    give_up(it->second, Drop::TimedOut);  // a tombstone's reason was counted already
    erase(it);
  }
}

void Defragmenter::end_timeline() {
  while (!order_.empty()) {
    auto it = map_.find(order_.front());
    give_up(it->second, Drop::EndedIncomplete);
    erase(it);
  }
}

bool Defragmenter::add(const Fragment& f, TimestampUs now, Datagram& done) {
  ++c_.fragments;
  auto it = map_.find(f.key);
  if (it == map_.end()) {
    it = map_.emplace(f.key, Entry{}).first;
    it->second.pos = order_.insert(order_.end(), f.key);
    it->second.d.created = now;
    ++c_.datagrams;
    ++live_;
    recharge(it->second.d);
  }
  Entry& e = it->second;
  Datagram& d = e.d;
  if (d.dead) {
    ++c_.late_fragments;
    return false;
  }
  const uint32_t index = d.fragments++;
  if (f.caplen < f.len) {
    give_up(e, Drop::NotCaptured);  // a hole no later fragment can fill
    fit(it);
    return false;
  }
  const uint64_t end64 = uint64_t{f.offset} + f.len;
  // A fragment past the largest datagram, a second end that disagrees with the first, or bytes past the end:
  // no host reassembles these (RFC 791's "ping of death" is the first).
  if (end64 > kMaxDatagram || (!f.more && d.have_last && d.total != end64) ||
      (!f.more && d.bytes.size() > end64) || (f.more && d.have_last && end64 > d.total)) {
    give_up(e, Drop::Invalid);
    fit(it);
    return false;
  }
  const auto end = static_cast<uint32_t>(end64);
  if (!f.more) {
    d.have_last = true;
    d.total = end;
  }
  if (f.first != nullptr && !d.have_first) {  // a repeated first fragment: the first copy's facts are kept
    d.have_first = true;
    d.first = *f.first;
  }
  if (end > d.bytes.size()) {
    if (end > d.bytes.capacity()) {
      // Grows geometrically (many small fragments in order would otherwise copy the buffer each time), never
      // past the datagram's end once it is known.
      const std::size_t want = d.have_last ? d.total : std::max<std::size_t>(end, 2 * d.bytes.capacity());
      d.bytes.reserve(std::min<std::size_t>(want, kMaxDatagram));
    }
    d.bytes.resize(end);
  }
  // First copy wins: fill only the holes of [offset, end), remembering which fragment filled them.
  uint32_t pos = f.offset;
  bool overlapped = false;
  uint64_t conflicts = 0;
  auto r = d.runs.upper_bound(pos);
  if (r != d.runs.begin() && std::prev(r)->second.end > pos) --r;
  while (pos < end) {
    const uint32_t hole_end = r == d.runs.end() ? end : std::min(end, r->first);
    if (pos < hole_end) {
      std::copy(f.data + (pos - f.offset), f.data + (hole_end - f.offset), d.bytes.begin() + pos);
      d.runs.emplace_hint(r, pos, Datagram::Run{hole_end, index});
      d.covered += hole_end - pos;
      pos = hole_end;
      continue;
    }
    // [pos, ...) is held already, by run r.
    const uint32_t held_end = std::min(end, r->second.end);
    overlapped = true;
    for (uint32_t i = pos; i < held_end; ++i) conflicts += d.bytes[i] != f.data[i - f.offset];
    pos = held_end;
    ++r;
  }
  if (overlapped) {
    ++c_.overlapping_fragments;
    c_.conflicting_bytes += conflicts;
    if (conflicts == 0) d.agreeing.emplace_back(f.offset, end);
  }
  recharge(d);
  if (!fit(it)) return false;
  c_.peak = std::max(c_.peak, c_.held);
  if (!d.have_first || !d.have_last || d.covered != d.total) return false;
  ++c_.reassembled;
  c_.held -= d.charge;
  d.charge = 0;
  done = std::move(d);
  --live_;
  order_.erase(e.pos);
  map_.erase(it);
  return true;
}

}  // namespace sealscope::audit
