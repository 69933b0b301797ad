// libFuzzer target: the audit's IP datagram reassembly on hostile fragments — IP packets decoded by the real
// decoder, their fragment fields read again by decode::fragment_fields (IPv6 extension chains), then the
// Defragmenter with a small byte cap and timeout (overlaps, duplicates, impossible lengths, two ends,
// snap-length cuts, time going back, timeline ends). Checks: the fragment's data lies inside the packet, the
// bytes held never stay above the cap, every datagram begun is accounted for exactly once, a completed
// datagram's runs tile [0, total) and every run is held by one fragment, and nothing is held after
// end_timeline().
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "audit/defrag.hpp"
#include "decode/decoder.hpp"
#include "fuzz_input.hpp"

using namespace sealscope;
using namespace sealscope::audit;

namespace {

void check_accounting(const Defragmenter& df) {
  const DefragCounters& c = df.counters();
  const uint64_t ended = c.reassembled + c.timed_out + c.ended_incomplete + c.dropped_at_cap + c.not_captured +
                         c.invalid + df.incomplete_now();
  if (ended != c.datagrams) std::abort();
  if (c.held > df.limits().held || c.peak > df.limits().held) std::abort();
}

void check_whole(const Datagram& d) {
  if (d.bytes.size() != d.total || d.covered != d.total || !d.have_first || !d.have_last) std::abort();
  uint32_t next = 0;
  for (const auto& [start, run] : d.runs) {
    if (start != next || run.end <= start || run.fragment >= d.fragments) std::abort();
    if (!d.one_fragment_holds(start, run.end)) std::abort();
    next = run.end;
  }
  if (next != d.total || d.first.transport_payload > d.total) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const uint8_t lim = in.u8();
  DefragLimits limits;
  limits.held = 64 + (lim & 0x1F) * 1021u;  // from below one datagram's bookkeeping to ~32 KB
  limits.timeout_s = 1 + (lim >> 5);
  Defragmenter df(limits);
  decode::Decoder dec;
  decode::AnomalyCounters anomalies;
  TimestampUs now = TimestampUs{1700000000} * 1000000;
  std::vector<uint8_t> frame;
  while (in.left() > 0) {
    const uint8_t op = in.u8();
    if (op & 0x80) {
      df.end_timeline();
      if (df.counters().held != 0 || df.incomplete_now() != 0) std::abort();
    }
    now += static_cast<TimestampUs>(op & 0x0F) * 500000;  // up to 7.5 s a step
    df.expire(now);
    check_accounting(df);
    std::size_t len = 0;
    const uint8_t* f = in.chunk(len);
    frame.assign(f, f + len);  // exactly the packet on the heap: ASan sees reads past it
    // Bits 4-6: how much of the packet's end the capture cut off (a snap length).
    const uint32_t cut = std::min<uint32_t>(static_cast<uint32_t>(len), ((op >> 4) & 7) * 24u);
    decode::Packet p;
    if (dec.decode(DLT_RAW, frame.data(), static_cast<uint32_t>(len) - cut, static_cast<uint32_t>(len), p,
                   anomalies) != decode::DecodeResult::Ok) {
      continue;
    }
    decode::FragmentFields ff;
    if (!decode::fragment_fields(p, ff)) continue;
    if (ff.data < p.l3 || ff.data + ff.caplen > p.l3 + p.l3_caplen || ff.caplen > ff.len) std::abort();
    Defragmenter::Fragment in_frag = Defragmenter::Fragment::of(p, ff);
    FirstFragment first;
    if (!p.later_fragment && p.payload >= ff.data) {
      first.transport_payload = static_cast<uint32_t>(p.payload - ff.data);
      in_frag.first = &first;
    }
    Datagram done;
    if (df.add(in_frag, now, done)) check_whole(done);
    check_accounting(df);
  }
  df.end_timeline();
  if (df.counters().held != 0 || df.incomplete_now() != 0) std::abort();
  return 0;
}
