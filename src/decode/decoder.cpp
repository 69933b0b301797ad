#include "decode/decoder.hpp"

#include <pcap/dlt.h>

#include <algorithm>

namespace sealscope::decode {

namespace {

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline uint32_t rd24(const uint8_t* p) { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }

constexpr int kMaxVlanTags = 8;
constexpr int kMaxIpv6Ext = 16;

/// IPv6 extension headers the decoder walks past (RFC 8200 §4, RFC 4302 AH, RFC 6275 mobility, RFC 7401
/// HIP, RFC 5533 shim6, RFC 8200 experiments): hop-by-hop, routing, fragment, destination options, ...
constexpr bool ipv6_ext_header(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 60 || next == 51 || next == 135 || next == 139 ||
         next == 140;
}
/// The size of the extension header `next` at `e` (at least 2 bytes readable): the fragment header is 8
/// bytes, AH counts 4-byte units beyond the first two, the others 8-byte units beyond the first.
inline uint32_t ipv6_ext_size(uint8_t next, const uint8_t* e) {
  return next == 44 ? 8u : next == 51 ? (e[1] + 2u) * 4u : (e[1] + 1u) * 8u;
}
// UDP ports: GTP-U (3GPP TS 29.281), VXLAN (RFC 7348), Geneve (RFC 8926), TZSP, CAPWAP data (RFC 5415).
constexpr uint16_t kGtpUPort = 2152, kVxlanPort = 4789, kGenevePort = 6081, kTzspPort = 37008,
                   kCapwapDataPort = 5247;

/// IP announced by the layer below but not one byte of it captured: count the announced version's anomaly.
DecodeResult empty_ip(int version, AnomalyCounters& anomalies) {
  anomalies.add(version == 6 ? Anomaly::Ipv6HeaderTruncated : Anomaly::Ipv4HeaderTruncated);
  return DecodeResult::Malformed;
}

constexpr uint16_t ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86DD, ETH_VLAN = 0x8100, ETH_QINQ = 0x88A8,
                   ETH_QINQ_OLD = 0x9100, ETH_PPPOE = 0x8864, ETH_MPLS = 0x8847, ETH_MPLS_MC = 0x8848,
                   ETH_TEB = 0x6558 /* transparent Ethernet bridging */, ETH_ERSPAN_2 = 0x88BE,
                   ETH_ERSPAN_3 = 0x22EB;

enum class WlanData : uint8_t { Ok, NotIp, Truncated };

/// The one IEEE 802.11 reader, for the link types and for the frames CAPWAP and TZSP carry. IEEE
/// 802.11-2020 §9.2: frame control (little-endian), duration, three addresses, sequence control, a fourth
/// address between two access points, QoS control (QoS data), HT control (+HTC/Order bit on QoS data); then
/// an LLC/SNAP header (AA AA 03, OUI 00-00-00 of RFC 1042 or 00-00-F8 of IEEE 802.1H) naming the ethertype.
/// Ok: `hdr` is the bytes up to the ethertype's end and `type` the ethertype. Management and control
/// frames, data frames without a body (null data), protected (WPA) bodies and A-MSDUs carry no IP that can
/// be read: NotIp.
WlanData wlan_data(const uint8_t* p, uint32_t caplen, uint32_t& hdr, uint16_t& type) {
  if (caplen < 2) return WlanData::Truncated;
  const uint16_t fc = static_cast<uint16_t>(p[0] | (p[1] << 8));
  const unsigned ftype = (fc >> 2) & 3, subtype = (fc >> 4) & 0xF;
  if ((fc & 3) != 0 || ftype != 2 || (subtype & 0x4) != 0 || (fc & 0x4000) != 0) return WlanData::NotIp;
  uint32_t h = 24;
  if ((fc & 0x0300) == 0x0300) h += 6;
  const bool qos = (subtype & 0x8) != 0;
  if (qos) h += (fc & 0x8000) != 0 ? 6 : 2;
  if (caplen < h + 8) return WlanData::Truncated;  // the header and the 8-byte LLC/SNAP header
  if (qos && (p[h - ((fc & 0x8000) != 0 ? 6 : 2)] & 0x80) != 0) return WlanData::NotIp;  // A-MSDU
  const uint8_t* llc = p + h;
  if (llc[0] != 0xAA || llc[1] != 0xAA || llc[2] != 0x03 || llc[3] != 0 || llc[4] != 0 ||
      (llc[5] != 0 && llc[5] != 0xF8)) {
    return WlanData::NotIp;
  }
  hdr = h + 8;
  type = rd16(llc + 6);
  return WlanData::Ok;
}

}  // namespace

const char* anomaly_name(Anomaly a) {
  switch (a) {
    case Anomaly::LinkTruncated: return "link_truncated";
    case Anomaly::UnknownLinkType: return "unknown_link_type";
    case Anomaly::VlanTruncated: return "vlan_truncated";
    case Anomaly::VlanTooDeep: return "vlan_too_deep";
    case Anomaly::EncapTruncated: return "encap_truncated";
    case Anomaly::BadIpVersion: return "bad_ip_version";
    case Anomaly::Ipv4HeaderTruncated: return "ipv4_header_truncated";
    case Anomaly::Ipv4BadHeaderLength: return "ipv4_bad_header_length";
    case Anomaly::Ipv4BadTotalLength: return "ipv4_bad_total_length";
    case Anomaly::Ipv4TotalLengthZero: return "ipv4_total_length_zero";
    case Anomaly::IpLengthExceedsPacket: return "ip_length_exceeds_packet";
    case Anomaly::Ipv6HeaderTruncated: return "ipv6_header_truncated";
    case Anomaly::Ipv6ExtTruncated: return "ipv6_ext_truncated";
    case Anomaly::Ipv6ExtChainTooLong: return "ipv6_ext_chain_too_long";
    case Anomaly::TcpHeaderTruncated: return "tcp_header_truncated";
    case Anomaly::TcpBadDataOffset: return "tcp_bad_data_offset";
    case Anomaly::UdpHeaderTruncated: return "udp_header_truncated";
    case Anomaly::UdpBadLength: return "udp_bad_length";
    case Anomaly::IcmpTruncated: return "icmp_truncated";
    case Anomaly::GtpTruncated: return "gtp_truncated";
    case Anomaly::GtpTooDeep: return "gtp_too_deep";
    case Anomaly::VxlanTruncated: return "vxlan_truncated";
    case Anomaly::GeneveTruncated: return "geneve_truncated";
    case Anomaly::GreTruncated: return "gre_truncated";
    case Anomaly::ErspanTruncated: return "erspan_truncated";
    case Anomaly::TzspTruncated: return "tzsp_truncated";
    case Anomaly::CapwapTruncated: return "capwap_truncated";
    case Anomaly::TunnelTooDeep: return "tunnel_too_deep";
    case Anomaly::FragmentOrphan: return "fragment_orphan";
    case Anomaly::FragmentTableFull: return "fragment_table_full";
    case Anomaly::TimestampBackwards: return "timestamp_backwards";
    case Anomaly::TimestampOutOfRange: return "timestamp_out_of_range";
    case Anomaly::Count: break;
  }
  return "unknown";
}

const char* tunnel_type_name(TunnelType t) {
  switch (t) {
    case TunnelType::None: return "";
    case TunnelType::GtpU: return "gtp-u";
    case TunnelType::Vxlan: return "vxlan";
    case TunnelType::Geneve: return "geneve";
    case TunnelType::Gre: return "gre";
    case TunnelType::Erspan: return "erspan";
    case TunnelType::Tzsp: return "tzsp";
    case TunnelType::Capwap: return "capwap";
    case TunnelType::IpInIp: return "ip-in-ip";
  }
  return "";
}

const char* tunnel_id_name(TunnelType t) {
  switch (t) {
    case TunnelType::GtpU: return "teid";
    case TunnelType::Vxlan:
    case TunnelType::Geneve: return "vni";
    case TunnelType::Gre: return "key";
    case TunnelType::Erspan: return "session";
    default: return nullptr;
  }
}

uint64_t AnomalyCounters::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts) t += c;
  return t;
}

void AnomalyCounters::merge(const AnomalyCounters& o) {
  for (int i = 0; i < static_cast<int>(Anomaly::Count); ++i) counts[i] += o.counts[i];
}

namespace {
/// A PPP header (RFC 1661, RFC 1662 framing without flag and FCS): the optional address 0xFF and control
/// 0x03, then the protocol, one byte when compressed (RFC 1661 §6.5: a first byte with its low bit set is
/// the whole field). Its length and the protocol; false when cut short. 0xFF is the all-stations address,
/// never a protocol byte of its own.
bool ppp_header(const uint8_t* p, uint32_t cap, uint32_t& len, uint16_t& proto) {
  const uint32_t skip = cap >= 1 && p[0] == 0xFF ? 2 : 0;
  const uint32_t plen = cap > skip && (p[skip] & 1) != 0 ? 1 : 2;
  if (cap < skip + plen) return false;
  proto = plen == 1 ? p[skip] : rd16(p + skip);
  len = skip + plen;
  return true;
}

/// The IP version a PPP protocol number carries (RFC 1332 IPv4 0x0021, RFC 5072 IPv6 0x0057), 0 for the
/// others (LCP, IPCP, CCP, compressed or encrypted data, ...).
int ppp_ip_version(uint16_t proto) { return proto == 0x0021 ? 4 : proto == 0x0057 ? 6 : 0; }
}  // namespace

DecodeResult Decoder::decode(int linktype, const uint8_t* data, uint32_t caplen, uint32_t wirelen,
                             Packet& out, AnomalyCounters& anomalies) const {
  out = Packet{};
  out.frame = data;
  out.frame_caplen = caplen;
  out.frame_wirelen = wirelen;
  out.linktype = linktype;
  switch (linktype) {
    case DLT_EN10MB: {
      if (caplen < 14) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      return decode_ethertype(rd16(data + 12), data + 14, caplen - 14, wirelen > 14 ? wirelen - 14 : 0, out,
                              anomalies, 0);
    }
    case DLT_LINUX_SLL: {
      if (caplen < 16) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      return decode_ethertype(rd16(data + 14), data + 16, caplen - 16, wirelen > 16 ? wirelen - 16 : 0, out,
                              anomalies, 0);
    }
    case DLT_LINUX_SLL2: {
      if (caplen < 20) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      return decode_ethertype(rd16(data), data + 20, caplen - 20, wirelen > 20 ? wirelen - 20 : 0, out,
                              anomalies, 0);
    }
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
#if defined(DLT_RAW) && DLT_RAW != 12
    case 12:
#endif
    case 101: {  // LINKTYPE_RAW, should libpcap hand it through unmapped
      if (caplen < 1) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      return decode_ip(data, caplen, wirelen, out, anomalies, 0);
    }
    case DLT_NULL:
    case DLT_LOOP: {
      if (caplen < 4) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      // DLT_NULL holds the address family in the capturing host's byte order, DLT_LOOP in network order:
      // accept both orders, and the AF_INET6 values of Linux (10) and the BSDs (24, 28, 30).
      uint32_t be = rd32(data);
      uint32_t le = uint32_t{data[0]} | (uint32_t{data[1]} << 8) | (uint32_t{data[2]} << 16) |
                    (uint32_t{data[3]} << 24);
      uint32_t af = linktype == DLT_LOOP ? be : (be <= 0xFFFF ? be : le);
      if (af == 2 || af == 10 || af == 24 || af == 28 || af == 30) {
        if (caplen == 4) return empty_ip(af == 2 ? 4 : 6, anomalies);
        return decode_ip(data + 4, caplen - 4, wirelen > 4 ? wirelen - 4 : 0, out, anomalies, 0);
      }
      return DecodeResult::NotIp;
    }
    case DLT_C_HDLC: {  // Cisco HDLC (router captures): address, control, then an ethertype
      if (caplen < 4) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      return decode_ethertype(rd16(data + 2), data + 4, caplen - 4, wirelen > 4 ? wirelen - 4 : 0, out,
                              anomalies, 0);
    }
    case DLT_PPP:
    case DLT_PPP_SERIAL: {
      uint32_t h = 0;
      uint16_t proto = 0;
      if (!ppp_header(data, caplen, h, proto)) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      const int v = ppp_ip_version(proto);
      if (v == 0) return DecodeResult::NotIp;
      if (caplen == h) return empty_ip(v, anomalies);
      return decode_ip(data + h, caplen - h, wirelen > h ? wirelen - h : 0, out, anomalies, 0);
    }
    case DLT_IEEE802_11_RADIO: {  // radiotap: version, pad, little-endian length of the whole header
      if (caplen < 4) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      const uint32_t rt = uint32_t{data[2]} | (uint32_t{data[3]} << 8);
      if (rt < 8 || caplen < rt) {
        anomalies.add(Anomaly::LinkTruncated);
        return DecodeResult::Malformed;
      }
      return decode_wlan(data + rt, caplen - rt, wirelen > rt ? wirelen - rt : 0, out, anomalies);
    }
    case DLT_IEEE802_11:
      return decode_wlan(data, caplen, wirelen, out, anomalies);
    default:
      anomalies.add(Anomaly::UnknownLinkType);
      return DecodeResult::Malformed;
  }
}

bool Decoder::supports(int linktype) {
  // One list: the switch above. An empty frame of a known type is truncated, of any other type unknown.
  Packet p;
  AnomalyCounters a;
  Decoder().decode(linktype, nullptr, 0, 0, p, a);
  return a.get(Anomaly::UnknownLinkType) == 0;
}

DecodeResult Decoder::decode_wlan(const uint8_t* p, uint32_t caplen, uint32_t wire_avail, Packet& out,
                                  AnomalyCounters& anomalies) const {
  uint32_t h = 0;
  uint16_t type = 0;
  switch (wlan_data(p, caplen, h, type)) {
    case WlanData::Truncated:
      anomalies.add(Anomaly::LinkTruncated);
      return DecodeResult::Malformed;
    case WlanData::NotIp:
      return DecodeResult::NotIp;
    case WlanData::Ok:
      break;
  }
  return decode_ethertype(type, p + h, caplen - h, wire_avail > h ? wire_avail - h : 0, out, anomalies, 0);
}

DecodeResult Decoder::decode_ethertype(uint16_t type, const uint8_t* p, uint32_t caplen, uint32_t wire_avail,
                                       Packet& out, AnomalyCounters& anomalies, int depth) const {
  for (int tags = 0;; ++tags) {
    if (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
      if (tags == kMaxVlanTags) {
        anomalies.add(Anomaly::VlanTooDeep);
        return DecodeResult::Malformed;
      }
      if (caplen < 4) {
        anomalies.add(Anomaly::VlanTruncated);
        return DecodeResult::Malformed;
      }
      if (out.vlan == kNoVlan) out.vlan = rd16(p) & 0x0FFF;
      type = rd16(p + 2);
      p += 4;
      caplen -= 4;
      wire_avail = wire_avail > 4 ? wire_avail - 4 : 0;
      continue;
    }
    if (type == ETH_PPPOE) {  // PPPoE session: 6-byte header, then a 2-byte PPP protocol
      if (caplen < 8) {
        anomalies.add(Anomaly::EncapTruncated);
        return DecodeResult::Malformed;
      }
      const int v = ppp_ip_version(rd16(p + 6));
      p += 8;
      caplen -= 8;
      wire_avail = wire_avail > 8 ? wire_avail - 8 : 0;
      if (v == 0) return DecodeResult::NotIp;
      if (caplen < 1) return empty_ip(v, anomalies);
      return decode_ip(p, caplen, wire_avail, out, anomalies, depth);
    }
    if (type == ETH_MPLS || type == ETH_MPLS_MC) {  // pop labels to bottom of stack, then IP by version
      for (int i = 0;; ++i) {
        if (caplen < 4 || i == kMaxVlanTags) {
          anomalies.add(Anomaly::EncapTruncated);
          return DecodeResult::Malformed;
        }
        bool bottom = (p[2] & 0x01) != 0;
        p += 4;
        caplen -= 4;
        wire_avail = wire_avail > 4 ? wire_avail - 4 : 0;
        if (bottom) break;
      }
      if (caplen < 1) {  // the stack's payload is missing: truncated, not "not IP"
        anomalies.add(Anomaly::EncapTruncated);
        return DecodeResult::Malformed;
      }
      if ((p[0] >> 4) == 4 || (p[0] >> 4) == 6) {
        return decode_ip(p, caplen, wire_avail, out, anomalies, depth);
      }
      return DecodeResult::NotIp;
    }
    break;
  }
  if (type == ETH_IPV4 || type == ETH_IPV6) {
    if (caplen < 1) return empty_ip(type == ETH_IPV6 ? 6 : 4, anomalies);
    return decode_ip(p, caplen, wire_avail, out, anomalies, depth);
  }
  return DecodeResult::NotIp;
}

DecodeResult Decoder::decode_ip(const uint8_t* p, uint32_t caplen, uint32_t wire_avail, Packet& out,
                                AnomalyCounters& anomalies, int depth) const {
  if (caplen < 1) {
    anomalies.add(Anomaly::Ipv4HeaderTruncated);
    return DecodeResult::Malformed;
  }
  const uint8_t version = p[0] >> 4;
  if (version == 4) {
    if (caplen < 20) {
      anomalies.add(Anomaly::Ipv4HeaderTruncated);
      return DecodeResult::Malformed;
    }
    const uint32_t ihl = (p[0] & 0x0F) * 4u;
    if (ihl < 20) {
      anomalies.add(Anomaly::Ipv4BadHeaderLength);
      return DecodeResult::Malformed;
    }
    if (ihl > caplen) {
      anomalies.add(Anomaly::Ipv4HeaderTruncated);
      return DecodeResult::Malformed;
    }
    uint32_t tot = rd16(p + 2);
    if (tot == 0) {
      // A host that hands its NIC one large TCP segment to cut up (segmentation offload) captures it with
      // total length 0: the packet is real, its length is what the frame holds (as Wireshark, tcpdump and
      // Zeek read it). Counted, not dropped.
      anomalies.add(Anomaly::Ipv4TotalLengthZero);
      tot = wire_avail;
    }
    if (tot < ihl) {
      anomalies.add(Anomaly::Ipv4BadTotalLength);
      return DecodeResult::Malformed;
    }
    if (tot > wire_avail) {
      anomalies.add(Anomaly::IpLengthExceedsPacket);
      return DecodeResult::Malformed;
    }
    out.l3 = p;
    out.l3_caplen = std::min(caplen, tot);
    out.ip_len = tot;
    out.ip_version = 4;
    out.src = IpAddr::v4(p + 12);
    out.dst = IpAddr::v4(p + 16);
    out.l4_proto = p[9];
    const uint16_t frag = rd16(p + 6);
    const uint16_t offset = frag & 0x1FFF;
    const bool more = (frag & 0x2000) != 0;
    if (offset != 0 || more) {
      out.fragmented = true;
      out.frag_id = rd16(p + 4);
      if (offset != 0) {
        out.later_fragment = true;
        out.payload = p + ihl;
        out.payload_caplen = out.l3_caplen - ihl;
        out.payload_len = tot - ihl;
        return DecodeResult::Ok;
      }
    }
    return decode_l4(p + ihl, out.l3_caplen - ihl, tot - ihl, out, anomalies, depth);
  }
  if (version == 6) {
    if (caplen < 40) {
      anomalies.add(Anomaly::Ipv6HeaderTruncated);
      return DecodeResult::Malformed;
    }
    uint32_t tot = 40u + rd16(p + 4);
    if (tot == 40 && p[6] == 0 && caplen > 40) {
      tot = std::min(caplen, wire_avail);  // jumbogram (payload length 0 + hop-by-hop jumbo option)
    }
    if (tot > wire_avail) {
      anomalies.add(Anomaly::IpLengthExceedsPacket);
      return DecodeResult::Malformed;
    }
    out.l3 = p;
    out.l3_caplen = std::min(caplen, tot);
    out.ip_len = tot;
    out.ip_version = 6;
    out.src = IpAddr::v6(p + 8);
    out.dst = IpAddr::v6(p + 24);
    uint8_t next = p[6];
    uint32_t off = 40;
    for (int n = 0; ipv6_ext_header(next); ++n) {
      if (n == kMaxIpv6Ext) {
        anomalies.add(Anomaly::Ipv6ExtChainTooLong);
        return DecodeResult::Malformed;
      }
      if (off + 8 > out.l3_caplen) {
        anomalies.add(Anomaly::Ipv6ExtTruncated);
        return DecodeResult::Malformed;
      }
      const uint8_t* h = p + off;
      const uint32_t hlen = ipv6_ext_size(next, h);
      if (next == 44) {
        const uint16_t fo = rd16(h + 2);
        out.fragmented = true;
        out.frag_id = rd32(h + 4);
        if ((fo & 0xFFF8) != 0) {
          out.l4_proto = h[0];
          out.later_fragment = true;
          out.payload = h + 8;
          out.payload_caplen = out.l3_caplen - off - 8;
          out.payload_len = tot - off - 8;
          return DecodeResult::Ok;
        }
      }
      if (off + hlen > out.l3_caplen) {
        anomalies.add(Anomaly::Ipv6ExtTruncated);
        return DecodeResult::Malformed;
      }
      next = h[0];
      off += hlen;
    }
    out.l4_proto = next;
    return decode_l4(p + off, out.l3_caplen - off, tot - off, out, anomalies, depth);
  }
  anomalies.add(Anomaly::BadIpVersion);
  return DecodeResult::Malformed;
}

DecodeResult Decoder::decode_l4(const uint8_t* p, uint32_t caplen, uint32_t len, Packet& out,
                                AnomalyCounters& anomalies, int depth) const {
  switch (out.l4_proto) {
    case 6: {
      if (caplen < 20) {
        anomalies.add(Anomaly::TcpHeaderTruncated);
        return DecodeResult::Malformed;
      }
      const uint32_t doff = (p[12] >> 4) * 4u;
      if (doff < 20 || doff > len) {
        anomalies.add(Anomaly::TcpBadDataOffset);
        return DecodeResult::Malformed;
      }
      out.has_ports = true;
      out.sport = rd16(p);
      out.dport = rd16(p + 2);
      out.tcp_seq = rd32(p + 4);
      out.tcp_flags = p[13];
      out.payload = p + std::min(doff, caplen);
      out.payload_caplen = caplen > doff ? caplen - doff : 0;
      out.payload_len = len - doff;
      return DecodeResult::Ok;
    }
    case 17: {
      if (caplen < 8) {
        anomalies.add(Anomaly::UdpHeaderTruncated);
        return DecodeResult::Malformed;
      }
      const uint32_t ulen = rd16(p + 4);
      // A first fragment carries the whole datagram's UDP length but only its own share of the bytes.
      if (ulen < 8 || (ulen > len && !out.fragmented)) {
        anomalies.add(Anomaly::UdpBadLength);
        return DecodeResult::Malformed;
      }
      out.has_ports = true;
      out.sport = rd16(p);
      out.dport = rd16(p + 2);
      out.payload = p + 8;
      out.payload_len = (out.fragmented ? len : ulen) - 8;
      out.payload_caplen = std::min(caplen - 8, out.payload_len);
      // The tunnels on UDP, by port (a few compares for every other datagram). Only whole datagrams: a
      // fragment holds part of the tunnel's payload at best.
      if (opts_.decode_tunnels && !out.fragmented) {
        const uint16_t sp = out.sport, dp = out.dport;
        if (dp == kGtpUPort || sp == kGtpUPort) return decode_gtpu(out, anomalies, depth);
        if (dp == kVxlanPort) return decode_vxlan(out, anomalies, depth);
        if (dp == kGenevePort) return decode_geneve(out, anomalies, depth);
        if (dp == kTzspPort || sp == kTzspPort) return decode_tzsp(out, anomalies, depth);
        if (dp == kCapwapDataPort || sp == kCapwapDataPort) return decode_capwap(out, anomalies, depth);
      }
      return DecodeResult::Ok;
    }
    case 1:
    case 58: {
      if (caplen < 4) {
        anomalies.add(Anomaly::IcmpTruncated);
        return DecodeResult::Malformed;
      }
      out.icmp_type = p[0];
      out.icmp_code = p[1];
      out.payload = p + 4;
      out.payload_caplen = caplen - 4;
      out.payload_len = len >= 4 ? len - 4 : 0;
      return DecodeResult::Ok;
    }
    default:
      out.payload = p;
      out.payload_caplen = caplen;
      out.payload_len = len;
      if (opts_.decode_tunnels && !out.fragmented) {
        if (out.l4_proto == 47) return decode_gre(out, anomalies, depth);
        if (out.l4_proto == 4 || out.l4_proto == 41) {  // IPv4 (RFC 2003) or IPv6 (RFC 4213) in IP
          const TunnelInfo tun{TunnelType::IpInIp, false, 0, out.src, out.dst};
          return decap(Carried::Ethertype, out.l4_proto == 4 ? ETH_IPV4 : ETH_IPV6, p, caplen, len, tun,
                       Anomaly::Count, out, anomalies, depth);
        }
      }
      return DecodeResult::Ok;
  }
}

DecodeResult Decoder::decap(Carried what, uint16_t type, const uint8_t* p, uint32_t cap, uint32_t wire,
                            const TunnelInfo& tun, Anomaly cut, Packet& out, AnomalyCounters& anomalies,
                            int depth) const {
  if (depth >= kMaxNestedTunnels) {
    anomalies.add(tun.type == TunnelType::GtpU ? Anomaly::GtpTooDeep : Anomaly::TunnelTooDeep);
    return DecodeResult::Ok;
  }
  if (what == Carried::Ethernet) {
    if (cap < 14) {
      anomalies.add(cut);
      return DecodeResult::Ok;
    }
    type = rd16(p + 12);
    p += 14;
    cap -= 14;
    wire = wire > 14 ? wire - 14 : 0;
  } else if (what == Carried::Wlan) {
    uint32_t h = 0;
    switch (wlan_data(p, cap, h, type)) {
      case WlanData::Truncated:
        anomalies.add(cut);
        return DecodeResult::Ok;
      case WlanData::NotIp:
        return DecodeResult::Ok;
      case WlanData::Ok:
        break;
    }
    p += h;
    cap -= h;
    wire = wire > h ? wire - h : 0;
  }
  Packet inner;
  inner.ts = out.ts;
  inner.frame_no = out.frame_no;
  inner.file_index = out.file_index;
  inner.frame = out.frame;
  inner.frame_caplen = out.frame_caplen;
  inner.frame_wirelen = out.frame_wirelen;
  inner.linktype = out.linktype;
  inner.vlan = out.vlan;  // an inner frame's tag counts only when no outer one was seen
  inner.tunnel = out.tunnel.type != TunnelType::None ? out.tunnel : tun;
  if (decode_ethertype(type, p, cap, wire, inner, anomalies, depth + 1) == DecodeResult::Ok) out = inner;
  return DecodeResult::Ok;
}

DecodeResult Decoder::decode_gtpu(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // GTPv1-U (3GPP TS 29.281): flags(ver=1,PT=1,E,S,PN), type, length, TEID; 4 more bytes when E, S or PN is
  // set; then extension headers (length in 4-byte units, last byte = next type). G-PDUs (type 0xFF) only.
  const uint8_t* g = out.payload;
  const uint32_t gcap = out.payload_caplen;
  if (gcap >= 1 && (g[0] >> 5) == 1 && (g[0] & 0x10) && gcap < 8) {
    anomalies.add(Anomaly::GtpTruncated);
    return DecodeResult::Ok;
  }
  if (gcap < 8 || (g[0] >> 5) != 1 || !(g[0] & 0x10) || g[1] != 0xFF) return DecodeResult::Ok;
  uint32_t hl = 8;
  bool ok = true;
  if (g[0] & 0x07) {
    hl = 12;
    if (gcap < 12) {
      ok = false;
    } else if (g[0] & 0x04) {
      uint8_t nxt = g[11];
      for (int i = 0; nxt != 0; ++i) {
        if (hl + 4 > gcap || i == 16) {
          ok = false;
          break;
        }
        const uint32_t el = g[hl] * 4u;
        if (el == 0 || hl + el > gcap) {
          ok = false;
          break;
        }
        nxt = g[hl + el - 1];
        hl += el;
      }
    }
  }
  if (!ok || hl >= gcap) {
    anomalies.add(Anomaly::GtpTruncated);
    return DecodeResult::Ok;  // still accounted as the outer UDP flow: nothing is lost
  }
  const uint8_t iv = g[hl] >> 4;
  if (iv != 4 && iv != 6) return DecodeResult::Ok;  // a T-PDU that is not IP
  const TunnelInfo tun{TunnelType::GtpU, true, rd32(g + 4), out.src, out.dst};
  return decap(Carried::Ethertype, iv == 4 ? ETH_IPV4 : ETH_IPV6, g + hl, gcap - hl, out.payload_len - hl, tun,
               Anomaly::GtpTruncated, out, anomalies, depth);
}

DecodeResult Decoder::decode_vxlan(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // RFC 7348 §5: flags (I = 0x08: the VNI is valid; the others reserved), 3 reserved bytes, the 24-bit VNI,
  // a reserved byte; then an Ethernet frame. A datagram to 4789 without the I flag is no VXLAN.
  const uint8_t* v = out.payload;
  const uint32_t cap = out.payload_caplen;
  if (cap == 0 || (v[0] & 0x08) == 0) return DecodeResult::Ok;
  if (cap < 8) {
    anomalies.add(Anomaly::VxlanTruncated);
    return DecodeResult::Ok;
  }
  const TunnelInfo tun{TunnelType::Vxlan, true, rd24(v + 4), out.src, out.dst};
  return decap(Carried::Ethernet, 0, v + 8, cap - 8, out.payload_len - 8, tun, Anomaly::VxlanTruncated, out,
               anomalies, depth);
}

DecodeResult Decoder::decode_geneve(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // RFC 8926 §3.4: version (2 bits, 0) and options length (6 bits, 4-byte units), O and C flags, the
  // protocol type (an ethertype), the 24-bit VNI, a reserved byte, then the options.
  const uint8_t* g = out.payload;
  const uint32_t cap = out.payload_caplen;
  if (cap == 0 || (g[0] >> 6) != 0) return DecodeResult::Ok;
  if (cap < 8) {
    anomalies.add(Anomaly::GeneveTruncated);
    return DecodeResult::Ok;
  }
  const uint32_t hl = 8 + (g[0] & 0x3Fu) * 4u;
  if (hl > cap) {
    anomalies.add(Anomaly::GeneveTruncated);
    return DecodeResult::Ok;
  }
  const uint16_t proto = rd16(g + 2);
  const TunnelInfo tun{TunnelType::Geneve, true, rd24(g + 4), out.src, out.dst};
  if (proto == ETH_TEB) {
    return decap(Carried::Ethernet, 0, g + hl, cap - hl, out.payload_len - hl, tun, Anomaly::GeneveTruncated,
                 out, anomalies, depth);
  }
  if (proto == ETH_IPV4 || proto == ETH_IPV6) {
    return decap(Carried::Ethertype, proto, g + hl, cap - hl, out.payload_len - hl, tun, Anomaly::GeneveTruncated,
                 out, anomalies, depth);
  }
  return DecodeResult::Ok;
}

DecodeResult Decoder::decode_tzsp(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // TZSP (TaZmen Sniffer Protocol, MikroTik's remote sniffer stream): version 1, type (0 received,
  // 1 transmitted), encapsulated protocol (1 Ethernet, 18 IEEE 802.11), then tagged fields up to an END
  // tag: 0 padding and 1 end are one byte, every other tag is type, length, value.
  const uint8_t* t = out.payload;
  const uint32_t cap = out.payload_caplen;
  if (cap == 0 || t[0] != 1) return DecodeResult::Ok;
  if (cap < 4) {
    anomalies.add(Anomaly::TzspTruncated);
    return DecodeResult::Ok;
  }
  const uint16_t encap = rd16(t + 2);
  if (t[1] > 1 || (encap != 1 && encap != 18)) return DecodeResult::Ok;
  uint32_t off = 4;
  for (;;) {  // ends: every step moves `off` on by at least one byte
    if (off >= cap) {
      anomalies.add(Anomaly::TzspTruncated);  // no END tag in what was captured
      return DecodeResult::Ok;
    }
    const uint8_t tag = t[off];
    if (tag == 1) {
      ++off;
      break;
    }
    if (tag == 0) {
      ++off;
    } else if (off + 2 > cap) {
      off = cap;
    } else {
      off += 2u + t[off + 1];
    }
  }
  const TunnelInfo tun{TunnelType::Tzsp, false, 0, out.src, out.dst};
  return decap(encap == 1 ? Carried::Ethernet : Carried::Wlan, 0, t + off, cap - off, out.payload_len - off, tun,
               Anomaly::TzspTruncated, out, anomalies, depth);
}

DecodeResult Decoder::decode_capwap(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // RFC 5415 §4.3: preamble (version 0, type 0; type 1 is DTLS, encrypted: left alone), HLEN (5 bits, the
  // header in 4-byte words, optional fields included), RID, WBID (5 bits), T, F, L, W, M, K, flags; fragment
  // id and offset. T with WBID 1 (RFC 5416): a native IEEE 802.11 frame; T clear: an IEEE 802.3 frame.
  // Fragments (F) and keep-alives (K) carry no whole frame.
  const uint8_t* c = out.payload;
  const uint32_t cap = out.payload_caplen;
  if (cap == 0 || c[0] != 0) return DecodeResult::Ok;
  if (cap < 8) {
    anomalies.add(Anomaly::CapwapTruncated);
    return DecodeResult::Ok;
  }
  const uint32_t hl = (c[1] >> 3) * 4u;
  if (hl < 8 || hl > cap) {
    anomalies.add(Anomaly::CapwapTruncated);
    return DecodeResult::Ok;
  }
  const bool native = (c[2] & 0x01) != 0;
  const unsigned wbid = (c[2] >> 1) & 0x1F;
  if ((c[3] & 0x80) != 0 || (c[3] & 0x08) != 0 || (native && wbid != 1)) return DecodeResult::Ok;
  const TunnelInfo tun{TunnelType::Capwap, false, 0, out.src, out.dst};
  return decap(native ? Carried::Wlan : Carried::Ethernet, 0, c + hl, cap - hl, out.payload_len - hl, tun,
               Anomaly::CapwapTruncated, out, anomalies, depth);
}

DecodeResult Decoder::decode_gre(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // RFC 2784 and RFC 2890, version 0: C, R, K, S flags, version, protocol type; then checksum and reserved
  // (C), key (K), sequence number (S). Source routing (R, RFC 1701) is not followed. Version 1 is PPTP's.
  const uint8_t* g = out.payload;
  const uint32_t cap = out.payload_caplen;
  if (cap < 4) {
    anomalies.add(Anomaly::GreTruncated);
    return DecodeResult::Ok;
  }
  const uint16_t flags = rd16(g);
  if ((flags & 0x7) == 1) return decode_pptp_gre(out, anomalies, depth);
  if ((flags & 0x7) != 0 || (flags & 0x4000) != 0) return DecodeResult::Ok;
  const bool csum = (flags & 0x8000) != 0, keyed = (flags & 0x2000) != 0, seq = (flags & 0x1000) != 0;
  const uint32_t key_at = csum ? 8 : 4;
  const uint32_t hl = key_at + (keyed ? 4 : 0) + (seq ? 4 : 0);
  if (hl > cap) {
    anomalies.add(Anomaly::GreTruncated);
    return DecodeResult::Ok;
  }
  const uint16_t proto = rd16(g + 2);
  const uint32_t len = out.payload_len;
  TunnelInfo tun{TunnelType::Gre, keyed, keyed ? rd32(g + key_at) : 0, out.src, out.dst};
  switch (proto) {
    case ETH_IPV4:
    case ETH_IPV6:
    case ETH_MPLS:  // RFC 4023: an MPLS label stack, then the packet (its IP version read off its first byte)
    case ETH_MPLS_MC:
      return decap(Carried::Ethertype, proto, g + hl, cap - hl, len - hl, tun, Anomaly::GreTruncated, out,
                   anomalies, depth);
    case ETH_TEB:
      return decap(Carried::Ethernet, 0, g + hl, cap - hl, len - hl, tun, Anomaly::GreTruncated, out, anomalies,
                   depth);
    case ETH_ERSPAN_2:
    case ETH_ERSPAN_3: {
      // ERSPAN (draft-foschiano-erspan): type I has no header and no GRE sequence number; type II an
      // 8-byte header (version 1, VLAN, COS, En, T, 10-bit session ID, reserved, index); type III a 12-byte
      // one (version 2, ..., session ID, timestamp, SGT, P, FT, hardware ID, D, Gra, O) and the 8-byte
      // platform sub-header when O is set. Frame type (FT) 0, Ethernet, only.
      tun.type = TunnelType::Erspan;
      tun.has_id = false;
      tun.id = 0;
      const uint8_t* e = g + hl;
      const uint32_t ecap = cap - hl;
      uint32_t eh = 0;
      if (proto == ETH_ERSPAN_3 || seq) {
        const uint32_t fixed = proto == ETH_ERSPAN_3 ? 12 : 8;
        if (ecap < fixed) {
          anomalies.add(Anomaly::ErspanTruncated);
          return DecodeResult::Ok;
        }
        if ((e[0] >> 4) != (proto == ETH_ERSPAN_3 ? 2 : 1)) return DecodeResult::Ok;
        eh = fixed;
        if (proto == ETH_ERSPAN_3) {
          if (((e[10] >> 2) & 0x1F) != 0) return DecodeResult::Ok;  // not an Ethernet frame
          if ((e[11] & 0x01) != 0) eh += 8;
          if (eh > ecap) {
            anomalies.add(Anomaly::ErspanTruncated);
            return DecodeResult::Ok;
          }
        }
        tun.has_id = true;
        tun.id = rd16(e + 2) & 0x3FFu;
      }
      return decap(Carried::Ethernet, 0, e + eh, ecap - eh, len - hl - eh, tun, Anomaly::ErspanTruncated, out,
                   anomalies, depth);
    }
    default:
      return DecodeResult::Ok;
  }
}

DecodeResult Decoder::decode_pptp_gre(Packet& out, AnomalyCounters& anomalies, int depth) const {
  // RFC 2637 §4.1, PPTP's enhanced GRE (version 1): C, R, s, the recursion control and the flags 0, K set,
  // protocol type 0x880B (PPP); the key field holds the payload length and the call ID; a sequence number
  // when S is set (a packet follows), an acknowledgment number when A is. An acknowledgment alone carries
  // no packet. The PPP frame is IPv4 or IPv6 unless compressed or encrypted (CCP, MPPE): then it stays.
  const uint8_t* g = out.payload;
  const uint32_t cap = out.payload_caplen;
  const uint16_t flags = rd16(g);
  if ((flags & 0xCF78) != 0 || (flags & 0x2000) == 0 || rd16(g + 2) != 0x880B) return DecodeResult::Ok;
  const bool seq = (flags & 0x1000) != 0;
  const uint32_t hl = 8 + (seq ? 4 : 0) + ((flags & 0x0080) != 0 ? 4 : 0);
  if (hl > cap) {
    anomalies.add(Anomaly::GreTruncated);
    return DecodeResult::Ok;
  }
  if (!seq) return DecodeResult::Ok;
  uint32_t ph = 0;
  uint16_t proto = 0;
  if (!ppp_header(g + hl, cap - hl, ph, proto)) {
    anomalies.add(Anomaly::GreTruncated);
    return DecodeResult::Ok;
  }
  const int v = ppp_ip_version(proto);
  if (v == 0) return DecodeResult::Ok;
  const TunnelInfo tun{TunnelType::Gre, true, rd16(g + 6), out.src, out.dst};
  const uint32_t h = hl + ph;
  return decap(Carried::Ethertype, v == 4 ? ETH_IPV4 : ETH_IPV6, g + h, cap - h, out.payload_len - h, tun,
               Anomaly::GreTruncated, out, anomalies, depth);
}

bool fragment_fields(const Packet& p, FragmentFields& out) {
  if (!p.fragmented || p.l3 == nullptr) return false;
  const uint8_t* h = p.l3;
  const uint32_t cap = p.l3_caplen;
  if (p.ip_version == 4) {
    if (cap < 20) return false;
    const uint32_t ihl = (h[0] & 0x0F) * 4u;
    if (ihl < 20 || ihl > cap || ihl > p.ip_len) return false;
    const uint16_t frag = rd16(h + 6);
    out.offset = (frag & 0x1FFFu) * 8u;
    out.more = (frag & 0x2000) != 0;
    out.next = h[9];
    out.data = h + ihl;
    out.caplen = cap - ihl;
    out.len = p.ip_len - ihl;
    return true;
  }
  if (p.ip_version != 6 || cap < 40) return false;
  // The chain as decode_ip() walks it, up to the fragment header.
  uint8_t next = h[6];
  uint32_t off = 40;
  for (int n = 0; n < kMaxIpv6Ext; ++n) {
    if (off + 8 > cap) return false;
    const uint8_t* e = h + off;
    if (next == 44) {
      const uint16_t fo = rd16(e + 2);
      out.offset = fo & 0xFFF8u;
      out.more = (fo & 1) != 0;
      out.next = e[0];
      out.data = e + 8;
      out.caplen = cap - off - 8;
      out.len = p.ip_len > off + 8 ? p.ip_len - off - 8 : 0;
      return true;
    }
    if (!ipv6_ext_header(next)) return false;
    off += ipv6_ext_size(next, e);
    next = e[0];
  }
  return false;
}

bool quoted_packet(const Packet& p, Packet& out) {
  if (p.later_fragment || !is_icmp_error(p.l4_proto, p.icmp_type) || p.payload == nullptr) return false;
  // decode_l4() put the payload after type, code and checksum; four more bytes (unused, the MTU or the
  // pointer) come before the quote in both ICMP and ICMPv6.
  if (p.payload_caplen < 4) return false;
  const uint8_t* h = p.payload + 4;
  const uint32_t cap = p.payload_caplen - 4;
  out = Packet{};
  out.vlan = p.vlan;
  uint32_t off = 0;
  if (p.ip_version == 4) {
    if (cap < 20 || (h[0] >> 4) != 4) return false;
    off = (h[0] & 0x0F) * 4u;
    if (off < 20 || off > cap) return false;
    if ((rd16(h + 6) & 0x1FFF) != 0) return false;  // a later fragment: no ports to key it by
    out.ip_version = 4;
    out.src = IpAddr::v4(h + 12);
    out.dst = IpAddr::v4(h + 16);
    out.l4_proto = h[9];
  } else {
    if (p.ip_version != 6 || cap < 40 || (h[0] >> 4) != 6) return false;
    out.ip_version = 6;
    out.src = IpAddr::v6(h + 8);
    out.dst = IpAddr::v6(h + 24);
    // The chain as decode_ip() walks it.
    uint8_t next = h[6];
    off = 40;
    for (int n = 0; ipv6_ext_header(next); ++n) {
      if (n == kMaxIpv6Ext || off + 8 > cap) return false;
      const uint8_t* e = h + off;
      if (next == 44 && (rd16(e + 2) & 0xFFF8) != 0) return false;
      off += ipv6_ext_size(next, e);
      next = e[0];
    }
    out.l4_proto = next;
  }
  if (out.l4_proto == 6 || out.l4_proto == 17) {
    if (off + 4 > cap) return false;
    out.has_ports = true;
    out.sport = rd16(h + off);
    out.dport = rd16(h + off + 2);
  }
  return true;
}

}  // namespace sealscope::decode
