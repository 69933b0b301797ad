// tunnels.pcap and tunnels-ndpi.pcap: short, ordinary exchanges (DNS, TLS, STUN, HTTP) carried in each tunnel
// sealscope takes apart. Each tunnel is a Wrap (an inner IP packet in one direction → the outer IP packet that
// carries it), so tunnels nest by composition; every section has its own seed, clock and addresses, so the
// sections tunnels-ndpi.pcap shares with tunnels.pcap are the same frames in both files.

#include "tunnels.hpp"

#include "packet.hpp"
#include "protocols.hpp"
#include "scenario.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace sealscope::mkcaptures {
namespace {

IpAddr ip(const char* text) { return IpAddr::parse(text); }

Endpoint ep(const char* addr, std::uint16_t port, std::uint8_t ttl) { return Endpoint{ip(addr), port, ttl}; }

constexpr std::uint8_t ttl_local = 64, ttl_resolver = 61, ttl_remote = 52, ttl_tunnel = 64;

const char* const resolver4 = "198.51.100.53";
const char* const resolver6 = "2001:db8:53::53";
const char* const www4 = "203.0.113.10"; // www.example.com
const char* const www6 = "2001:db8:113::10";
const char* const chat4 = "203.0.113.20"; // chat.example.org
const char* const stun4 = "198.51.100.20";
const char* const web_net = "203.0.113.30"; // www.example.net

constexpr MacAddr gw_mac = doc_mac(0x01);

// ---- outer paths and tunnels --------------------------------------------------------------------------

/// The outer conversation a tunnel rides on: `a` sends the up packets and `b` the down ones; with `mirror`,
/// `a` (a switch or sensor that copies traffic) sends every packet to `b` (its collector), whatever the
/// inner direction. Outer IPv4 packets have DF clear and TTL 64 (`ttl_tunnel`).
struct Path {
    Endpoint a, b;
    MacAddr a_mac{}, b_mac{};
    bool mirror = false;
    std::uint16_t ip_id[2] = {0, 0};
    std::uint32_t sent = 0; ///< packets sent on the path: GRE sequence numbers, ERSPAN timestamps
};
using PathPtr = std::shared_ptr<Path>;

PathPtr path(Endpoint a, Endpoint b, MacAddr a_mac, MacAddr b_mac, bool mirror, std::uint16_t id_a, std::uint16_t id_b)
{
    auto p = std::make_shared<Path>();
    p->a = std::move(a);
    p->b = std::move(b);
    p->a_mac = a_mac;
    p->b_mac = b_mac;
    p->mirror = mirror;
    p->ip_id[0] = id_a;
    p->ip_id[1] = id_b;
    return p;
}

/// An inner IP packet in one direction → the outer IP packet that carries it.
using Wrap = std::function<Bytes(Dir, const Bytes& inner)>;

bool from_a(const Path& p, Dir d) { return p.mirror || d == Dir::up; }

Bytes outer_ip(Path& p, Dir d, std::uint8_t proto, const Bytes& payload)
{
    const bool a = from_a(p, d);
    const Endpoint& src = a ? p.a : p.b;
    const Endpoint& dst = a ? p.b : p.a;
    ++p.sent;
    return ip_packet(src.ip, dst.ip, proto, payload, src.ttl, p.ip_id[a ? 0 : 1]++, false);
}

/// A UDP datagram on the path: from the sender's port to `dport`, or to the receiver's port when it is 0.
Bytes outer_udp(Path& p, Dir d, std::uint16_t dport, const Bytes& payload)
{
    const bool a = from_a(p, d);
    const Endpoint& src = a ? p.a : p.b;
    const Endpoint& dst = a ? p.b : p.a;
    return outer_ip(p, d, ipproto::udp, udp_datagram(src.ip, dst.ip, src.port, dport != 0 ? dport : dst.port, payload));
}

Bytes joined(Bytes head, const Bytes& tail)
{
    Writer(head).bytes(tail);
    return head;
}

/// GTP-U G-PDUs between the path's ends (ports 2152), TEID per direction.
Wrap gtp(PathPtr p, std::uint32_t teid_up, std::uint32_t teid_down)
{
    return [=](Dir d, const Bytes& inner) { return outer_udp(*p, d, 0, gtpu_gpdu(d == Dir::up ? teid_up : teid_down, inner)); };
}

/// VXLAN to UDP port 4789 from each end's own source port, the inner packet in an Ethernet frame.
Wrap vxlan(PathPtr p, std::uint32_t vni, Framer inner_eth)
{
    return [=](Dir d, const Bytes& inner) { return outer_udp(*p, d, 4789, joined(vxlan_header(vni), inner_eth(d, inner))); };
}

/// Geneve to UDP port 6081 with `options`, protocol type 0x6558: the inner packet in an Ethernet frame.
Wrap geneve(PathPtr p, std::uint32_t vni, Bytes options, Framer inner_eth)
{
    return [=](Dir d, const Bytes& inner) {
        return outer_udp(*p, d, 6081, joined(geneve_header(vni, 0x6558, options), inner_eth(d, inner)));
    };
}

/// GRE carrying the inner IP packet (protocol type 0x0800 or 0x86DD), with a key when `key` is given.
Wrap gre_ip(PathPtr p, std::optional<std::uint32_t> key)
{
    return [=](Dir d, const Bytes& inner) {
        GreFields f;
        f.key = key;
        return outer_ip(*p, d, 47, gre_packet(f, ethertype_of(inner), inner));
    };
}

/// GRE with checksum and sequence number carrying an Ethernet frame (transparent Ethernet bridging, 0x6558).
Wrap gre_eth(PathPtr p, Framer inner_eth)
{
    return [=](Dir d, const Bytes& inner) {
        GreFields f;
        f.checksum = true;
        f.seq = p->sent + 1;
        return outer_ip(*p, d, 47, gre_packet(f, 0x6558, inner_eth(d, inner)));
    };
}

/// GRE carrying an MPLS label stack (protocol type 0x8847, RFC 4023) of `labels` (the last at the bottom of
/// the stack, TTL 64), then the inner IP packet.
Wrap gre_mpls(PathPtr p, std::vector<std::uint32_t> labels)
{
    return [=](Dir d, const Bytes& inner) {
        Bytes stack;
        Writer w(stack);
        for (std::size_t i = 0; i < labels.size(); ++i)
            w.u32((labels[i] << 12) | (i + 1 == labels.size() ? 0x100u : 0u) | 64u);
        return outer_ip(*p, d, 47, gre_packet(GreFields{}, 0x8847, joined(stack, inner)));
    };
}

/// PPTP's enhanced GRE (RFC 2637 §4.1) between a client (`a`) and its server (`b`): each end's packets carry
/// the call ID its peer chose (`call_up` from the client, `call_down` from the server), a sequence number,
/// and, once the peer has sent one, the peer's latest as acknowledgment; then a PPP frame (address 0xFF,
/// control 0x03, protocol 0x0021 IPv4, or 0x21 alone when `compress_down` on the server's packets).
Wrap pptp(PathPtr p, std::uint16_t call_up, std::uint16_t call_down, bool compress_down)
{
    auto sent = std::make_shared<std::array<std::uint32_t, 2>>();
    return [=](Dir d, const Bytes& inner) {
        const int me = d == Dir::up ? 0 : 1;
        const std::uint32_t peer = (*sent)[1 - me];
        Bytes ppp;
        Writer pw(ppp);
        pw.u8(0xff).u8(0x03);
        if (compress_down && d == Dir::down)
            pw.u8(0x21);
        else
            pw.u16(0x0021);
        pw.bytes(inner);
        Bytes g;
        Writer w(g);
        w.u16(static_cast<std::uint16_t>(0x3001 | (peer > 0 ? 0x0080 : 0))).u16(0x880b);
        w.u16(static_cast<std::uint16_t>(ppp.size())).u16(d == Dir::up ? call_up : call_down);
        w.u32((*sent)[me]++);
        if (peer > 0)
            w.u32(peer - 1);
        w.bytes(ppp);
        return outer_ip(*p, d, 47, g);
    };
}

/// ERSPAN of type 1, 2 or 3 (session ID for 2 and 3; type 3 with the platform sub-header) on a mirror path.
Wrap erspan(PathPtr p, int type, std::uint16_t session, Framer inner_eth)
{
    return [=](Dir d, const Bytes& inner) {
        const Bytes frame = inner_eth(d, inner);
        GreFields f;
        if (type == 1)
            return outer_ip(*p, d, 47, gre_packet(f, 0x88be, frame));
        f.seq = p->sent + 1;
        if (type == 2)
            return outer_ip(*p, d, 47, gre_packet(f, 0x88be, joined(erspan2_header(session, 0, 0x00013), frame)));
        return outer_ip(*p, d, 47, gre_packet(f, 0x22eb, joined(erspan3_header(session, 0, 125000u * (p->sent + 1), true), frame)));
    };
}

/// TZSP to UDP port 37008, type 0 (received), encapsulation 1 (Ethernet) or 18 (802.11), with `tags`.
Wrap tzsp(PathPtr p, std::uint16_t encap, Bytes tags, Framer inner_link)
{
    return [=](Dir d, const Bytes& inner) { return outer_udp(*p, d, 37008, joined(tzsp_header(0, encap, tags), inner_link(d, inner))); };
}

/// CAPWAP data between a WTP (`a`) and its AC (`b`, port 5247): native 802.11 or 802.3 frames.
Wrap capwap(PathPtr p, bool native, std::optional<MacAddr> radio_mac, Framer inner_link)
{
    return [=](Dir d, const Bytes& inner) { return outer_udp(*p, d, 0, joined(capwap_header(native, 1, radio_mac), inner_link(d, inner))); };
}

/// IP in IP: protocol 4 for an inner IPv4 packet, 41 for IPv6.
Wrap ipip(PathPtr p)
{
    return [=](Dir d, const Bytes& inner) { return outer_ip(*p, d, ethertype_of(inner) == ethertype::ipv6 ? 41 : 4, inner); };
}

/// `outer` around `inner`: the packet `inner` makes is what `outer` carries.
Wrap nest(Wrap outer, Wrap inner)
{
    return [=](Dir d, const Bytes& ip) { return outer(d, inner(d, ip)); };
}

/// The outermost frame: Ethernet between the path's ends (outer VLAN `tags`), around what `w` makes.
Framer on_path(PathPtr p, Wrap w, std::vector<VlanTag> tags = {})
{
    return [=](Dir d, const Bytes& ip) {
        const Bytes outer = w(d, ip);
        const bool a = from_a(*p, d);
        return ethernet_frame(a ? p->b_mac : p->a_mac, a ? p->a_mac : p->b_mac, ethertype_of(outer), outer, tags);
    };
}

/// IEEE 802.11 data frames between a station and its access point (BSSID), to or from the gateway behind
/// it: up = station → AP (To DS), down = AP → station (From DS); QoS data (TID 0) when `qos`, and on the up
/// frames the Order bit with an HT control field when `htc_up`; then LLC/SNAP (RFC 1042) and the ethertype.
Framer wlan_framer(MacAddr station, MacAddr bssid, MacAddr gateway, bool qos, bool htc_up)
{
    auto seq = std::make_shared<std::array<std::uint16_t, 2>>();
    return [=](Dir d, const Bytes& ip) {
        const bool up = d == Dir::up;
        const bool htc = qos && htc_up && up;
        Bytes f;
        Writer w(f);
        w.u8(qos ? 0x88 : 0x08);                                                    // data or QoS data
        w.u8(static_cast<std::uint8_t>((up ? 0x01 : 0x02) | (htc ? 0x80 : 0x00))); // To DS / From DS, Order
        w.u8(0x2c).u8(0x00);                                                        // duration 44 µs, little-endian
        if (up)
            w.bytes(bssid).bytes(station).bytes(gateway); // receiver, transmitter (source), destination
        else
            w.bytes(station).bytes(bssid).bytes(gateway); // receiver (destination), transmitter, source
        const auto sc = static_cast<std::uint16_t>((*seq)[up ? 0 : 1]++ << 4);
        w.u8(static_cast<std::uint8_t>(sc)).u8(static_cast<std::uint8_t>(sc >> 8)); // sequence control
        if (qos)
            w.u8(0).u8(0); // QoS control: TID 0
        if (htc)
            w.u32(0); // HT control
        w.u8(0xaa).u8(0xaa).u8(0x03).u24(0).u16(ethertype_of(ip)).bytes(ip);
        return f;
    };
}

// ---- the exchanges ---------------------------------------------------------------------------------

/// One DNS A (or, from an IPv6 client, AAAA) query for `name` and its answer, client port `port`.
void dns(Timeline& tl, Rng& rng, const char* client, std::uint16_t port, std::uint16_t id, const char* name, const char* answer)
{
    const bool v6 = IpAddr::parse(client).v6;
    UdpFlow f(ep(client, port, ttl_local), ep(v6 ? resolver6 : resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, f, id, name, v6 ? dnstype::aaaa : dnstype::a, {ip(answer)}, 12 * ms + rng.range(0, 3000));
}

/// A TLS 1.3 session (one round, FIN close) to `server`:443 with SNI `sni`.
void tls(Timeline& tl, Rng& rng, const char* client, std::uint16_t port, const char* server, const char* sni)
{
    TcpSession s(ep(client, port, ttl_local), ep(server, 443, ttl_remote), rng);
    TlsScript script;
    script.sni = sni;
    script.rounds = 1;
    script.think_us = 150 * ms;
    tls_session(tl, s, rng, script);
}

/// Two STUN Binding transactions to `server`:3478.
void stun(Timeline& tl, Rng& rng, const char* client, std::uint16_t port)
{
    UdpFlow f(ep(client, port, ttl_local), ep(stun4, 3478, ttl_remote), rng);
    stun_transactions(tl, f, rng, 2, 200 * ms, 24 * ms);
}

// ---- the sections --------------------------------------------------------------------------------------

struct Section {
    bool ndpi; ///< also in tunnels-ndpi.pcap (ndpiReader 4.2 takes it apart too)
    void (*add)(Capture&);
};

std::uint64_t at(int seconds) { return t0_us + static_cast<std::uint64_t>(seconds) * sec; }

// VXLAN between two VTEPs, VNI 5001; the inner frames carry 802.1Q VLAN 100.
void add_vxlan(Capture& cap)
{
    Rng rng(0x7e01);
    auto p = path(ep("198.51.100.101", 49731, ttl_tunnel), ep("198.51.100.102", 55019, ttl_tunnel), doc_mac(0x41), doc_mac(0x42),
                  false, 0x1100, 0x2100);
    const Framer inner = eth_framer(doc_mac(0x61), gw_mac, {VlanTag{ethertype::vlan, 100, 0}});
    Timeline tl(cap, on_path(p, vxlan(p, 5001, inner)), at(0));
    dns(tl, rng, "192.0.2.61", 53061, 0x7e01, "www.example.com", www4);
    tl.wait(3 * ms);
    tls(tl, rng, "192.0.2.61", 51061, www4, "www.example.com");
}

// Geneve over IPv6, VNI 0x00abcd, one 8-byte option; STUN inside.
void add_geneve(Capture& cap)
{
    Rng rng(0x7e02);
    auto p = path(ep("2001:db8:6::1", 50011, ttl_tunnel), ep("2001:db8:6::2", 61012, ttl_tunnel), doc_mac(0x43), doc_mac(0x44), false,
                  0, 0);
    const Bytes options = geneve_option(0x0102, 0x80, {0x00, 0x00, 0x00, 0x2a});
    Timeline tl(cap, on_path(p, geneve(p, 0x00abcd, options, eth_framer(doc_mac(0x62), gw_mac))), at(3));
    stun(tl, rng, "192.0.2.62", 50062);
}

// GRE with key 42 carrying IPv4 (the outer frames tagged VLAN 20): DNS.
void add_gre_key(Capture& cap)
{
    Rng rng(0x7e03);
    auto p = path(ep("203.0.113.201", 0, ttl_tunnel), ep("203.0.113.202", 0, ttl_tunnel), doc_mac(0x45), doc_mac(0x46), false,
                  0x1300, 0x2300);
    Timeline tl(cap, on_path(p, gre_ip(p, 42), {VlanTag{ethertype::vlan, 20, 0}}), at(6));
    dns(tl, rng, "192.0.2.63", 53063, 0x7e03, "www.example.com", www4);
}

// GRE without key carrying IPv6: DNS AAAA.
void add_gre_v6(Capture& cap)
{
    Rng rng(0x7e04);
    auto p = path(ep("203.0.113.203", 0, ttl_tunnel), ep("203.0.113.204", 0, ttl_tunnel), doc_mac(0x47), doc_mac(0x48), false,
                  0x1400, 0x2400);
    Timeline tl(cap, on_path(p, gre_ip(p, std::nullopt)), at(8));
    dns(tl, rng, "2001:db8:1::63", 53064, 0x7e04, "www.example.com", www6);
}

// GRE with checksum and sequence number carrying Ethernet (0x6558) with VLAN 30: an HTTP session.
void add_gre_eth(Capture& cap)
{
    Rng rng(0x7e05);
    auto p = path(ep("203.0.113.205", 0, ttl_tunnel), ep("203.0.113.206", 0, ttl_tunnel), doc_mac(0x49), doc_mac(0x4a), false,
                  0x1500, 0x2500);
    const Framer inner = eth_framer(doc_mac(0x64), gw_mac, {VlanTag{ethertype::vlan, 30, 0}});
    Timeline tl(cap, on_path(p, gre_eth(p, inner)), at(10));
    TcpSession s(ep("192.0.2.64", 52064, ttl_local), ep(www4, 80, ttl_remote), rng);
    http_session(tl, s, "www.example.com", "/", 25 * ms);
}

// ERSPAN type I (GRE 0x88be, no sequence number) from a switch to its collector: DNS.
void add_erspan1(Capture& cap)
{
    Rng rng(0x7e06);
    auto p = path(ep("192.0.2.100", 0, ttl_tunnel), ep("192.0.2.200", 0, ttl_tunnel), doc_mac(0x4b), doc_mac(0x4f), true, 0x1600, 0);
    Timeline tl(cap, on_path(p, erspan(p, 1, 0, eth_framer(doc_mac(0x65), gw_mac))), at(13));
    dns(tl, rng, "192.0.2.65", 53065, 0x7e06, "www.example.com", www4);
}

// ERSPAN type II, session 7: a TLS session.
void add_erspan2(Capture& cap)
{
    Rng rng(0x7e07);
    auto p = path(ep("192.0.2.101", 0, ttl_tunnel), ep("192.0.2.200", 0, ttl_tunnel), doc_mac(0x4c), doc_mac(0x4f), true, 0x1700, 0);
    Timeline tl(cap, on_path(p, erspan(p, 2, 7, eth_framer(doc_mac(0x66), gw_mac))), at(15));
    tls(tl, rng, "192.0.2.66", 51066, chat4, "chat.example.org");
}

// ERSPAN type III, session 300, with the platform sub-header: STUN.
void add_erspan3(Capture& cap)
{
    Rng rng(0x7e08);
    auto p = path(ep("192.0.2.102", 0, ttl_tunnel), ep("192.0.2.200", 0, ttl_tunnel), doc_mac(0x4d), doc_mac(0x4f), true, 0x1800, 0);
    Timeline tl(cap, on_path(p, erspan(p, 3, 300, eth_framer(doc_mac(0x67), gw_mac))), at(18));
    stun(tl, rng, "192.0.2.67", 50067);
}

// TZSP from a MikroTik-style sensor: type 0, Ethernet, only the END tag. DNS and TLS.
void add_tzsp_eth(Capture& cap)
{
    Rng rng(0x7e09);
    auto p = path(ep("192.0.2.150", 40150, ttl_tunnel), ep("192.0.2.200", 37008, ttl_tunnel), doc_mac(0x50), doc_mac(0x4f), true,
                  0x1900, 0);
    Timeline tl(cap, on_path(p, tzsp(p, 1, {0x01}, eth_framer(doc_mac(0x68), gw_mac))), at(21));
    dns(tl, rng, "192.0.2.68", 53068, 0x7e09, "www.example.com", www4);
    tl.wait(3 * ms);
    tls(tl, rng, "192.0.2.68", 51068, www4, "www.example.com");
}

// TZSP with 802.11 frames (encapsulation 18) and tags: RX channel 6, signal -56 dBm, padding, END. QoS data
// frames, the station's with HT control. DNS.
void add_tzsp_wlan(Capture& cap)
{
    Rng rng(0x7e0a);
    auto p = path(ep("192.0.2.151", 40151, ttl_tunnel), ep("192.0.2.200", 37008, ttl_tunnel), doc_mac(0x51), doc_mac(0x4f), true,
                  0x1a00, 0);
    const Bytes tags{0x12, 0x01, 0x06, 0x0a, 0x01, 0xc8, 0x00, 0x01};
    Timeline tl(cap, on_path(p, tzsp(p, 18, tags, wlan_framer(doc_mac(0x69), doc_mac(0x70), gw_mac, true, true))), at(24));
    dns(tl, rng, "192.0.2.69", 53069, 0x7e0a, "www.example.com", www4);
}

// CAPWAP data, native 802.11 with plain 24-byte data headers and no optional header fields: DNS and TLS.
void add_capwap_plain(Capture& cap)
{
    Rng rng(0x7e0b);
    auto p = path(ep("203.0.113.100", 12223, ttl_tunnel), ep("203.0.113.1", 5247, ttl_tunnel), doc_mac(0x52), doc_mac(0x53), false,
                  0x1b00, 0x2b00);
    Timeline tl(cap, on_path(p, capwap(p, true, std::nullopt, wlan_framer(doc_mac(0x6a), doc_mac(0x71), gw_mac, false, false))), at(26));
    dns(tl, rng, "192.0.2.70", 53070, 0x7e0b, "www.example.com", www4);
    tl.wait(3 * ms);
    tls(tl, rng, "192.0.2.70", 51070, www4, "www.example.com");
}

// CAPWAP data with the Radio MAC Address field (HLEN 4) and QoS data frames: DNS.
void add_capwap_qos(Capture& cap)
{
    Rng rng(0x7e0c);
    auto p = path(ep("203.0.113.101", 12224, ttl_tunnel), ep("203.0.113.1", 5247, ttl_tunnel), doc_mac(0x54), doc_mac(0x53), false,
                  0x1c00, 0x2c00);
    const Framer inner = wlan_framer(doc_mac(0x6b), doc_mac(0x72), gw_mac, true, false);
    Timeline tl(cap, on_path(p, capwap(p, true, doc_mac(0x72), inner)), at(29));
    dns(tl, rng, "192.0.2.71", 53071, 0x7e0c, "www.example.com", www4);
}

// CAPWAP data carrying IEEE 802.3 frames (T clear): DNS.
void add_capwap_8023(Capture& cap)
{
    Rng rng(0x7e0d);
    auto p = path(ep("203.0.113.102", 12225, ttl_tunnel), ep("203.0.113.1", 5247, ttl_tunnel), doc_mac(0x55), doc_mac(0x53), false,
                  0x1d00, 0x2d00);
    Timeline tl(cap, on_path(p, capwap(p, false, std::nullopt, eth_framer(doc_mac(0x6c), gw_mac))), at(31));
    dns(tl, rng, "192.0.2.72", 53072, 0x7e0d, "www.example.com", www4);
}

// IP in IP, four ways: DNS in 4in4, HTTP in 6in4, DNS in 4in6, DNS AAAA in 6in6.
void add_4in4(Capture& cap)
{
    Rng rng(0x7e0e);
    auto p = path(ep("198.51.100.201", 0, ttl_tunnel), ep("198.51.100.202", 0, ttl_tunnel), doc_mac(0x56), doc_mac(0x57), false,
                  0x1e00, 0x2e00);
    Timeline tl(cap, on_path(p, ipip(p)), at(33));
    dns(tl, rng, "192.0.2.73", 53073, 0x7e0e, "www.example.com", www4);
}

void add_6in4(Capture& cap)
{
    Rng rng(0x7e0f);
    auto p = path(ep("198.51.100.203", 0, ttl_tunnel), ep("198.51.100.204", 0, ttl_tunnel), doc_mac(0x58), doc_mac(0x59), false,
                  0x1f00, 0x2f00);
    Timeline tl(cap, on_path(p, ipip(p)), at(35));
    TcpSession s(ep("2001:db8:1::74", 52074, ttl_local), ep(www6, 80, ttl_remote), rng);
    http_session(tl, s, "www.example.com", "/", 27 * ms);
}

void add_4in6(Capture& cap)
{
    Rng rng(0x7e10);
    auto p = path(ep("2001:db8:4::1", 0, ttl_tunnel), ep("2001:db8:4::2", 0, ttl_tunnel), doc_mac(0x5a), doc_mac(0x5b), false, 0, 0);
    Timeline tl(cap, on_path(p, ipip(p)), at(37));
    dns(tl, rng, "192.0.2.75", 53075, 0x7e10, "www.example.com", www4);
}

void add_6in6(Capture& cap)
{
    Rng rng(0x7e11);
    auto p = path(ep("2001:db8:66::1", 0, ttl_tunnel), ep("2001:db8:66::2", 0, ttl_tunnel), doc_mac(0x5c), doc_mac(0x5d), false, 0, 0);
    Timeline tl(cap, on_path(p, ipip(p)), at(39));
    dns(tl, rng, "2001:db8:1::76", 53076, 0x7e11, "www.example.com", www6);
}

// Three deep: ERSPAN type II (session 9) mirroring a port whose frames (VLAN 40) carry VXLAN (VNI 6001), whose
// frames carry GTP-U; inside, a subscriber's DNS.
void add_nested3(Capture& cap)
{
    Rng rng(0x7e12);
    auto mirror = path(ep("192.0.2.103", 0, ttl_tunnel), ep("192.0.2.200", 0, ttl_tunnel), doc_mac(0x4e), doc_mac(0x4f), true, 0x3100, 0);
    auto vteps = path(ep("198.51.100.111", 49732, ttl_tunnel), ep("198.51.100.112", 55020, ttl_tunnel), doc_mac(0x5e), doc_mac(0x5f),
                      false, 0x3200, 0x4200);
    auto gtpu = path(ep("10.200.0.1", 2152, ttl_tunnel), ep("10.200.0.254", 2152, ttl_tunnel), doc_mac(0x21), doc_mac(0x22), false,
                     0x3300, 0x4300);
    const Framer port40 = eth_framer(doc_mac(0x5e), doc_mac(0x5f), {VlanTag{ethertype::vlan, 40, 0}});
    const Wrap w = nest(erspan(mirror, 2, 9, port40), nest(vxlan(vteps, 6001, eth_framer(doc_mac(0x21), doc_mac(0x22))),
                                                           gtp(gtpu, 0x0000aaaa, 0x0000bbbb)));
    Timeline tl(cap, on_path(mirror, w), at(41));
    dns(tl, rng, "100.64.1.10", 40011, 0x7e12, "www.example.net", web_net);
}

// Four deep, one more than sealscope follows: GRE carrying IP in IP carrying VXLAN (VNI 6002) carrying GTP-U;
// a subscriber's DNS inside.
void add_nested4(Capture& cap)
{
    Rng rng(0x7e13);
    auto routers = path(ep("203.0.113.207", 0, ttl_tunnel), ep("203.0.113.208", 0, ttl_tunnel), doc_mac(0x60), doc_mac(0x63), false,
                        0x3400, 0x4400);
    auto ipip_ends = path(ep("198.51.100.121", 0, ttl_tunnel), ep("198.51.100.122", 0, ttl_tunnel), doc_mac(0x60), doc_mac(0x63), false,
                          0x3500, 0x4500);
    auto vteps = path(ep("198.51.100.123", 49733, ttl_tunnel), ep("198.51.100.124", 55021, ttl_tunnel), doc_mac(0x60), doc_mac(0x63),
                      false, 0x3600, 0x4600);
    auto gtpu = path(ep("10.200.0.1", 2152, ttl_tunnel), ep("10.200.0.254", 2152, ttl_tunnel), doc_mac(0x21), doc_mac(0x22), false,
                     0x3700, 0x4700);
    const Wrap w = nest(gre_ip(routers, std::nullopt),
                        nest(ipip(ipip_ends), nest(vxlan(vteps, 6002, eth_framer(doc_mac(0x21), doc_mac(0x22))),
                                                   gtp(gtpu, 0x0000cccc, 0x0000dddd))));
    Timeline tl(cap, on_path(routers, w), at(43));
    dns(tl, rng, "100.64.1.11", 40012, 0x7e13, "www.example.net", web_net);
}

// GRE carrying a two-label MPLS stack (labels 16004 and 24005) over IPv4: DNS.
void add_gre_mpls(Capture& cap)
{
    Rng rng(0x7e14);
    auto p = path(ep("203.0.113.209", 0, ttl_tunnel), ep("203.0.113.210", 0, ttl_tunnel), doc_mac(0x4f), doc_mac(0x50), false,
                  0x3800, 0x4800);
    Timeline tl(cap, on_path(p, gre_mpls(p, {16004, 24005})), at(45));
    dns(tl, rng, "192.0.2.76", 53077, 0x7e14, "www.example.com", www4);
}

// PPTP: a client's PPP session in enhanced GRE to its server (call IDs 0x4a21 up, 0x0c80 down; the server
// compresses the PPP protocol field): a TLS session from the client's PPP address.
void add_pptp(Capture& cap)
{
    Rng rng(0x7e15);
    auto p = path(ep("198.51.100.131", 0, ttl_tunnel), ep("198.51.100.132", 0, ttl_tunnel), doc_mac(0x51), doc_mac(0x52), false,
                  0x3900, 0x4900);
    Timeline tl(cap, on_path(p, pptp(p, 0x4a21, 0x0c80, true)), at(47));
    tls(tl, rng, "192.168.60.10", 51077, www4, "www.example.com");
}

const Section sections[] = {
    {false, add_vxlan},        {false, add_geneve},   {false, add_gre_key},    {false, add_gre_v6},
    {false, add_gre_eth},      {false, add_erspan1},  {false, add_erspan2},    {false, add_erspan3},
    {true, add_tzsp_eth},      {false, add_tzsp_wlan}, {true, add_capwap_plain}, {false, add_capwap_qos},
    {false, add_capwap_8023},  {true, add_4in4},      {true, add_6in4},        {true, add_4in6},
    {true, add_6in6},          {false, add_nested3},  {false, add_nested4},   {false, add_gre_mpls},
    {false, add_pptp},
};

Capture build(const char* file, bool ndpi_only)
{
    Capture cap{file};
    for (const Section& s : sections) {
        if (!ndpi_only || s.ndpi)
            s.add(cap);
    }
    sort_by_time(cap);
    return cap;
}

} // namespace

Capture make_tunnels() { return build("tunnels.pcap", false); }

Capture make_tunnels_ndpi() { return build("tunnels-ndpi.pcap", true); }

} // namespace sealscope::mkcaptures
