#include "policy/decider.hpp"

#include <algorithm>
#include <string>

namespace sealscope::policy {

Placement Decider::place(const FlowFacts& f) const {
  Placement out;
  const RegionSet ri = p_.subscriber_map.lookup(f.initiator);
  const RegionSet rr = p_.subscriber_map.lookup(f.responder);
  out.regions = ri | rr;
  if (ri.any()) {
    out.subscriber_side = 0;
  } else if (rr.any()) {
    out.subscriber_side = 1;
  }
  // Cell sites and TEIDs are GTP-U's: the outer address of any other tunnel (a VXLAN endpoint, a GRE
  // router, a mirror collector) is no base station, and its identifier is no TEID.
  if (f.tunnel.type == decode::TunnelType::GtpU) {
    const RegionSet cs = p_.cell_map.lookup(f.tunnel.outer_src);
    const RegionSet cd = p_.cell_map.lookup(f.tunnel.outer_dst);
    out.regions |= cs | cd;
    if (out.subscriber_side < 0 && cs.any()) out.subscriber_side = 0;
    if (out.subscriber_side < 0 && cd.any()) out.subscriber_side = 1;
    for (const auto& [t, set] : p_.teid_map) {
      if (f.tunnel.id >= t.lo && f.tunnel.id <= t.hi) {
        out.regions |= set;
        if (out.subscriber_side < 0) out.subscriber_side = 0;  // the TEID of the first (uplink-side) packet
      }
    }
  }
  if (f.vlan != decode::kNoVlan) {
    for (const auto& [v, set] : p_.vlan_map) {
      if (v == f.vlan) out.regions |= set;
    }
  }
  if (out.subscriber_side == 0) out.subscriber = f.initiator;
  if (out.subscriber_side == 1) out.subscriber = f.responder;
  return out;
}

namespace {
template <typename T, typename F>
bool any_of(const std::vector<T>& v, F f) {
  return v.empty() || std::any_of(v.begin(), v.end(), f);
}
}  // namespace

bool Decider::matches_static(const Rule& r, const FlowFacts& f, const Placement& where) const {
  if (!r.regions.empty() && (r.region_mask & where.regions).none()) return false;
  if (!r.l4.empty() && std::find(r.l4.begin(), r.l4.end(), f.l4) == r.l4.end()) return false;
  if (!r.ports.empty()) {
    if (!f.has_ports) return false;
    if (!std::any_of(r.ports.begin(), r.ports.end(), [&](PortRange p) {
          return (f.initiator_port >= p.lo && f.initiator_port <= p.hi) ||
                 (f.responder_port >= p.lo && f.responder_port <= p.hi);
        })) {
      return false;
    }
  }
  if (!any_of(r.families, [&](const std::string& x) { return x == f.family; })) return false;
  if (!any_of(r.activities, [&](const std::string& x) { return x == f.activity; })) return false;
  if (!any_of(r.categories, [&](const std::string& x) { return x == f.category; })) return false;
  if (!r.labels.empty()) {
    const std::string label(f.label);
    if (!std::any_of(r.labels.begin(), r.labels.end(), [&](const std::string& x) { return label_matches(x, label); })) {
      return false;
    }
  }
  if (!r.server_names.empty()) {
    const std::string name(f.server_name);
    if (name.empty()) return false;
    if (!std::any_of(r.server_names.begin(), r.server_names.end(),
                     [&](const std::string& x) { return glob_match(x, name); })) {
      return false;
    }
  }
  return true;
}

void Decider::candidates(const FlowFacts& f, const Placement& where, Candidates& out) const {
  out = Candidates{};
  for (size_t i = 0; i < p_.rules.size() && out.n < Candidates::kMax; ++i) {
    const Rule& r = p_.rules[i];
    if (r.has_window && r.window.empty()) continue;
    if (!matches_static(r, f, where)) continue;
    out.rule[out.n++] = static_cast<int16_t>(i);
    if (!r.has_window || r.window.always()) {
      out.ends_in_rule = true;
      break;
    }
  }
}

int Decider::acting(const Candidates& c, TimestampUs ts) const {
  for (uint8_t i = 0; i < c.n; ++i) {
    const Rule& r = p_.rules[static_cast<size_t>(c.rule[i])];
    if (!r.has_window || r.window.contains(ts)) return c.rule[i];
  }
  return -1;
}

int Decider::decide(const FlowFacts& f, TimestampUs ts) const {
  const Placement where = place(f);
  Candidates c;
  candidates(f, where, c);
  return acting(c, ts);
}

}  // namespace sealscope::policy
