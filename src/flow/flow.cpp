#include "flow/flow.hpp"

#include <cmath>

namespace sealscope::flow {

FlowKey make_key(const decode::Packet& p, bool& a_is_src) {
  FlowKey k;
  std::memset(&k, 0, sizeof k);
  const int c = std::memcmp(p.src.bytes, p.dst.bytes, 16);
  a_is_src = c < 0 || (c == 0 && p.sport <= p.dport);
  const IpAddr& a = a_is_src ? p.src : p.dst;
  const IpAddr& b = a_is_src ? p.dst : p.src;
  std::memcpy(k.addr_a, a.bytes, 16);
  std::memcpy(k.addr_b, b.bytes, 16);
  k.port_a = a_is_src ? p.sport : p.dport;
  k.port_b = a_is_src ? p.dport : p.sport;
  k.vlan = p.vlan;
  k.l4 = p.l4_proto;
  k.ip_version = p.ip_version;
  return k;
}

const char* end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::Idle: return "idle";
    case EndReason::Active: return "active";
    case EndReason::Fin: return "fin";
    case EndReason::Rst: return "rst";
    case EndReason::Evicted: return "evicted";
    case EndReason::Eof: return "eof";
    case EndReason::None: break;
  }
  return "none";
}

void Flow::reset() {
  const uint32_t s = slot;
  *this = Flow{};
  slot = s;
}

}  // namespace sealscope::flow
