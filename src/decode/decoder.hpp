#pragma once
#include <cstdint>

#include "decode/packet.hpp"

namespace sealscope::decode {

/// Options of the decoder.
struct DecoderOptions {
  /// Take tunnels apart: GTP-U, VXLAN, Geneve, GRE, ERSPAN, TZSP, CAPWAP data and IP-in-IP (sealscope(1)).
  bool decode_tunnels = true;
};

/// Encapsulations followed inside one another below the outer packet (e.g. ERSPAN carrying VXLAN carrying
/// GTP-U); one more is counted as gtp_too_deep or tunnel_too_deep and the packet stays the last level reached.
constexpr int kMaxNestedTunnels = 3;

/// Stateless link/network/transport decoder. Bounds are checked explicitly; nothing throws or allocates.
/// Hand-written: libpcap captures and reads frames but does not decode them, and libtins builds a
/// heap-allocated PDU chain per packet; this fills the caller's Packet in place.
class Decoder {
 public:
  explicit Decoder(DecoderOptions opts = {}) : opts_(opts) {}

  /// Decodes one frame of link type `linktype` (a DLT_ value).
  DecodeResult decode(int linktype, const uint8_t* data, uint32_t caplen, uint32_t wirelen, Packet& out,
                      AnomalyCounters& anomalies) const;

  /// True when decode() knows link type `linktype`; frames of other types are counted as unknown_link_type.
  static bool supports(int linktype);

  /// Decodes an IP packet starting at `p` (used after the link layer and for tunnels).
  /// `wire_avail` is how many bytes the packet had on the wire from `p` on.
  DecodeResult decode_ip(const uint8_t* p, uint32_t caplen, uint32_t wire_avail, Packet& out,
                         AnomalyCounters& anomalies, int depth) const;

 private:
  /// What follows an ethertype (VLAN tags, PPPoE, MPLS, IP); `depth` counts the tunnels taken apart so far.
  DecodeResult decode_ethertype(uint16_t type, const uint8_t* p, uint32_t caplen, uint32_t wire_avail,
                                Packet& out, AnomalyCounters& anomalies, int depth) const;
  /// An IEEE 802.11 frame (after any radiotap header): data frames with an LLC/SNAP header.
  DecodeResult decode_wlan(const uint8_t* p, uint32_t caplen, uint32_t wire_avail, Packet& out,
                           AnomalyCounters& anomalies) const;
  DecodeResult decode_l4(const uint8_t* p, uint32_t caplen, uint32_t len, Packet& out,
                         AnomalyCounters& anomalies, int depth) const;

  // Tunnels. Each reads the tunnel header in `out`'s payload and, when it is whole and announces a frame or
  // packet sealscope follows, hands that to decap(). They always return Ok: a header cut short is counted
  // and the packet stays `out`, the outer one, so nothing of it is lost.
  DecodeResult decode_gtpu(Packet& out, AnomalyCounters& anomalies, int depth) const;
  DecodeResult decode_vxlan(Packet& out, AnomalyCounters& anomalies, int depth) const;
  DecodeResult decode_geneve(Packet& out, AnomalyCounters& anomalies, int depth) const;
  DecodeResult decode_tzsp(Packet& out, AnomalyCounters& anomalies, int depth) const;
  DecodeResult decode_capwap(Packet& out, AnomalyCounters& anomalies, int depth) const;
  DecodeResult decode_gre(Packet& out, AnomalyCounters& anomalies, int depth) const;
  DecodeResult decode_pptp_gre(Packet& out, AnomalyCounters& anomalies, int depth) const;

  /// What a tunnel header says follows it.
  enum class Carried : uint8_t {
    Ethertype,  ///< the packet of ethertype `type` (IPv4 or IPv6)
    Ethernet,   ///< an Ethernet II frame
    Wlan,       ///< an IEEE 802.11 data frame with LLC/SNAP
  };
  /// Decodes what a tunnel at `depth` carries (`p`: `cap` bytes captured, `wire` on the wire) as one level
  /// deeper, in tunnel `tun` unless `out` is already in one; an IP packet found there becomes `out`.
  /// Beyond kMaxNestedTunnels, or when the carried link header is cut short (counted as `cut`), the inner
  /// frame is not an IP packet, or the inner packet is malformed (counted by its reason), `out` stays as
  /// it is. Always Ok.
  DecodeResult decap(Carried what, uint16_t type, const uint8_t* p, uint32_t cap, uint32_t wire,
                     const TunnelInfo& tun, Anomaly cut, Packet& out, AnomalyCounters& anomalies, int depth) const;

  DecoderOptions opts_;
};

/// Where a fragment sits in its datagram (RFC 791; RFC 8200 §4.5).
struct FragmentFields {
  uint32_t offset = 0;             ///< of this fragment's data in the datagram's fragmentable part, in bytes
  bool more = false;               ///< MF (IPv4) / M (IPv6): more fragments follow
  uint8_t next = 0;                ///< IPv4 protocol, or the fragment header's next header (equal in every fragment)
  const uint8_t* data = nullptr;   ///< this fragment's data: the IPv4 payload, or what follows the fragment header
  uint32_t caplen = 0, len = 0;    ///< bytes of it captured, and on the wire
};

/// Reads the fragment fields of a packet decode() accepted, from its IP header (`p.l3`) again. Off the packet
/// path on purpose: decode() leaves them out of `Packet`, so `analyze` pays nothing for the audit's datagram
/// reassembly, the only reader. False when `p` is no fragment or its header cannot be read to the fragment
/// fields.
bool fragment_fields(const Packet& p, FragmentFields& out);

/// True for an ICMP error message, the kind that quotes the packet it is about: ICMP types 3, 4, 5, 11
/// and 12 (RFC 1122 §3.2.2), ICMPv6 types 1 to 4 (RFC 4443 §2.1). Inline: the capture thread asks it of
/// every packet when there are several workers.
inline bool is_icmp_error(uint8_t l4_proto, uint8_t type) {
  if (l4_proto == 1) return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  return l4_proto == 58 && type >= 1 && type <= 4;
}

/// The flow fields of the packet an ICMP error message `p` (as decode() filled it) quotes: `out` gets the
/// quoted packet's addresses, IP version, protocol and, for TCP and UDP, ports, as make_key() reads them,
/// and `p`'s VLAN. False when `p` is no ICMP error, or its quote is not an IP header of `p`'s own version
/// with the fields the key needs (a quote cut before the ports, a quoted later fragment, an IPv6 extension
/// chain that runs past the quote). Off the packet path: only ICMP errors get here.
bool quoted_packet(const Packet& p, Packet& out);

}  // namespace sealscope::decode
