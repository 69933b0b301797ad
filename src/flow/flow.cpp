#include "flow/flow.hpp"

#include <algorithm>
#include <cmath>
#include <new>

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

std::unique_ptr<FlowMeta> FlowMeta::make(const Fields& x) {
  const std::string_view parts[4] = {x.server_name, x.alpn, x.ja3c, x.ja3s};
  uint16_t len[4];
  size_t total = 0;
  for (int i = 0; i < 4; ++i) {
    len[i] = static_cast<uint16_t>(std::min<size_t>(parts[i].size(), 0xFFFF));
    total += len[i];
  }
  void* mem = ::operator new(sizeof(FlowMeta) + total);
  std::unique_ptr<FlowMeta> m(new (mem) FlowMeta());
  char* out = reinterpret_cast<char*>(m.get() + 1);
  for (int i = 0; i < 4; ++i) {
    m->len_[i] = len[i];
    if (len[i] > 0) std::memcpy(out, parts[i].data(), len[i]);  // an empty view may hold no pointer
    out += len[i];
  }
  m->has_tls_ = x.has_tls;
  m->tls_version_ = x.tls_version;
  m->risk_ = x.risk;
  return m;
}

std::unique_ptr<FlowMeta> FlowMeta::merge(const Fields& primary, const Fields& fallback) {
  const auto pick = [](std::string_view a, std::string_view b) { return a.empty() ? b : a; };
  Fields x;
  x.server_name = pick(primary.server_name, fallback.server_name);
  x.alpn = pick(primary.alpn, fallback.alpn);
  x.ja3c = pick(primary.ja3c, fallback.ja3c);
  x.ja3s = pick(primary.ja3s, fallback.ja3s);
  x.has_tls = primary.has_tls || fallback.has_tls;
  x.tls_version = primary.tls_version != 0 ? primary.tls_version : fallback.tls_version;
  x.risk = primary.risk != 0 ? primary.risk : fallback.risk;
  return make(x);
}

FlowMeta::Fields FlowMeta::fields() const {
  Fields x;
  x.server_name = server_name();
  x.alpn = alpn();
  x.ja3c = ja3c();
  x.ja3s = ja3s();
  x.has_tls = has_tls_;
  x.tls_version = tls_version_;
  x.risk = risk_;
  return x;
}

void Flow::reset() {
  const uint32_t s = slot;
  *this = Flow{};
  slot = s;
}

}  // namespace sealscope::flow
