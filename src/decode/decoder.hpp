#pragma once
#include <cstdint>

#include "decode/packet.hpp"

namespace sealscope::decode {

/// Options of the decoder.
struct DecoderOptions {
  bool decode_gtp = true;  ///< decapsulate GTP-U (UDP 2152) G-PDUs
};

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
  DecodeResult decode_ethertype(uint16_t type, const uint8_t* p, uint32_t caplen, uint32_t wire_avail,
                                Packet& out, AnomalyCounters& anomalies) const;
  /// An IEEE 802.11 frame (after any radiotap header): data frames with an LLC/SNAP header.
  DecodeResult decode_wlan(const uint8_t* p, uint32_t caplen, uint32_t wire_avail, Packet& out,
                           AnomalyCounters& anomalies) const;
  DecodeResult decode_l4(const uint8_t* p, uint32_t caplen, uint32_t len, Packet& out,
                         AnomalyCounters& anomalies, int depth) const;

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

}  // namespace sealscope::decode
