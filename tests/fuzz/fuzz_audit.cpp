// libFuzzer target: the audit's stream machinery on hostile segments and datagrams — TCP reassembly
// (sequence wrap, overlaps, holes, snap-length cuts, tiny per-stream and total caps), the Hyperscan stream
// matcher fed from it, the TLS/sealchat/WhatsApp framer, the datagram framing stripper and the randomness
// assessment. Checks the reassembler's invariants: bytes come out in order, the budget equals what is held,
// and nothing is held after finish().
#include <cstdlib>
#include <memory>

#include "audit/canaries.hpp"
#include "audit/framing.hpp"
#include "audit/matcher.hpp"
#include "audit/randomness.hpp"
#include "audit/reassembly.hpp"
#include "fuzz_input.hpp"

using namespace sealscope;
using namespace sealscope::audit;

namespace {

const Matcher& matcher() {
  static const Matcher m(encode_canaries({{1, 1, "canary-fuzz-1"}, {2, 2, "Grüße canary"}}));
  return m;
}

void on_match(void* ctx, uint32_t, uint64_t) { ++*static_cast<uint64_t*>(ctx); }

struct Dir final : StreamSink {
  TcpReassembler reasm;
  Matcher::Stream stream;
  TcpFramer framer;
  ByteStats stats;
  DatagramState dgram;
  uint64_t next = 0, hits = 0;
  bool initiator = true;
  const Dir* peer = nullptr;
  void stream_data(uint64_t off, const uint8_t* d, std::size_t n, uint32_t) override {
    if (off != next) std::abort();  // in order, no overlap, no hole
    next = off + n;
    stream.feed(matcher(), d, n, &on_match, &hits);
    framer.feed(d, n, peer->framer.framing(), initiator, stats);
  }
  void stream_gap(uint64_t off, uint64_t len) override {
    if (off != next || len == 0) std::abort();
    next = off + len;
    stream.reset(&on_match, &hits);
    framer.gap(stats);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  ReassemblyBudget budget;
  const uint8_t caps = in.u8();
  budget.limits.per_stream = 1u + (caps & 0x0F) * 97u;
  budget.limits.total = budget.limits.per_stream + (caps >> 4) * 211u;
  auto dirs = std::make_unique<Dir[]>(2);
  dirs[0].peer = &dirs[1];
  dirs[1].peer = &dirs[0];
  dirs[1].initiator = false;
  uint32_t frame = 0;
  while (in.left() > 0) {
    const uint8_t op = in.u8();
    Dir& d = dirs[op & 1];
    ++frame;
    if ((op & 6) == 6) {  // a datagram
      std::size_t len = 0;
      const uint8_t* p = in.chunk(len);
      (void)strip_datagram(p, len, in.u16(), in.u16(), d.dgram, dirs[(op & 1) ^ 1].dgram, d.stats);
      continue;
    }
    const uint32_t seq = (static_cast<uint32_t>(in.u16()) << 16) | in.u16();
    const uint8_t uncaptured = in.u8();
    std::size_t len = 0;
    const uint8_t* p = in.chunk(len);
    matcher().scan(p, len, &on_match, &d.hits);
    d.reasm.segment(seq, (op & 8) != 0, p, len, (op & 16) ? uncaptured : 0, frame, budget, d);
    if (budget.used != dirs[0].reasm.buffered() + dirs[1].reasm.buffered()) std::abort();
    if (d.reasm.buffered() > budget.limits.per_stream && budget.limits.per_stream > 0) {
      // Only ever over the cap while nothing more can be released (a single held segment above it).
      if (d.reasm.counters().stream_cap_hits == 0) std::abort();
    }
  }
  for (int i = 0; i < 2; ++i) {
    dirs[i].reasm.finish(budget, dirs[i]);
    dirs[i].stream.close(&on_match, &dirs[i].hits);
    dirs[i].framer.finish(dirs[i].stats);
    (void)assess(dirs[i].stats);
  }
  if (budget.used != 0 || dirs[0].reasm.buffered() != 0 || dirs[1].reasm.buffered() != 0) std::abort();
  return 0;
}
