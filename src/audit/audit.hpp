#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyze/worker.hpp"
#include "audit/defrag.hpp"
#include "audit/framing.hpp"
#include "audit/matcher.hpp"
#include "audit/randomness.hpp"
#include "audit/reassembly.hpp"
#include "stats/flow_record.hpp"

namespace sealscope::audit {

struct AuditOptions {
  ReassemblyLimits reassembly;
  DefragLimits defrag;
  uint32_t max_hits_listed = 1000;  ///< hits beyond this are counted, not listed
};

/// Where an occurrence was found.
enum class HitKind : uint8_t {
  Packet,    ///< in one packet's transport payload (a fragment's own bytes included)
  Stream,    ///< in a reassembled TCP direction
  Datagram,  ///< in a reassembled IP datagram's transport payload, across fragments (no one fragment holds it)
};

/// Report name of a hit kind: "packet", "stream", "datagram".
const char* hit_kind_name(HitKind k);

/// One occurrence of a canary. Where it is, never what surrounds it.
struct Hit {
  static constexpr uint64_t kNoFlow = ~uint64_t{0};
  uint32_t pattern = 0;  ///< index into Matcher::patterns()
  HitKind kind = HitKind::Packet;
  uint16_t file = 0;     ///< input index
  uint32_t frame_no = 0; ///< packet (stream hits: the one holding the canary's last byte; datagram hits: the
                         ///< fragment that completed the datagram)
  uint64_t flow_id = 0;  ///< kNoFlow: a later fragment that reached no flow (held or orphaned)
  uint8_t dir = 0;       ///< 0 = from the initiator (meaningless with kNoFlow); datagram: the first fragment's
  uint64_t offset = 0;   ///< in the packet's transport payload, the direction's stream, or the datagram's
                         ///< transport payload
};

/// What the audit concludes about one direction of a flow.
struct DirResult {
  Framing framing = Framing::Unknown;
  bool lost_sync = false;
  Assessment assessment;
  StreamCounters tcp;  ///< TCP only
  std::vector<std::pair<uint64_t, uint64_t>> gaps;  ///< first few gaps (offset, length)
};

/// A flow the report lists: messaging flows, and any flow with a canary.
struct FlowResult {
  stats::FlowRecord rec;  ///< the flow's metadata record (no payload)
  uint16_t file = 0;
  bool messaging = false;  ///< has a service family (activity other than dns)
  DirResult dir[2];
  uint64_t hits_packet = 0, hits_stream = 0, hits_datagram = 0;
  std::vector<std::string> findings;  ///< why this flow counts against the verdict (messaging flows)
  std::vector<std::string> notes;     ///< non-random binary content: reported, not counted
  bool fails = false;
};

/// The audit as a packet observer (canary search, reassembly, framing, byte statistics) and a record sink
/// (at each flow's end: assessment and findings). Needs one worker (flows are keyed by id).
class Auditor : public analyze::PacketObserver, public stats::RecordSink {
 public:
  Auditor(const Matcher& m, const AuditOptions& o);
  ~Auditor() override;

  void on_packet(const flow::Flow& f, const decode::Packet& p, flow::Dir d,
                 const classify::Classifier& cls) override;
  void write(const stats::FlowRecord& r) override;
  /// Later fragments no flow had when they came (held for their first fragment, or orphaned): their
  /// payload is searched here, packet by packet, and they go to the datagram reassembly like any fragment.
  void on_unattributed(const decode::Packet& p, bool held) override;

  bool pass() const { return hits_total_ == 0 && failing_flows_ == 0; }
  const std::vector<Hit>& hits() const { return hits_; }
  uint64_t hits_total() const { return hits_total_; }
  uint64_t hits_in_packets() const { return hits_packet_; }
  uint64_t hits_in_streams() const { return hits_stream_; }
  /// Occurrences found in reassembled IP datagrams that no single fragment holds (the others are packet hits).
  uint64_t hits_in_datagrams() const { return hits_datagram_; }
  /// IP datagram reassembly: fragments taken, datagrams reassembled and searched, given up (by reason), held.
  const Defragmenter& defrag() const { return defrag_; }
  /// Of the packet hits, those in fragments that reached no flow; and how many such fragments were searched.
  uint64_t hits_without_flow() const { return hits_no_flow_; }
  uint64_t fragments_without_flow() const { return fragments_no_flow_; }
  const std::vector<uint64_t>& hits_per_canary() const { return per_canary_; }
  const std::vector<uint64_t>& hits_per_encoding() const { return per_encoding_; }
  const std::vector<FlowResult>& flows() const { return flows_; }
  uint64_t flows_total() const { return flows_total_; }
  uint64_t messaging_flows() const { return messaging_flows_; }
  uint64_t failing_flows() const { return failing_flows_; }
  /// Flows outside the messaging families with a cleartext finding (informational, not listed).
  uint64_t other_cleartext_flows() const { return other_cleartext_; }
  /// Directions assessed (with enough bytes), per judgement, over all flows.
  const std::map<std::string, uint64_t>& judgements() const { return judgements_; }
  const ReassemblyBudget& budget() const { return budget_; }
  const StreamCounters& tcp_totals() const { return tcp_totals_; }
  uint64_t tcp_streams() const { return tcp_streams_; }
  /// Names seen (SNI, HTTP host, DNS query) with the family of the flow: what an observer learns.
  const std::map<std::string, std::string>& names() const { return names_; }
  uint64_t endpoints() const { return endpoints_.size(); }
  const Matcher& matcher() const { return m_; }
  const AuditOptions& options() const { return o_; }

 private:
  struct FlowState;
  struct DirSink;
  friend struct DirSink;
  static void on_match(void* ctx, uint32_t pattern, uint64_t end);
  static void on_datagram_match(void* ctx, uint32_t pattern, uint64_t end);
  void record_hit(const Hit& h);
  /// The clock (latest packet time) and timeline of the datagram reassembly, then its expiry.
  void advance(const decode::Packet& p);
  /// A fragment, with its flow when it has one: into the datagram reassembly; a completed datagram is searched.
  void fragment(const decode::Packet& p, const flow::Flow* f, flow::Dir d);
  void search_datagram(const Datagram& dg, const decode::Packet& completing);

  const Matcher& m_;
  AuditOptions o_;
  ReassemblyBudget budget_;
  std::unordered_map<uint64_t, std::unique_ptr<FlowState>> live_;
  std::vector<Hit> hits_;
  uint64_t hits_total_ = 0, hits_packet_ = 0, hits_stream_ = 0, hits_datagram_ = 0, hits_no_flow_ = 0,
           fragments_no_flow_ = 0;
  Defragmenter defrag_;
  TimestampUs clock_ = 0;
  uint16_t clock_file_ = 0;
  std::vector<uint64_t> per_canary_, per_encoding_;
  std::vector<FlowResult> flows_;
  uint64_t flows_total_ = 0, messaging_flows_ = 0, failing_flows_ = 0, other_cleartext_ = 0;
  std::map<std::string, uint64_t> judgements_;
  StreamCounters tcp_totals_;
  uint64_t tcp_streams_ = 0;
  std::map<std::string, std::string> names_;
  std::set<std::string> endpoints_;
};

}  // namespace sealscope::audit
