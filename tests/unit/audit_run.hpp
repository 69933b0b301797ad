#pragma once
// The audit unit tests' pipeline: frames built byte by byte, decoded by the real decoder, fed to a Worker with
// the Auditor attached as its observer and sink, as `sealscope audit` does.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <vector>

#include "analyze/worker.hpp"
#include "audit/audit.hpp"
#include "audit/canaries.hpp"
#include "audit/matcher.hpp"
#include "decode/decoder.hpp"
#include "packet_builder.hpp"

namespace sealscope::testing {

/// A run of the audit over frames fed one at a time: frame n (1-based) at `t0` + (n - 1) ms unless a time
/// is given.
struct AuditRun {
  audit::Matcher matcher;
  audit::Auditor auditor;
  analyze::Worker worker{analyze::PipelineOptions{}, auditor, 1};
  decode::Decoder dec;
  decode::AnomalyCounters anomalies{};
  uint32_t frame_no = 0;
  TimestampUs t0;

  AuditRun(const std::vector<audit::Canary>& canaries, const audit::AuditOptions& o, decode::DecoderOptions d,
           TimestampUs start)
      : matcher(audit::encode_canaries(canaries)), auditor(matcher, o), dec(d), t0(start) {
    worker.add_observer(&auditor);
  }
  void feed(const Frame& f, TimestampUs ts = 0) {
    decode::Packet p;
    REQUIRE(dec.decode(DLT_EN10MB, f.ptr(), f.size(), f.size(), p, anomalies) == decode::DecodeResult::Ok);
    p.ts = ts != 0 ? ts : t0 + frame_no * 1000;
    p.frame_no = ++frame_no;
    worker.process(p);
  }
};

}  // namespace sealscope::testing
