// The audit's canary search sees later IPv4 fragments that reach no flow when they arrive: held for a first
// fragment that comes later, or orphaned because it never comes. Before, their payload reached no observer,
// so a plaintext canary in them gave a PASS. Frames built byte by byte, decoded by the real decoder, fed to a
// Worker with the Auditor attached, as `sealscope audit` does.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "analyze/worker.hpp"
#include "audit/audit.hpp"
#include "audit/canaries.hpp"
#include "audit/matcher.hpp"
#include "decode/decoder.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using sealscope::testing::Frame;

namespace {

constexpr TimestampUs kT0 = TimestampUs{1700000000} * 1000000;
const std::string kCanary = "fragment-canary-0c1d";

/// testing::three_udp_fragments with the canary wholly inside the second fragment, 20 bytes in.
std::vector<Frame> fragments_with_canary(uint16_t id) {
  const std::string middle = std::string(20, 'x') + kCanary + std::string(72 - 20 - kCanary.size(), 'y');
  return testing::three_udp_fragments(id, &middle);
}

struct Run {
  audit::Matcher matcher{audit::encode_canaries({{1, 1, kCanary}})};
  audit::Auditor auditor{matcher, audit::AuditOptions{}};
  analyze::Worker worker{analyze::PipelineOptions{}, auditor, 1};
  decode::Decoder dec{};
  decode::AnomalyCounters anomalies{};
  uint32_t frame_no = 0;
  Run() { worker.add_observer(&auditor); }
  void feed(const Frame& f) {
    decode::Packet p;
    REQUIRE(dec.decode(DLT_EN10MB, f.ptr(), f.size(), f.size(), p, anomalies) == decode::DecodeResult::Ok);
    p.ts = kT0 + frame_no * 1000;
    p.frame_no = ++frame_no;
    worker.process(p);
  }
};

}  // namespace

TEST_CASE("audit: a canary in a fragment that comes before its first fragment is found", "[audit][frag]") {
  Run r;
  const auto fr = fragments_with_canary(0x5151);
  r.feed(fr[2]);
  r.feed(fr[1]);  // frame 2: the canary
  r.feed(fr[0]);
  r.worker.finish();
  CHECK(r.worker.fragments_attributed() == 2);  // still counted into the flow
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_without_flow() == 1);
  CHECK(r.auditor.fragments_without_flow() == 2);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].flow_id == audit::Hit::kNoFlow);
  CHECK(r.auditor.hits()[0].frame_no == 2);
  CHECK(r.auditor.hits()[0].offset == 20);
  CHECK_FALSE(r.auditor.hits()[0].stream);
}

TEST_CASE("audit: a canary in a fragment whose first fragment never comes is found", "[audit][frag]") {
  Run r;
  const auto fr = fragments_with_canary(0x5252);
  r.feed(fr[1]);
  r.feed(fr[2]);
  r.worker.finish();
  CHECK(r.worker.anomalies().get(decode::Anomaly::FragmentOrphan) == 2);
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_without_flow() == 1);
  CHECK(r.auditor.fragments_without_flow() == 2);
}

TEST_CASE("audit: fragments in order are searched within their flow", "[audit][frag]") {
  Run r;
  const auto fr = fragments_with_canary(0x5353);
  for (const Frame& f : fr) r.feed(f);
  r.worker.finish();
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_without_flow() == 0);
  CHECK(r.auditor.fragments_without_flow() == 0);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].flow_id != audit::Hit::kNoFlow);
  REQUIRE(r.auditor.flows().size() == 1);  // listed: a flow with a canary
  CHECK(r.auditor.flows()[0].hits_packet == 1);
}
