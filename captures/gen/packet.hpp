#pragma once

#include "bytes.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace sealscope::mkcaptures {

/// An IPv4 or IPv6 address (IPv4 in the first 4 bytes).
struct IpAddr {
    bool v6 = false;
    std::array<std::uint8_t, 16> b{};

    /// Parses dotted-quad or IPv6 text; aborts on a typo (the generator's inputs are constants).
    static IpAddr parse(std::string_view text);
    Bytes raw() const { return Bytes(b.begin(), b.begin() + (v6 ? 16 : 4)); }
};

using MacAddr = std::array<std::uint8_t, 6>;

/// A MAC address from the IANA documentation block 00-00-5E-00-53-00/24 (RFC 7042).
constexpr MacAddr doc_mac(std::uint8_t last) { return {0x00, 0x00, 0x5e, 0x00, 0x53, last}; }

/// One side of a transport conversation.
struct Endpoint {
    IpAddr ip;
    std::uint16_t port = 0;
    std::uint8_t ttl = 64; ///< TTL / hop limit this host's packets carry where captured
};

/// Direction within a conversation: up = from the initiator (client), down = towards it.
enum class Dir { up, down };

namespace ipproto {
inline constexpr std::uint8_t hopopts = 0, icmp = 1, tcp = 6, udp = 17, dstopts = 60, icmpv6 = 58, nonext = 59;
}

namespace ethertype {
inline constexpr std::uint16_t ipv4 = 0x0800, ipv6 = 0x86dd, vlan = 0x8100, qinq = 0x88a8;
}

/// RFC 1071 one's-complement sum, folded and inverted.
std::uint16_t inet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum = 0);

/// Adds the IPv4 or IPv6 pseudo-header to a running sum (before folding).
std::uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, std::uint32_t l4_len);

/// IPv4 header fields the caller controls.
struct Ipv4Opts {
    std::uint16_t id = 0;
    std::uint8_t ttl = 64;
    bool df = true;
    bool mf = false;
    std::uint16_t frag_offset_bytes = 0; ///< multiple of 8
    std::uint8_t tos = 0;
};

/// Builds an IPv4 packet with a correct header checksum.
Bytes ipv4_packet(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& payload, const Ipv4Opts& opts);

/// An IPv6 extension header in a chain (Hop-by-Hop or Destination Options with PadN).
struct Ipv6Ext {
    std::uint8_t type = ipproto::hopopts;
    Bytes options; ///< TLV options; padded so the header is a multiple of 8 bytes
};

/// Builds an IPv6 packet; exts are chained in order before the upper-layer payload.
Bytes ipv6_packet(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& payload, std::uint8_t hop_limit,
                  std::uint32_t flow_label = 0, const std::vector<Ipv6Ext>& exts = {});

/// UDP header + payload with a correct checksum over the pseudo-header.
Bytes udp_datagram(const IpAddr& src, const IpAddr& dst, std::uint16_t sport, std::uint16_t dport, const Bytes& payload);

namespace tcpflag {
inline constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
}

/// TCP header fields the caller controls.
struct TcpFields {
    std::uint16_t sport = 0, dport = 0;
    std::uint32_t seq = 0, ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    Bytes options; ///< already padded to a multiple of 4
};

/// TCP header + payload with a correct checksum over the pseudo-header.
Bytes tcp_segment(const IpAddr& src, const IpAddr& dst, const TcpFields& f, const Bytes& payload);

/// ICMP (v4) or ICMPv6 echo request/reply message with checksum.
Bytes icmp_echo(const IpAddr& src, const IpAddr& dst, bool reply, std::uint16_t ident, std::uint16_t seq, const Bytes& data);

/// ICMP (v4) or ICMPv6 error message with checksum: type, code, the 4 bytes after the checksum (`rest`: 0,
/// the next-hop MTU, or the pointer) and the quoted packet's bytes.
Bytes icmp_error(const IpAddr& src, const IpAddr& dst, std::uint8_t type, std::uint8_t code, std::uint32_t rest,
                 const Bytes& quote);

/// What an ICMP error quotes of `ip`: the IPv4 header and 8 bytes of what follows (RFC 792), or as much of
/// an IPv6 packet as keeps the error within the minimum MTU of 1280 bytes (RFC 4443 §2.4 (c)).
Bytes error_quote(const Bytes& ip);

/// Wraps an L4 payload in IPv4 or IPv6 according to the addresses.
Bytes ip_packet(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& l4, std::uint8_t ttl, std::uint16_t ip_id,
                bool df = true, const std::vector<Ipv6Ext>& exts = {});

/// An 802.1Q / 802.1ad tag.
struct VlanTag {
    std::uint16_t tpid = ethertype::vlan;
    std::uint16_t vid = 0;
    std::uint8_t pcp = 0;
};

/// Ethertype of an IP packet (from its version nibble).
std::uint16_t ethertype_of(const Bytes& ip);

/// Ethernet II frame (no FCS, no padding) with optional VLAN tags, outermost first.
Bytes ethernet_frame(const MacAddr& dst, const MacAddr& src, std::uint16_t type, const Bytes& payload,
                     const std::vector<VlanTag>& tags = {});

/// Keeps TCP state (sequence numbers, IP ids) for one connection and builds its packets as IP packets.
class TcpSession {
public:
    TcpSession(Endpoint client, Endpoint server, Rng& rng);

    Bytes syn();
    Bytes syn_ack();
    Bytes ack(Dir dir);
    /// Sends payload as MSS-sized segments (PSH on the last one).
    std::vector<Bytes> send(Dir dir, const Bytes& payload);
    Bytes fin(Dir dir);
    Bytes rst(Dir dir);

    /// IPv6 extension headers to put in the next packets (empty = none).
    void set_ipv6_exts(std::vector<Ipv6Ext> exts) { exts_ = std::move(exts); }

private:
    Bytes make(Dir dir, std::uint8_t flags, const Bytes& payload, const Bytes& options = {});

    Endpoint client_, server_;
    std::uint32_t seq_[2], ip_id_[2];
    std::uint16_t window_[2];
    std::vector<Ipv6Ext> exts_;
    static constexpr std::size_t mss_ = 1460;
};

/// Builds the IP packets of one UDP conversation (IP ids per direction).
class UdpFlow {
public:
    UdpFlow(Endpoint client, Endpoint server, Rng& rng);
    Bytes send(Dir dir, const Bytes& payload);
    const Endpoint& client() const { return client_; }
    const Endpoint& server() const { return server_; }

private:
    Endpoint client_, server_;
    std::uint32_t ip_id_[2];
};

} // namespace sealscope::mkcaptures
