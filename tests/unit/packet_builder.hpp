#pragma once
// Byte-by-byte frame builder for the decoder, flow and worker tests. Every header is written from its
// specification (IEEE 802.3/802.1Q, RFC 2516 PPPoE, RFC 3032 MPLS, RFC 791, RFC 8200, RFC 793, RFC 768,
// RFC 792, 3GPP TS 29.281 GTP-U, RFC 1662 PPP, IEEE 802.11 with radiotap, the libpcap link-type headers, and the
// tunnels: RFC 7348 VXLAN, RFC 8926 Geneve, RFC 2784/2890 GRE, draft-foschiano-erspan ERSPAN types I-III,
// TZSP, RFC 5415 CAPWAP data). "Next protocol" fields are filled by the
// layer that follows; length fields (IPv4 total length, IPv6 payload length, UDP length, GTP length) are
// patched at build() to the end of the frame before padding. Each layer is recorded with its offset and
// the number of bytes the decoder needs to accept it, so tests can derive what any truncation must give.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/types.hpp"

namespace sealscope::testing {

enum class L : uint8_t {
  Eth, Sll, Sll2, Null, Chdlc, Ppp, Wlan, Vlan, Pppoe, Mpls, Ipv4, Ipv6, Ipv6Ext, Tcp, Udp, Icmp,
  Gtp, Vxlan, Geneve, Gre, Erspan, Tzsp, Capwap, Payload
};

/// One layer of a built frame: where it starts and how many bytes a decoder needs to accept it.
struct Span {
  L kind;
  size_t off;
  size_t need;
};

struct Frame {
  std::vector<uint8_t> data;
  std::vector<Span> layers;
  size_t ip_end = 0;  ///< end of the IP packets (the frame length before link padding)

  const Span& nth(L k, int n = 0) const {
    for (const Span& s : layers) {
      if (s.kind == k && n-- == 0) return s;
    }
    throw std::logic_error("frame has no such layer");
  }
  size_t off(L k, int n = 0) const { return nth(k, n).off; }
  uint32_t size() const { return static_cast<uint32_t>(data.size()); }
  const uint8_t* ptr() const { return data.data(); }
  void put16(size_t at, uint16_t v) {
    data.at(at) = static_cast<uint8_t>(v >> 8);
    data.at(at + 1) = static_cast<uint8_t>(v);
  }
  uint16_t get16(size_t at) const { return static_cast<uint16_t>((data.at(at) << 8) | data.at(at + 1)); }
};

inline IpAddr ip(const char* text) {
  IpAddr a;
  if (!parse_ip(text, a)) throw std::logic_error(std::string("bad address in test: ") + text);
  return a;
}

struct Ipv4Opts {
  uint16_t id = 0x1234;
  bool df = false;
  bool mf = false;
  uint16_t frag_off8 = 0;            ///< fragment offset in 8-byte units
  std::vector<uint8_t> options;      ///< raw option bytes, a multiple of 4 long
  uint8_t ttl = 64;
};

/// GRE header fields (RFC 2784, RFC 2890): each flag adds its 4-byte field.
struct GreOpts {
  bool csum = false;
  bool keyed = false;
  uint32_t key = 0;
  bool seq = false;
};

struct GtpExt {
  uint8_t type;   ///< this extension header's type (written in the previous header's next-type byte)
  uint8_t units;  ///< length in 4-byte units (>= 1)
};

class PacketBuilder {
 public:
  // ---- link layers -------------------------------------------------------------------------------------
  /// Ethernet II; `type` 0 = set by the next layer.
  /// Inside GRE or Geneve, the previous protocol field becomes 0x6558 (transparent Ethernet bridging).
  PacketBuilder& eth(uint16_t type = 0) {
    if (pending_.space == Space::Ether) link_next(0x6558, 0, 0, 0);
    begin(L::Eth, 14);
    for (int i = 0; i < 6; ++i) put8(0x02);  // dst MAC (locally administered)
    for (int i = 0; i < 6; ++i) put8(0x04);  // src MAC
    set_pending(Space::Ether, size());
    put16(type);
    return *this;
  }
  /// Linux cooked v1 (DLT_LINUX_SLL): packet type, ARPHRD, addr len, 8 address bytes, protocol.
  PacketBuilder& sll() {
    begin(L::Sll, 16);
    put16(0);      // packet type: to us
    put16(1);      // ARPHRD_ETHER
    put16(6);      // address length
    for (int i = 0; i < 8; ++i) put8(i < 6 ? 0x04 : 0);
    set_pending(Space::Ether, size());
    put16(0);
    return *this;
  }
  /// Linux cooked v2 (DLT_LINUX_SLL2): protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr.
  PacketBuilder& sll2() {
    begin(L::Sll2, 20);
    set_pending(Space::Ether, size());
    put16(0);
    put16(0);       // reserved
    put32(2);       // interface index
    put16(1);       // ARPHRD_ETHER
    put8(0);        // packet type
    put8(6);        // address length
    for (int i = 0; i < 8; ++i) put8(i < 6 ? 0x04 : 0);
    return *this;
  }
  /// DLT_NULL (host byte order; `little_endian` picks the capturing host) or DLT_LOOP (network order):
  /// a 4-byte address family. `af6` is the IPv6 family value written for an IPv6 packet.
  PacketBuilder& null_link(bool little_endian, uint32_t af6 = 30) {
    begin(L::Null, 4);
    af6_ = af6;
    set_pending(little_endian ? Space::AfLe : Space::AfBe, size());
    put32(0);
    return *this;
  }
  /// DLT_C_HDLC: address 0x0F (unicast), control 0, then an ethertype.
  PacketBuilder& chdlc() {
    begin(L::Chdlc, 4);
    put8(0x0F);
    put8(0x00);
    set_pending(Space::Ether, size());
    put16(0);
    return *this;
  }
  /// DLT_PPP / DLT_PPP_SERIAL (RFC 1662 framing without flags and FCS): address 0xFF and control 0x03 when
  /// `addr_ctrl`, then the 2-byte protocol.
  PacketBuilder& ppp(bool addr_ctrl = true) {
    begin(L::Ppp, addr_ctrl ? 4 : 2);
    if (addr_ctrl) {
      put8(0xFF);
      put8(0x03);
    }
    set_pending(Space::Ppp, size());
    put16(0);
    return *this;
  }
  /// DLT_IEEE802_11_RADIO: an 8-byte radiotap header (no fields present) unless `radiotap` is false
  /// (DLT_IEEE802_11), an 802.11 data frame header from the station to its access point (fc little-endian:
  /// type 2; QoS data with a 2-byte QoS control when `qos`; a fourth address when `wds`; the Order bit and a
  /// 4-byte HT control after the QoS control when `htc`), then LLC/SNAP (AA AA 03, OUI 0) with the ethertype.
  PacketBuilder& wlan(bool radiotap = true, bool qos = false, bool wds = false, bool htc = false) {
    if (htc && !qos) throw std::logic_error("HT control here only on QoS data");
    const size_t hdr = 24 + (wds ? 6 : 0) + (qos ? 2 : 0) + (htc ? 4 : 0);
    begin(L::Wlan, (radiotap ? 8 : 0) + hdr + 8);
    if (radiotap) {
      put8(0);  // version
      put8(0);  // pad
      put8(8);  // length, little-endian
      put8(0);
      put32(0);  // present flags: none
    }
    put8(static_cast<uint8_t>(0x08 | (qos ? 0x80 : 0)));  // type 2 (data), subtype 0 or 8 (QoS data)
    put8(static_cast<uint8_t>((wds ? 0x03 : 0x01) | (htc ? 0x80 : 0)));  // To DS (and From DS), Order
    put16(0);                                              // duration
    for (int a = 0; a < 3; ++a) {
      for (int i = 0; i < 6; ++i) put8(static_cast<uint8_t>(0x10 * (a + 1)));
    }
    put16(0);  // sequence control
    if (wds) {
      for (int i = 0; i < 6; ++i) put8(0x40);
    }
    if (qos) put16(0);  // QoS control: TID 0, no A-MSDU
    if (htc) put32(0);  // HT control
    for (uint8_t b : {0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00}) put8(b);
    set_pending(Space::Ether, size());
    put16(0);
    return *this;
  }
  /// 802.1Q (0x8100) or 802.1ad (0x88A8) tag: the TPID goes into the previous type field.
  PacketBuilder& vlan(uint16_t id, uint16_t tpid = 0x8100, uint8_t pcp = 3) {
    link_next(tpid, 0, 0, 0);
    begin(L::Vlan, 4);
    put16(static_cast<uint16_t>((pcp << 13) | (id & 0x0FFF)));
    set_pending(Space::Ether, size());
    put16(0);
    return *this;
  }
  /// PPPoE session stage (RFC 2516): ver/type 0x11, code 0, session id, length, then the PPP protocol.
  PacketBuilder& pppoe(uint16_t session = 0x0042) {
    link_next(0x8864, 0, 0, 0);
    begin(L::Pppoe, 8);
    put8(0x11);
    put8(0x00);
    put16(session);
    pppoe_len_at_ = size();
    put16(0);
    set_pending(Space::Ppp, size());
    put16(0);
    return *this;
  }
  /// One MPLS label stack entry (RFC 3032): label(20) TC(3) S(1) TTL(8).
  PacketBuilder& mpls(uint32_t label, bool bottom) {
    link_next(0x8847, 0, 0, 0);
    begin(L::Mpls, 4);
    put32((label << 12) | (bottom ? 0x100u : 0u) | 64u);
    pending_ = {Space::None, 0};
    return *this;
  }

  // ---- network layers ----------------------------------------------------------------------------------
  PacketBuilder& ipv4(const char* src, const char* dst, const Ipv4Opts& o = {}) {
    if (o.options.size() % 4 != 0 || o.options.size() > 40) throw std::logic_error("IPv4 options: 4n <= 40");
    link_next(0x0800, 0x0021, 2, 4);
    const size_t ihl = 20 + o.options.size();
    begin(L::Ipv4, ihl);
    const size_t start = size();
    put8(static_cast<uint8_t>(0x40 | (ihl / 4)));
    put8(0);                                  // DSCP/ECN
    fix_.push_back({Fix::Ipv4Total, size(), start});
    put16(0);                                 // total length (patched)
    put16(o.id);
    put16(static_cast<uint16_t>((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.frag_off8 & 0x1FFF)));
    put8(o.ttl);
    set_pending(Space::Proto, size());
    put8(0);                                  // protocol (next layer)
    put16(0);                                 // checksum: the decoder does not verify it
    putip(ip(src), 4);
    putip(ip(dst), 4);
    for (uint8_t b : o.options) put8(b);
    last_ip_version_ = 4;
    return *this;
  }
  PacketBuilder& ipv6(const char* src, const char* dst, uint32_t flow_label = 0) {
    link_next(0x86DD, 0x0057, af6_, 41);
    begin(L::Ipv6, 40);
    const size_t start = size();
    put32(0x60000000u | (flow_label & 0xFFFFF));
    fix_.push_back({Fix::Ipv6Payload, size(), start});
    put16(0);                                 // payload length (patched)
    set_pending(Space::Proto, size());
    put8(0);                                  // next header
    put8(64);                                 // hop limit
    putip(ip(src), 16);
    putip(ip(dst), 16);
    last_ip_version_ = 6;
    return *this;
  }
  /// A generic IPv6 extension header (hop-by-hop 0, routing 43, destination options 60): `len8` 8-byte units.
  PacketBuilder& ipv6_ext(uint8_t type, size_t len8 = 1) {
    if (len8 < 1) throw std::logic_error("ext header is at least 8 bytes");
    link_next(0, 0, 0, type);
    begin(L::Ipv6Ext, len8 * 8);
    set_pending(Space::Proto, size());
    put8(0);
    put8(static_cast<uint8_t>(len8 - 1));     // Hdr Ext Len: 8-byte units beyond the first
    put8(1);                                  // Pad1 … PadN-ish filler; content is not parsed
    for (size_t i = 3; i < len8 * 8; ++i) put8(0);
    return *this;
  }
  /// IPv6 fragment header (RFC 8200 §4.5), 8 bytes.
  PacketBuilder& ipv6_frag(uint16_t offset8, bool more, uint32_t id) {
    link_next(0, 0, 0, 44);
    begin(L::Ipv6Ext, 8);
    set_pending(Space::Proto, size());
    put8(0);
    put8(0);
    put16(static_cast<uint16_t>((offset8 << 3) | (more ? 1 : 0)));
    put32(id);
    return *this;
  }

  // ---- transport and tunnel ----------------------------------------------------------------------------
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1000, uint32_t ack = 0,
                     size_t opt_len = 0) {
    if (opt_len % 4 != 0 || opt_len > 40) throw std::logic_error("TCP options: 4n <= 40");
    link_next(0, 0, 0, 6);
    begin(L::Tcp, 20);
    put16(sport);
    put16(dport);
    put32(seq);
    put32(ack);
    put8(static_cast<uint8_t>(((20 + opt_len) / 4) << 4));
    put8(flags);
    put16(65535);  // window
    put16(0);      // checksum
    put16(0);      // urgent pointer
    for (size_t i = 0; i < opt_len; ++i) put8(0x01);  // NOPs
    return *this;
  }
  PacketBuilder& udp(uint16_t sport, uint16_t dport) {
    link_next(0, 0, 0, 17);
    begin(L::Udp, 8);
    const size_t start = size();
    put16(sport);
    put16(dport);
    fix_.push_back({Fix::UdpLength, size(), start});
    put16(0);
    put16(0);
    return *this;
  }
  /// ICMP (after IPv4) or ICMPv6 (after IPv6): type, code, checksum, then a 4-byte identifier/sequence.
  PacketBuilder& icmp(uint8_t type, uint8_t code) {
    link_next(0, 0, 0, last_ip_version_ == 6 ? 58 : 1);
    begin(L::Icmp, 4);
    put8(type);
    put8(code);
    put16(0);
    put16(0x0101);
    put16(0x0001);
    return *this;
  }
  /// GTPv1-U G-PDU (TS 29.281 §5.1): 8-byte header; 12 with sequence number and/or extension headers.
  PacketBuilder& gtpu(uint32_t teid, const std::vector<GtpExt>& exts = {}, bool seq = false) {
    const bool longhdr = seq || !exts.empty();
    size_t hl = longhdr ? 12 : 8;
    for (const GtpExt& e : exts) hl += e.units * 4u;
    begin(L::Gtp, hl + 1);  // the decoder wants at least one byte of the inner packet
    const size_t start = size();
    put8(static_cast<uint8_t>(0x30 | (exts.empty() ? 0 : 0x04) | (seq ? 0x02 : 0)));  // v1, PT=1
    put8(0xFF);                                                                       // G-PDU
    fix_.push_back({Fix::GtpLength, size(), start});
    put16(0);
    put32(teid);
    if (longhdr) {
      put16(7);  // sequence number
      put8(0);   // N-PDU number
      put8(exts.empty() ? 0 : exts[0].type);
      for (size_t i = 0; i < exts.size(); ++i) {
        put8(exts[i].units);
        for (size_t k = 0; k + 2 < exts[i].units * 4u; ++k) put8(0x11);
        put8(i + 1 < exts.size() ? exts[i + 1].type : 0);
      }
    }
    pending_ = {Space::None, 0};
    return *this;
  }
  /// VXLAN header (RFC 7348 §5): flags (I = 0x08 unless `i_flag` is false), 24-bit VNI. eth() follows.
  PacketBuilder& vxlan(uint32_t vni, bool i_flag = true) {
    begin(L::Vxlan, 8);
    put8(i_flag ? 0x08 : 0x00);
    put8(0);
    put16(0);
    put24(vni);
    put8(0);
    pending_ = {Space::None, 0};
    return *this;
  }
  /// Geneve header (RFC 8926 §3.4), version 0, with `opt_words` 4-byte words of options (one option TLV:
  /// class 0x0102, type 0x80, its data 0x5A); the protocol type is set by the next layer (eth() 0x6558,
  /// ipv4() 0x0800, ipv6() 0x86DD).
  PacketBuilder& geneve(uint32_t vni, uint8_t opt_words = 0) {
    if (opt_words > 63) throw std::logic_error("Geneve options: at most 63 words");
    begin(L::Geneve, 8 + opt_words * 4u);
    put8(opt_words);
    put8(0);
    set_pending(Space::Ether, size());
    put16(0);
    put24(vni);
    put8(0);
    if (opt_words > 0) {
      put16(0x0102);
      put8(0x80);
      put8(static_cast<uint8_t>(opt_words - 1));
      for (size_t i = 4; i < opt_words * 4u; ++i) put8(0x5A);
    }
    return *this;
  }
  /// GRE header, version 0 (RFC 2784, RFC 2890); the protocol type is set by the next layer (ipv4(), ipv6(),
  /// eth() 0x6558, erspan()).
  PacketBuilder& gre(const GreOpts& o = {}) {
    link_next(0, 0, 0, 47);
    begin(L::Gre, 4u + (o.csum ? 4u : 0u) + (o.keyed ? 4u : 0u) + (o.seq ? 4u : 0u));
    put16(static_cast<uint16_t>((o.csum ? 0x8000 : 0) | (o.keyed ? 0x2000 : 0) | (o.seq ? 0x1000 : 0)));
    set_pending(Space::Ether, size());
    put16(0);
    if (o.csum) put32(0);  // checksum (not verified) and reserved
    if (o.keyed) put32(o.key);
    if (o.seq) put32(77);  // sequence number
    return *this;
  }
  /// PPTP's enhanced GRE header, version 1 (RFC 2637 §4.1): K set, protocol type 0x880B (PPP), payload
  /// length 0 (not read), the call ID; a sequence number when `seq`, an acknowledgment number when `ack`.
  /// ppp() follows when a packet does.
  PacketBuilder& gre_pptp(uint16_t call_id, bool seq = true, bool ack = true) {
    link_next(0, 0, 0, 47);
    begin(L::Gre, 8u + (seq ? 4u : 0u) + (ack ? 4u : 0u));
    put16(static_cast<uint16_t>(0x2001 | (seq ? 0x1000 : 0) | (ack ? 0x0080 : 0)));
    put16(0x880B);
    put16(0);  // payload length
    put16(call_id);
    if (seq) put32(9);  // sequence number
    if (ack) put32(8);  // acknowledgment number
    return *this;
  }
  /// ERSPAN after gre(): type 1 (no header; the GRE header must have no sequence number), 2 (8-byte header,
  /// version 1; GRE with a sequence number), 3 (12-byte header, version 2, frame type 0, and the 8-byte
  /// platform sub-header when `o_flag`). eth() follows.
  PacketBuilder& erspan(int type, uint16_t session = 0, bool o_flag = false) {
    link_next(type == 3 ? 0x22EB : 0x88BE, 0, 0, 0);
    begin(L::Erspan, type == 1 ? 0u : type == 2 ? 8u : (o_flag ? 20u : 12u));
    if (type == 2) {
      put16(static_cast<uint16_t>((1 << 12) | 12));  // version 1, VLAN 12
      put16(static_cast<uint16_t>(session & 0x3FF));  // COS 0, En 0, T 0, session
      put32(0x00012345);                               // reserved, index
    } else if (type == 3) {
      put16(static_cast<uint16_t>((2 << 12) | 12));  // version 2, VLAN 12
      put16(static_cast<uint16_t>(session & 0x3FF));
      put32(0x01020304);  // timestamp
      put16(0);           // SGT
      put8(0);            // P 0, frame type 0 (Ethernet), hardware ID
      put8(o_flag ? 1 : 0);
      if (o_flag) {  // platform specific sub-header
        put32(0x11111111);
        put32(0x22222222);
      }
    }
    pending_ = {Space::None, 0};
    return *this;
  }
  /// TZSP: version 1, `type` (0 received), encapsulation `encap` (1 Ethernet: eth() follows; 18 802.11:
  /// wlan(false, ...) follows), then `tags` as given (the END tag 0x01 by default).
  PacketBuilder& tzsp(uint16_t encap = 1, const std::vector<uint8_t>& tags = {0x01}, uint8_t type = 0) {
    begin(L::Tzsp, 4 + tags.size());
    put8(1);
    put8(type);
    put16(encap);
    for (uint8_t t : tags) put8(t);
    pending_ = {Space::None, 0};
    return *this;
  }
  /// CAPWAP data header (RFC 5415 §4.3): preamble 0, HLEN `words` (the optional part a Radio MAC Address
  /// field, M set, when words > 2), RID 1, WBID 1 with T when `native` (wlan(false, ...) follows) or an
  /// IEEE 802.3 frame (eth() follows), F when `fragment`.
  PacketBuilder& capwap(bool native = true, uint8_t words = 2, bool fragment = false) {
    if (words < 2 || words > 31) throw std::logic_error("CAPWAP HLEN: 2..31 words");
    begin(L::Capwap, words * 4u);
    put8(0);
    put8(static_cast<uint8_t>(words << 3));                         // HLEN, RID high bits 0
    put8(static_cast<uint8_t>((1 << 6) | (1 << 1) | (native ? 1 : 0)));  // RID 1, WBID 1, T
    put8(static_cast<uint8_t>((fragment ? 0x80 : 0) | (words > 2 ? 0x10 : 0)));
    put32(0);  // fragment id and offset
    for (size_t i = 8; i < words * 4u; ++i) put8(i == 8 ? 6 : i < 15 ? 0x0C : 0);  // radio MAC: length 6, MAC, pad
    pending_ = {Space::None, 0};
    return *this;
  }
  PacketBuilder& payload(size_t n, uint8_t fill = 0xAB) {
    begin(L::Payload, 0);
    for (size_t i = 0; i < n; ++i) put8(static_cast<uint8_t>(fill + i));
    return *this;
  }
  PacketBuilder& payload(const std::string& s) {
    begin(L::Payload, 0);
    for (char c : s) put8(static_cast<uint8_t>(c));
    return *this;
  }

  /// Patches the length fields and appends `pad` zero bytes of link padding (e.g. Ethernet minimum size).
  Frame build(size_t pad = 0) const {
    Frame f;
    f.data = bytes_;
    f.layers = layers_;
    const size_t end = bytes_.size();
    for (const FixUp& x : fix_) {
      size_t v = 0;
      switch (x.what) {
        case Fix::Ipv4Total: v = end - x.start; break;
        case Fix::Ipv6Payload: v = end - x.start - 40; break;
        case Fix::UdpLength: v = end - x.start; break;
        case Fix::GtpLength: v = end - x.start - 8; break;
      }
      f.put16(x.at, static_cast<uint16_t>(v));
    }
    if (pppoe_len_at_ != 0) f.put16(pppoe_len_at_, static_cast<uint16_t>(end - pppoe_len_at_ - 2));
    f.ip_end = end;
    f.data.resize(end + pad, 0);
    return f;
  }

 private:
  enum class Space { None, Ether, Ppp, AfLe, AfBe, Proto };
  enum class Fix { Ipv4Total, Ipv6Payload, UdpLength, GtpLength };
  struct Pending {
    Space space;
    size_t at;
  };
  struct FixUp {
    Fix what;
    size_t at;
    size_t start;
  };

  size_t size() const { return bytes_.size(); }
  void begin(L kind, size_t need) { layers_.push_back({kind, size(), need}); }
  void set_pending(Space s, size_t at) { pending_ = {s, at}; }
  void put8(uint8_t v) { bytes_.push_back(v); }
  void put16(uint16_t v) {
    put8(static_cast<uint8_t>(v >> 8));
    put8(static_cast<uint8_t>(v));
  }
  void put24(uint32_t v) {
    put8(static_cast<uint8_t>(v >> 16));
    put16(static_cast<uint16_t>(v));
  }
  void put32(uint32_t v) {
    put16(static_cast<uint16_t>(v >> 16));
    put16(static_cast<uint16_t>(v));
  }
  void putip(const IpAddr& a, size_t n) {
    if ((n == 4) != (a.version == 4)) throw std::logic_error("address family does not match the IP version");
    for (size_t i = 0; i < n; ++i) put8(a.bytes[i]);
  }
  /// Fills the pending "next protocol" field with this layer's code in that field's number space.
  void link_next(uint16_t ether, uint16_t ppp, uint32_t af, uint8_t proto) {
    const size_t at = pending_.at;
    switch (pending_.space) {
      case Space::None: break;
      case Space::Ether:
        if (ether == 0) throw std::logic_error("layer cannot follow an ethertype");
        if (bytes_[at] == 0 && bytes_[at + 1] == 0) {
          bytes_[at] = static_cast<uint8_t>(ether >> 8);
          bytes_[at + 1] = static_cast<uint8_t>(ether);
        }
        break;
      case Space::Ppp:
        if (ppp == 0) throw std::logic_error("layer cannot follow PPP");
        bytes_[at] = static_cast<uint8_t>(ppp >> 8);
        bytes_[at + 1] = static_cast<uint8_t>(ppp);
        break;
      case Space::AfLe:
      case Space::AfBe:
        if (af == 0) throw std::logic_error("layer cannot follow DLT_NULL");
        for (int i = 0; i < 4; ++i) {
          const int shift = pending_.space == Space::AfLe ? 8 * i : 8 * (3 - i);
          bytes_[at + static_cast<size_t>(i)] = static_cast<uint8_t>(af >> shift);
        }
        break;
      case Space::Proto:  // IPv4 protocol / IPv6 next header (0 = hop-by-hop is a legitimate value)
        bytes_[at] = proto;
        break;
    }
    pending_ = {Space::None, 0};
  }

  std::vector<uint8_t> bytes_;
  std::vector<Span> layers_;
  std::vector<FixUp> fix_;
  Pending pending_{Space::None, 0};
  size_t pppoe_len_at_ = 0;
  uint32_t af6_ = 30;
  int last_ip_version_ = 4;
};

/// A 176-byte UDP payload from 10.0.0.1:5000 to 10.0.0.2:5001 in three IPv4 fragments (RFC 791):
/// 72 + 72 + 40 bytes of the 184-byte UDP datagram at offsets 0, 9 and 18 (8-byte units). `middle`, when
/// given, is the second fragment's 72 bytes (else PacketBuilder's counting bytes).
inline std::vector<Frame> three_udp_fragments(uint16_t id, const std::string* middle = nullptr) {
  Ipv4Opts f1;
  f1.id = id;
  f1.mf = true;
  Frame a = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", f1).udp(5000, 5001).payload(64).build();
  a.put16(a.off(L::Udp) + 4, 8 + 176);
  Ipv4Opts f2 = f1;
  f2.frag_off8 = 9;
  PacketBuilder second;
  second.eth().ipv4("10.0.0.1", "10.0.0.2", f2);
  if (middle != nullptr) {
    if (middle->size() != 72) throw std::invalid_argument("three_udp_fragments: the middle fragment holds 72 bytes");
    second.payload(*middle);
  } else {
    second.payload(72);
  }
  Frame b = second.build();
  b.data[b.off(L::Ipv4) + 9] = 17;
  Ipv4Opts f3;
  f3.id = id;
  f3.frag_off8 = 18;
  Frame c = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", f3).payload(40).build();
  c.data[c.off(L::Ipv4) + 9] = 17;
  return {a, b, c};
}

}  // namespace sealscope::testing
