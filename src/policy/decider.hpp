#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "common/types.hpp"
#include "decode/packet.hpp"
#include "policy/policy.hpp"

namespace sealscope::policy {

/// What the decision engine needs to know about a flow: addresses and transport (known from its first
/// packet) and the classification (known once the verdict is final). Views are not owned.
struct FlowFacts {
  IpAddr initiator, responder;
  uint16_t initiator_port = 0, responder_port = 0;
  bool has_ports = false;
  uint8_t l4 = 0;
  uint16_t vlan = decode::kNoVlan;
  decode::TunnelInfo tunnel;
  std::string_view label, family, activity, category, server_name;
};

/// Where a flow is: the regions it belongs to and which side is the subscriber.
struct Placement {
  RegionSet regions;
  int subscriber_side = -1;  ///< 0 initiator, 1 responder, -1 none found
  IpAddr subscriber;
};

/// The rules that could act on a classified flow, in order: every rule whose conditions other than the
/// time window hold, up to and including the first one without a window (later ones can never act).
struct Candidates {
  static constexpr size_t kMax = 16;
  std::array<int16_t, kMax> rule{};
  uint8_t n = 0;
  bool ends_in_rule = false;  ///< the last candidate has no window (the default cannot act)
};

/// The decision logic, shared by the dry-run and inline enforcement: for a flow's metadata and a time,
/// which rule matches first and its action. Stateless and const: one Decider may serve many threads.
class Decider {
 public:
  explicit Decider(const Policy& p) : p_(p) {}

  /// Regions of a flow and its subscriber side: the side whose address lies in a region's subscriber
  /// prefixes (initiator first); for a GTP-U flow, a cell-site match on the tunnel's outer source makes the
  /// initiator the subscriber (uplink), on the outer destination the responder; TEIDs and VLANs add regions.
  /// Cells and TEIDs are looked at for GTP-U tunnels only, never for the other tunnel types.
  Placement place(const FlowFacts& f) const;
  /// The candidate rules for a classified flow (control plane: once per flow).
  void candidates(const FlowFacts& f, const Placement& where, Candidates& out) const;
  /// The rule acting at `ts` (-1 = the default): the first candidate whose window is open. No allocation.
  int acting(const Candidates& c, TimestampUs ts) const;
  /// place + candidates + acting in one call.
  int decide(const FlowFacts& f, TimestampUs ts) const;

  const Policy& policy() const { return p_; }

 private:
  bool matches_static(const Rule& r, const FlowFacts& f, const Placement& where) const;
  const Policy& p_;
};

}  // namespace sealscope::policy
