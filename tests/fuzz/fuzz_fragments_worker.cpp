// libFuzzer target: a sequence of frames through decoder + Worker (flow table with eviction and expiry,
// IPv4/IPv6 fragment attribution, tunnels, nDPI and our detectors, record filling and JSONL/CSV
// formatting). Input: link type selector, option byte (table variant, tunnels off), then per frame a time step byte (signed steps
// in seconds or ms, so time also goes backwards) and a 2-byte length-prefixed frame.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "analyze/worker.hpp"
#include "decode/decoder.hpp"
#include "fuzz_input.hpp"
#include "report/flow_writers.hpp"

using namespace sealscope;

namespace {

/// Formats each record as the JSONL and CSV writers would, then drops it.
struct FormattingSink : stats::RecordSink {
  fmt::memory_buffer buf;
  uint64_t records = 0;
  void write(const stats::FlowRecord& r) override {
    buf.clear();
    report::JsonlWriter::format(r, buf);
    report::CsvWriter::format(r, buf);
    ++records;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const int lt = fuzz::link_type(in.u8());
  const uint8_t opt = in.u8();
  // An nDPI detection module takes tens of milliseconds to build: one Worker per option variant lives
  // across inputs, drained at the end of each, and each input starts an hour after the previous one's
  // clock so that nothing of it (fragments, call cache) is still fresh.
  static FormattingSink sink;
  static std::unique_ptr<analyze::Worker> workers[4];
  static TimestampUs base = 1700000000ull * 1000000;
  const int variant = opt & 0x03;
  if (!workers[variant]) {
    analyze::PipelineOptions o;
    o.table.max_flows = (variant & 0x01) ? 2 : 64;  // small tables evict
    o.table.active_s = (variant & 0x02) ? 1 : 0;    // active-timeout records mid-flow
    o.table.close_linger_s = 2;
    o.table.classify_idle_s = 3;
    o.table.park_idle_s = 1;  // parked and restored nDPI state under every kind of traffic
    o.table.udp_idle_s = o.table.tcp_idle_s = o.table.other_idle_s = 5;
    workers[variant] = std::make_unique<analyze::Worker>(o, sink, 0x5ea1);
  }
  analyze::Worker& worker = *workers[variant];
  decode::DecoderOptions dopt;
  dopt.decode_tunnels = (opt & 0x20) == 0;
  decode::Decoder dec(dopt);
  decode::AnomalyCounters anomalies;
  base += 3600ull * 1000000;
  TimestampUs ts = base, latest = base;
  std::vector<uint8_t> frame;
  while (in.left() > 0) {
    const int8_t step = static_cast<int8_t>(in.u8());
    // Low bit: seconds or milliseconds; the rest: a signed step (negative steps go back in time).
    const int64_t us = (step >> 1) * ((step & 1) ? 1000000ll : 1000ll);
    ts = static_cast<TimestampUs>(static_cast<int64_t>(ts) + us);
    latest = std::max(latest, ts);
    std::size_t len = 0;
    const uint8_t* f = in.chunk(len);
    frame.assign(f, f + len);  // exactly the frame on the heap: ASan sees reads past it
    decode::Packet p;
    if (dec.decode(lt, frame.data(), static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size()), p,
                   anomalies) == decode::DecodeResult::Ok) {
      p.ts = ts;
      worker.process(p);
    }
  }
  worker.finish();
  base = std::max(base, latest);
  return 0;
}
