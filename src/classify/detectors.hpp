#pragma once
#include "classify/ndpi_adapter.hpp"
#include "decode/packet.hpp"
#include "flow/flow.hpp"

namespace sealscope::classify {

struct Verdict;

/// sealscope's own detectors, beside nDPI: they see a flow's first packets, keep evidence in
/// `Flow::det` (allocated only for flows that need it) and refine the engine's verdict, each override
/// recorded in the verdict's confidence. Per worker, not thread-safe.
class Detectors {
 public:
  /// Hot-path check: does the flow still want packets?
  static bool wants(const flow::Flow& f) { return f.packets[0] + f.packets[1] <= kMaxPackets; }
  /// Looks at one packet of a flow (after nDPI saw it).
  void on_packet(flow::Flow& f, const decode::Packet& p, flow::Dir d, const NdpiEngine& engine);
  /// The flow ended (before its verdict is computed).
  void on_end(flow::Flow& f, const NdpiEngine& engine);
  /// Adjusts the engine's verdict with the detectors' evidence (label and confidence only; family and
  /// activity are derived from the final label afterwards).
  void refine(const flow::Flow& f, Verdict& v) const;

  static constexpr uint64_t kMaxPackets = 32;
};

}  // namespace sealscope::classify
