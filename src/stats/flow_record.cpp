#include "stats/flow_record.hpp"

#include <fmt/format.h>

namespace sealscope::stats {

namespace {
template <typename T>
Moments moments(const flow::RunningStats<T>& s, uint64_t n) {
  Moments m;
  m.n = n;
  if (n > 0) {
    m.min = static_cast<double>(s.min);
    m.mean = s.mean;
    m.stddev = s.stddev(n);
    m.max = static_cast<double>(s.max);
  }
  return m;
}

const char* l4_name(uint8_t proto, uint8_t ipver) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    case 47: return "gre";
    case 50: return "esp";
    case 51: return "ah";
    case 2: return "igmp";
    default: return ipver == 0 ? "unknown" : nullptr;
  }
}
}  // namespace

std::string tls_version_name(uint16_t v) {
  switch (v) {
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1.0";
    case 0x0302: return "TLSv1.1";
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    case 0xFEFF: return "DTLSv1.0";
    case 0xFEFD: return "DTLSv1.2";
    case 0xFEFC: return "DTLSv1.3";
    case 0: return "";
    default: return fmt::format("0x{:04x}", v);
  }
}

void fill_record(const flow::Flow& f, const flow::FlowTable& table, const classify::Classifier& cls,
                 FlowRecord& r) {
  r.id = f.id;
  r.src_addr = f.initiator();
  r.dst_addr = f.responder();
  char text[kIpTextMax];
  r.src_ip.assign(text, format_ip(r.src_addr, text));  // assign: keeps the record's buffers
  r.dst_ip.assign(text, format_ip(r.dst_addr, text));
  r.proto = f.key.l4;
  r.has_ports = f.key.l4 == 6 || f.key.l4 == 17 || f.key.l4 == 132;
  r.src_port = f.initiator_port();
  r.dst_port = f.responder_port();
  const char* n = l4_name(f.key.l4, f.key.ip_version);
  r.l4 = n != nullptr ? n : fmt::format("ip-{}", f.key.l4);
  r.vlan = f.key.vlan == decode::kNoVlan ? -1 : f.key.vlan;
  r.tunnel = f.tunnel_info();
  if (r.tunnel.type != decode::TunnelType::None) {
    r.tunnel_outer_src.assign(text, format_ip(r.tunnel.outer_src, text));
    r.tunnel_outer_dst.assign(text, format_ip(r.tunnel.outer_dst, text));
  } else {
    r.tunnel_outer_src.clear();
    r.tunnel_outer_dst.clear();
  }
  r.first_seen = f.first_seen;
  r.last_seen = f.last_seen;
  for (int d = 0; d < 2; ++d) {
    r.packets[d] = f.packets[d];
    r.bytes[d] = f.bytes[d];
    r.payload[d] = f.payload[d];
  }
  r.size[0] = moments(f.size_all(), f.size_count(0));
  r.size[1] = moments(f.size_dir[0], f.size_count(1));
  r.size[2] = moments(f.size_dir[1], f.size_count(2));
  r.iat_ms[0] = moments(f.iat_all, f.iat_count(0));
  r.iat_ms[1] = moments(f.iat_dir[0], f.iat_count(1));
  r.iat_ms[2] = moments(f.iat_dir[1], f.iat_count(2));
  table.splt_copy(f, r.splt);
  for (int i = 0; i < 8; ++i) r.tcp_flags[i] = f.tcp_flag_counts[i];
  const flow::FlowExtra& icmp = f.extra_info();
  for (int d = 0; d < 2; ++d) {
    r.has_icmp[d] = (icmp.icmp_seen >> d) & 1;
    r.icmp_type[d] = r.has_icmp[d] ? icmp.icmp[d][0] : 0;
    r.icmp_code[d] = r.has_icmp[d] ? icmp.icmp[d][1] : 0;
  }
  r.icmp_errors = icmp.icmp_errors;
  const bool tied = icmp.icmp_errors > 0;
  r.icmp_error_type = tied ? icmp.icmp_error[0] : 0;
  r.icmp_error_code = tied ? icmp.icmp_error[1] : 0;
  r.icmp_error_dir = tied && (icmp.icmp_error_about & 1) ? flow::kDown : flow::kUp;
  r.icmp_error_from_peer = tied && (icmp.icmp_error_about & 2);
  cls.verdict(f, r.verdict);
  r.after_packets = f.cls.after_packets;
  r.after_bytes = f.cls.after_bytes;
  r.after_ms = static_cast<double>(f.cls.after_us) / 1000.0;
  r.server_name.clear();
  r.has_tls = false;
  r.tls_version.clear();
  r.tls_alpn.clear();
  r.tls_ja3c.clear();
  r.tls_ja3s.clear();
  r.category.clear();
  r.category = cls.engine().category_name(f.cls.category);
  if (f.meta) {
    r.server_name = f.meta->server_name();
    r.has_tls = f.meta->has_tls();
    if (r.has_tls) {
      r.tls_version = tls_version_name(f.meta->tls_version());
      r.tls_alpn = f.meta->alpn();
      r.tls_ja3c = f.meta->ja3c();
      r.tls_ja3s = f.meta->ja3s();
    }
  }
  r.end = f.end;
}

}  // namespace sealscope::stats
