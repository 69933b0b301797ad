#pragma once
#include <cstdint>

#include "common/types.hpp"

namespace sealscope::decode {

/// Why a packet (or part of one) could not be decoded. Counted, never fatal.
enum class Anomaly : uint8_t {
  LinkTruncated,           ///< capture shorter than the link-layer header
  UnknownLinkType,         ///< a DLT sealscope does not decode
  VlanTruncated,           ///< 802.1Q/802.1ad tag cut short
  VlanTooDeep,             ///< more stacked tags than we follow (8)
  EncapTruncated,          ///< PPPoE or MPLS header cut short
  BadIpVersion,            ///< IP version nibble is neither 4 nor 6 where IP was announced
  Ipv4HeaderTruncated,     ///< fewer than 20 bytes, or fewer than IHL*4
  Ipv4BadHeaderLength,     ///< IHL below 5
  Ipv4BadTotalLength,      ///< total length below the header length (but not 0)
  Ipv4TotalLengthZero,     ///< total length 0 (TCP segmentation offload): the frame's length is used, packet kept
  IpLengthExceedsPacket,   ///< IP length claims more bytes than the packet had on the wire
  Ipv6HeaderTruncated,     ///< fewer than 40 bytes
  Ipv6ExtTruncated,        ///< an extension header runs past the packet
  Ipv6ExtChainTooLong,     ///< more extension headers than we follow (16)
  TcpHeaderTruncated,      ///< fewer than 20 bytes of TCP header
  TcpBadDataOffset,        ///< data offset below 5 or past the segment
  UdpHeaderTruncated,      ///< fewer than 8 bytes of UDP header
  UdpBadLength,            ///< UDP length field disagrees with the IP length
  IcmpTruncated,           ///< ICMP/ICMPv6 header cut short
  GtpTruncated,            ///< GTP-U header or extension headers cut short
  GtpTooDeep,              ///< a GTP-U tunnel beyond the nesting bound (kMaxNestedTunnels)
  VxlanTruncated,          ///< VXLAN header (I flag set) or the Ethernet header it carries cut short
  GeneveTruncated,         ///< Geneve header, its options or the Ethernet header it carries cut short
  GreTruncated,            ///< GRE header (with its optional fields) or the Ethernet header it carries cut short
  ErspanTruncated,         ///< ERSPAN type II/III header (and platform sub-header) or its Ethernet header cut short
  TzspTruncated,           ///< TZSP header, tags without an END tag, or the frame's link header cut short
  CapwapTruncated,         ///< CAPWAP header (HLEN past the end or below 2) or the 802.3/802.11 header cut short
  TunnelTooDeep,           ///< an encapsulation other than GTP-U beyond the nesting bound
  FragmentOrphan,          ///< a later IPv4/IPv6 fragment whose first fragment was not seen
  FragmentTableFull,       ///< fragment tracking table full: a fragment could not be attributed
  TimestampBackwards,      ///< a packet older than the one before it in the same file
  TimestampOutOfRange,     ///< a frame time before 1970 or after the year 9999 (pcapng): frame dropped
  Count
};

/// Stable snake_case name of an anomaly, used in summaries and reports.
const char* anomaly_name(Anomaly a);

/// Per-reason anomaly counters.
struct AnomalyCounters {
  uint64_t counts[static_cast<int>(Anomaly::Count)] = {};
  void add(Anomaly a) { ++counts[static_cast<int>(a)]; }
  uint64_t get(Anomaly a) const { return counts[static_cast<int>(a)]; }
  uint64_t total() const;
  void merge(const AnomalyCounters& o);
};

/// The encapsulations the decoder takes apart.
enum class TunnelType : uint8_t { None, GtpU, Vxlan, Geneve, Gre, Erspan, Tzsp, Capwap, IpInIp };

/// Stable name of a tunnel type, as the records write it ("gtp-u", "vxlan", ..., "ip-in-ip"; "" for None).
const char* tunnel_type_name(TunnelType t);

/// Name of the identifier a tunnel type carries in the records ("teid", "vni", "key", "session"), or
/// nullptr for the types that have none (TZSP, CAPWAP, IP-in-IP).
const char* tunnel_id_name(TunnelType t);

/// Tunnel the packet arrived in (the outermost one), kept on the flow.
struct TunnelInfo {
  TunnelType type = TunnelType::None;
  bool has_id = false;  ///< `id` was in the header: always for GTP-U, VXLAN and Geneve; GRE with its K bit;
                        ///< ERSPAN types II and III
  uint32_t id = 0;      ///< GTP-U TEID, VXLAN/Geneve VNI, GRE key, ERSPAN session ID
  IpAddr outer_src;     ///< the outer IP header's addresses
  IpAddr outer_dst;
};

constexpr uint16_t kNoVlan = 0xFFFF;

/// A decoded packet: views into the captured bytes plus the header fields the flow stage needs.
struct Packet {
  TimestampUs ts = 0;
  uint32_t frame_no = 0;    ///< 1-based record number in its capture file (set by the analyzer)
  uint16_t file_index = 0;  ///< which input file (set by the analyzer)
  const uint8_t* frame = nullptr;  ///< the whole captured frame (link header on), for pcap output
  uint32_t frame_caplen = 0, frame_wirelen = 0;
  int linktype = 0;
  uint16_t vlan = kNoVlan;  ///< outermost VLAN id: the first tag met on the way in, in whichever layer
  TunnelInfo tunnel;        ///< the outermost tunnel taken apart (type None when none was)

  // Network layer (the innermost IP header after tunnel decapsulation).
  const uint8_t* l3 = nullptr;
  uint32_t l3_caplen = 0;  ///< bytes of the IP packet actually captured (what nDPI may read)
  uint32_t ip_len = 0;     ///< IP length from the header (the flow's "bytes")
  uint8_t ip_version = 0;
  IpAddr src, dst;
  uint8_t l4_proto = 0;

  // Fragments.
  bool fragmented = false;      ///< part of a fragmented datagram
  bool later_fragment = false;  ///< not the first fragment: no L4 header here
  uint32_t frag_id = 0;         ///< IPv4 id or IPv6 fragment identification

  // Transport layer.
  bool has_ports = false;
  uint16_t sport = 0, dport = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
  /// Which worker ties an ICMP error to the flow of the packet it quotes (set by the analyzer: the quoted
  /// flow may live in another worker's shard).
  enum class Quote : uint8_t {
    Here,       ///< this one (the default, and always so with one worker)
    Elsewhere,  ///< another one, which gets an Only copy: here the message only counts in its own flow
    Only,       ///< only the tie: the copy sent to the quoted flow's worker, counted in no flow
  };
  Quote quote = Quote::Here;
  const uint8_t* payload = nullptr;
  uint32_t payload_caplen = 0;  ///< payload bytes captured
  uint32_t payload_len = 0;     ///< payload length from the headers

  /// Points the views at a copy of the frame: `from` is where the frame was decoded, `to` its copy.
  void rebase(const uint8_t* from, const uint8_t* to) {
    auto shift = [&](const uint8_t*& v) {
      if (v != nullptr) v = to + (v - from);
    };
    shift(frame);
    shift(l3);
    shift(payload);
  }
};

enum class DecodeResult : uint8_t {
  Ok,         ///< an IP packet; `Packet` is filled
  NotIp,      ///< a well-formed frame that carries no IP (ARP, LLDP, …): not an anomaly
  Malformed,  ///< counted in the anomaly counters
};

namespace tcp_flag {
constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40,
                  CWR = 0x80;
}

}  // namespace sealscope::decode
