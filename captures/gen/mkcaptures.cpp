// sealscope-mkcaptures: writes the project's own deterministic test captures.
//
// Usage: sealscope-mkcaptures OUTDIR [NAME]
// Every byte is a function of the constants below: fixed seeds, fixed times from 2024-03-01T12:00:00Z,
// addresses from the documentation ranges (RFC 5737, RFC 3849), MACs from 00-00-5E-00-53-xx (RFC 7042).
// Facts the golden tests rely on are written down in captures/README.md; change both together.

#include "canary.hpp"
#include "capture_file.hpp"
#include "packet.hpp"
#include "protocols.hpp"
#include "scenario.hpp"
#include "tunnels.hpp"

#include <fmt/format.h>
#include <gcrypt.h>
#include <pcap/pcap.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sealscope::mkcaptures {
namespace {

// ---- the cast ---------------------------------------------------------------------------------

IpAddr ip(const char* text) { return IpAddr::parse(text); }

Endpoint ep(const char* addr, std::uint16_t port, std::uint8_t ttl) { return Endpoint{ip(addr), port, ttl}; }

const char* const client4 = "192.0.2.10";      // the capturing host
const char* const client6 = "2001:db8:1::10";
const char* const resolver4 = "198.51.100.53"; // recursive resolver
const char* const resolver6 = "2001:db8:53::53";
const char* const www4 = "203.0.113.10";       // www.example.com
const char* const www6 = "2001:db8:113::10";
const char* const chat4 = "203.0.113.20";      // chat.example.org
const char* const stun4 = "198.51.100.20";     // STUN server / media peer
const char* const aws4 = "52.95.110.1";        // an Amazon AWS address in nDPI 4.2's lists (stun-cache.pcap)
const char* const teams4 = "203.0.113.40";     // teams.microsoft.com (teams-cache.pcap)
const char* const skype4 = "157.60.0.1";       // an address nDPI 4.2's lists give to Skype_Teams (teams-cache.pcap)

constexpr MacAddr host_mac = doc_mac(0x10);
constexpr MacAddr gw_mac = doc_mac(0x01);

constexpr std::uint8_t ttl_local = 64, ttl_resolver = 61, ttl_remote = 52;

// ---- shared exchanges -------------------------------------------------------------------------

/// DNS A www.example.com + TLS to it, as used for every link-type variant (identical IP packets).
void small_exchange(Capture& cap, const Framer& framer)
{
    Rng rng(0x11a4);
    Timeline tl(cap, framer, t0_us);
    UdpFlow dns(ep(client4, 53010, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, dns, 0x1d10, "www.example.com", dnstype::a, {ip(www4)}, 14 * ms);
    tl.wait(3 * ms);
    TcpSession s(ep(client4, 51010, ttl_local), ep(www4, 443, ttl_remote), rng);
    TlsScript script;
    script.sni = "www.example.com";
    script.rounds = 1;
    script.think_us = 150 * ms;
    tls_session(tl, s, rng, script);
}

// ---- 1. tls-sni.pcap ---------------------------------------------------------------------------

Capture make_tls_sni()
{
    Capture cap{"tls-sni.pcap"};
    Rng rng(0x7150);
    const Framer eth = eth_framer(host_mac, gw_mac);

    Timeline a(cap, eth, t0_us);
    TcpSession s1(ep(client4, 51000, ttl_local), ep(www4, 443, ttl_remote), rng);
    TlsScript www;
    www.sni = "www.example.com";
    www.rounds = 3;
    tls_session(a, s1, rng, www);

    Timeline b(cap, eth, t0_us + 3 * sec);
    TcpSession s2(ep(client4, 51002, ttl_local), ep(chat4, 443, ttl_remote), rng);
    TlsScript chat;
    chat.sni = "chat.example.org";
    chat.rounds = 2;
    chat.end = TcpEnd::rst;
    chat.rtt_us = 42 * ms;
    tls_session(b, s2, rng, chat);

    sort_by_time(cap);
    return cap;
}

// ---- 2. dns.pcap -------------------------------------------------------------------------------

Capture make_dns()
{
    Capture cap{"dns.pcap"};
    Rng rng(0xd45);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    UdpFlow a(ep(client4, 53001, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, a, 0x5a01, "www.example.com", dnstype::a, {ip(www4)}, 12 * ms);
    tl.wait(200 * ms);
    UdpFlow aaaa(ep(client4, 53002, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, aaaa, 0x5a02, "www.example.com", dnstype::aaaa, {ip(www6)}, 13 * ms);
    tl.wait(500 * ms);
    UdpFlow v6(ep(client6, 53003, ttl_local), ep(resolver6, 53, ttl_resolver), rng);
    dns_exchange(tl, v6, 0x5a03, "www.example.com", dnstype::aaaa, {ip(www6)}, 11 * ms);
    return cap;
}

// ---- 3. stun.pcap ------------------------------------------------------------------------------

Capture make_stun()
{
    Capture cap{"stun.pcap"};
    Rng rng(0x5703);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    UdpFlow f(ep(client4, 50012, ttl_local), ep(stun4, 3478, ttl_remote), rng);
    stun_transactions(tl, f, rng, 3, 500 * ms, 24 * ms);
    tl.wait(100 * ms);
    rtp_call(tl, f, rng, 10);
    sort_by_time(cap);
    return cap;
}

// ---- 3b. stun-cache.pcap ------------------------------------------------------------------------

/// nDPI 4.2's STUN cache across subscribers. One subscriber's STUN goes to a server nDPI's address lists
/// name (Amazon AWS); 16 other subscribers' STUN goes to a plain server, each from an address and port whose
/// 32-bit sum is the first subscriber's (100.64.2.1 + 50000 = 100.64.2.(1+i) + (50000 - i)), which is the
/// key stun.c caches the first verdict under. One nDPI module (ndpiReader, or sealscope with one worker)
/// labels all 17 flows STUN.AmazonAWS, the last 16 from the cache. Spread over several workers, each with a
/// module of its own, that holds only because sealscope keeps every module's STUN cache as one module would
/// hold it (src/classify/stun_sync.hpp).
Capture make_stun_cache()
{
    Capture cap{"stun-cache.pcap"};
    Rng rng(0x57c4);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    UdpFlow listed(ep("100.64.2.1", 50000, ttl_local), ep(aws4, 3478, ttl_remote), rng);
    // Four transactions: stun.c decides on its third STUN packet; fewer would leave it to the give-up.
    stun_transactions(tl, listed, rng, 4, 200 * ms, 24 * ms);
    for (int i = 1; i <= 16; ++i) {
        tl.wait(50 * ms);
        const std::string addr = "100.64.2." + std::to_string(1 + i);
        UdpFlow f(ep(addr.c_str(), static_cast<std::uint16_t>(50000 - i), ttl_local), ep(stun4, 3478, ttl_remote), rng);
        stun_transactions(tl, f, rng, 4, 200 * ms, 24 * ms);
    }
    return cap;
}

// ---- 3c. teams-cache.pcap -----------------------------------------------------------------------

/// nDPI 4.2's Teams cache across subscribers (ndpi_reconcile_protocols; src/classify/teams_sync.hpp). A TLS
/// flow to teams.microsoft.com writes its subscriber's address into one of 1 024 slots (address % 1 024);
/// a Skype call (STUN whose requests carry attribute 0x8006) from an address found there, under 60 s old,
/// is labelled Teams. Four subscribers X (100.64.10.1, .11.1, .12.1, .13.1) use Teams, then four others
/// Z, each 1 024 addresses above its X (100.64.14.1 ...), so each Z's write replaces its X's entry; then
/// each X, and a fifth subscriber Y (100.64.31.2, a slot of its own) who also used Teams, makes a call. One
/// nDPI module (ndpiReader, or sealscope with one worker) labels the four X calls STUN.SkypeCall and Y's
/// STUN.Teams. With several workers an X and its Z may be in different shards: that holds only because
/// sealscope keeps every module's Teams cache as one module would hold it.
Capture make_teams_cache()
{
    Capture cap{"teams-cache.pcap"};
    Rng rng(0x7ea5);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    TlsScript teams;
    teams.sni = "teams.microsoft.com";
    teams.rounds = 1;
    teams.rtt_us = 20 * ms;
    teams.think_us = 100 * ms;
    auto use_teams = [&](const std::string& addr, std::uint16_t port) {
        TcpSession s(ep(addr.c_str(), port, ttl_local), ep(teams4, 443, ttl_remote), rng);
        tls_session(tl, s, rng, teams);
        tl.wait(100 * ms);
    };
    const std::string y = "100.64.31.2";
    for (int j = 0; j < 4; ++j)
        use_teams("100.64." + std::to_string(10 + j) + ".1", static_cast<std::uint16_t>(51000 + j));
    use_teams(y, 51100);
    for (int j = 0; j < 4; ++j)
        use_teams("100.64." + std::to_string(14 + j) + ".1", static_cast<std::uint16_t>(51010 + j));
    auto call = [&](const std::string& addr, std::uint16_t port) {
        UdpFlow f(ep(addr.c_str(), port, ttl_local), ep(stun4, 3478, ttl_remote), rng);
        stun_transactions(tl, f, rng, 4, 200 * ms, 24 * ms, 0x8006);
        tl.wait(100 * ms);
    };
    for (int j = 0; j < 4; ++j)
        call("100.64." + std::to_string(10 + j) + ".1", static_cast<std::uint16_t>(52000 + j));
    call(y, 52100);
    // Then each of them exchanges 6 datagrams nDPI cannot name with an address its lists give to Skype_Teams,
    // the subscriber's last: nDPI reads the cache when it gives up on the flow (at its end), keyed by the
    // source of the last packet it saw.
    auto media = [&](const std::string& addr, std::uint16_t port) {
        UdpFlow f(ep(addr.c_str(), port, ttl_local), ep(skype4, 50000, ttl_remote), rng);
        for (int k = 0; k < 6; ++k) {
            Bytes down = rng.bytes(60), up = rng.bytes(60);
            down[0] = up[0] = 0x17; // no RTP or other header nDPI knows at the start
            tl.emit(Dir::down, f.send(Dir::down, down));
            tl.wait(10 * ms).emit(Dir::up, f.send(Dir::up, up));
            tl.wait(50 * ms);
        }
    };
    for (int j = 0; j < 4; ++j)
        media("100.64." + std::to_string(10 + j) + ".1", static_cast<std::uint16_t>(53000 + j));
    media(y, 53100);
    // 200 s later one more subscriber's datagram: the flows above end idle at it, in the worker that has
    // it, and at the end of input in the others.
    tl.wait(200 * sec);
    UdpFlow late(ep("100.64.99.9", 53999, ttl_local), ep(skype4, 50000, ttl_remote), rng);
    Bytes last = rng.bytes(60);
    last[0] = 0x17;
    tl.emit(Dir::up, late.send(Dir::up, last));
    return cap;
}

// ---- 4. gtpu.pcap ------------------------------------------------------------------------------

Capture make_gtpu()
{
    Capture cap{"gtpu.pcap"};
    Rng rng(0x6790);
    auto tunnel = std::make_shared<GtpTunnel>();
    tunnel->cell = ep("10.200.0.1", 2152, 64);
    tunnel->core = ep("10.200.0.254", 2152, 64);
    tunnel->teid_up = 0x1234abcd;
    tunnel->teid_down = 0x00005678;
    tunnel->cell_mac = doc_mac(0x21);
    tunnel->core_mac = doc_mac(0x22);
    tunnel->ip_id[0] = 0x0100;
    tunnel->ip_id[1] = 0x0200;
    const Framer gtp = gtp_framer(tunnel);

    const char* const ue = "100.64.1.10";
    const char* const web = "203.0.113.30"; // www.example.net
    Timeline tl(cap, gtp, t0_us);
    UdpFlow dns(ep(ue, 40001, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, dns, 0x6701, "www.example.net", dnstype::a, {ip(web)}, 38 * ms);
    tl.wait(2 * ms);
    tunnel->next_container = PduSessionContainer{true, 9}; // the AAAA query carries the 5G container
    dns_exchange(tl, dns, 0x6702, "www.example.net", dnstype::aaaa, {ip("2001:db8:113::30")}, 39 * ms);
    tl.wait(5 * ms);
    TcpSession s(ep(ue, 40100, ttl_local), ep(web, 443, ttl_remote), rng);
    TlsScript script;
    script.sni = "www.example.net";
    script.rounds = 2;
    script.rtt_us = 55 * ms;
    tls_session(tl, s, rng, script);
    return cap;
}

// ---- 5. vlan.pcap ------------------------------------------------------------------------------

Capture make_vlan()
{
    Capture cap{"vlan.pcap"};
    Rng rng(0x7a11);
    const Framer v100 = eth_framer(doc_mac(0x30), gw_mac, {VlanTag{ethertype::vlan, 100, 0}});
    const Framer qinq = eth_framer(doc_mac(0x40), gw_mac, {VlanTag{ethertype::qinq, 200, 0}, VlanTag{ethertype::vlan, 300, 0}});

    Timeline tl(cap, v100, t0_us);
    UdpFlow dns(ep("192.0.2.30", 53100, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, dns, 0x7101, "www.example.com", dnstype::a, {ip(www4)}, 10 * ms);
    tl.wait(2 * ms);
    TcpSession http(ep("192.0.2.30", 52000, ttl_local), ep(www4, 80, ttl_remote), rng);
    http_session(tl, http, "www.example.com", "/", 28 * ms);

    Timeline tq(cap, qinq, t0_us + 1 * sec);
    UdpFlow dns2(ep("192.0.2.40", 53200, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tq, dns2, 0x7201, "www.example.com", dnstype::a, {ip(www4)}, 10 * ms);
    tq.wait(2 * ms);
    TcpSession tls(ep("192.0.2.40", 52100, ttl_local), ep(www4, 443, ttl_remote), rng);
    TlsScript script;
    script.sni = "www.example.com";
    script.rounds = 1;
    tls_session(tq, tls, rng, script);
    sort_by_time(cap);
    return cap;
}

// ---- 6. ipv6.pcap ------------------------------------------------------------------------------

Capture make_ipv6()
{
    Capture cap{"ipv6.pcap"};
    Rng rng(0x1b6);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    TcpSession s(ep(client6, 52200, ttl_local), ep(www6, 80, ttl_remote), rng);
    // Hop-by-Hop (PadN) followed by Destination Options (PadN), then TCP.
    const std::vector<Ipv6Ext> chain{Ipv6Ext{ipproto::hopopts, {}}, Ipv6Ext{ipproto::dstopts, {}}};
    const std::uint64_t rtt = 31 * ms;

    s.set_ipv6_exts(chain);
    tl.emit(Dir::up, s.syn()); // #1: with extension headers
    s.set_ipv6_exts({});
    tl.wait(rtt).emit(Dir::down, s.syn_ack());
    tl.wait(100).emit(Dir::up, s.ack(Dir::up));
    s.set_ipv6_exts(chain);
    tl.wait(150).emit(Dir::up, s.send(Dir::up, http_get("www.example.com", "/"))); // #4: with extension headers
    s.set_ipv6_exts({});
    tl.wait(rtt).emit(Dir::down, s.ack(Dir::down));
    tl.wait(900).emit(Dir::down, s.send(Dir::down, http_ok_html("Example Domain")));
    tl.wait(60).emit(Dir::up, s.ack(Dir::up));
    s.set_ipv6_exts(chain);
    tl.wait(2 * ms).emit(Dir::up, s.fin(Dir::up)); // #8: with extension headers
    s.set_ipv6_exts({});
    tl.wait(rtt).emit(Dir::down, s.fin(Dir::down));
    tl.wait(60).emit(Dir::up, s.ack(Dir::up));

    tl.wait(500 * ms);
    ping(tl, ep(client6, 0, ttl_local), ep(www6, 0, ttl_remote), 0x0b6e, 2, 1 * sec, 30 * ms);
    return cap;
}

// ---- 7. fragments.pcap -------------------------------------------------------------------------

/// The synthetic protocol on UDP 5004: ASCII magic, sequence number, then a byte pattern.
Bytes synthetic_payload(std::uint32_t seq, std::size_t len)
{
    Bytes p;
    Writer(p).text("SEALSCOPE-FRAG-TEST\n").u32(seq);
    for (std::size_t i = p.size(); i < len; ++i)
        p.push_back(static_cast<std::uint8_t>('a' + i % 26));
    return p;
}

/// IPv4 fragments (1480-byte pieces) of one UDP datagram; order lists which pieces to emit, in emission order.
std::vector<Bytes> fragment_udp(const Endpoint& src, const Endpoint& dst, const Bytes& payload, std::uint16_t id)
{
    const Bytes udp = udp_datagram(src.ip, dst.ip, src.port, dst.port, payload);
    std::vector<Bytes> frags;
    for (std::size_t off = 0; off < udp.size(); off += 1480) {
        const std::size_t n = std::min<std::size_t>(1480, udp.size() - off);
        Ipv4Opts o;
        o.id = id;
        o.ttl = src.ttl;
        o.df = false;
        o.mf = off + n < udp.size();
        o.frag_offset_bytes = static_cast<std::uint16_t>(off);
        const Bytes piece(udp.begin() + static_cast<std::ptrdiff_t>(off), udp.begin() + static_cast<std::ptrdiff_t>(off + n));
        frags.push_back(ipv4_packet(src.ip, dst.ip, ipproto::udp, piece, o));
    }
    return frags;
}

Capture make_fragments()
{
    Capture cap{"fragments.pcap"};
    Rng rng(0xf4a6);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    const Endpoint src = ep(client4, 40000, ttl_local);
    const Endpoint dst = ep("198.51.100.40", 5004, ttl_remote);
    UdpFlow replies(src, dst, rng);

    const std::vector<Bytes> first = fragment_udp(src, dst, synthetic_payload(1, 3000), 0x3a01);
    tl.emit(Dir::up, first, 30); // in order: offsets 0, 1480, 2960
    tl.wait(20 * ms).emit(Dir::down, replies.send(Dir::down, synthetic_payload(1, 32)));

    tl.wait(500 * ms);
    const std::vector<Bytes> second = fragment_udp(src, dst, synthetic_payload(2, 3000), 0x3a02);
    tl.emit(Dir::up, second[2]); // last fragment first
    tl.wait(30).emit(Dir::up, second[0]);
    tl.wait(30).emit(Dir::up, second[1]);
    tl.wait(20 * ms).emit(Dir::down, replies.send(Dir::down, synthetic_payload(2, 32)));

    tl.wait(500 * ms);
    ping(tl, ep(client4, 0, ttl_local), ep("198.51.100.40", 0, ttl_remote), 0x0f4a, 2, 1 * sec, 20 * ms);
    return cap;
}

// ---- 8. link-type variants ---------------------------------------------------------------------

/// Linux cooked v1 header (16 bytes): packet type, ARPHRD_ETHER, address length, address, protocol.
Framer sll_framer()
{
    return [](Dir dir, const Bytes& ipb) {
        Bytes f;
        Writer w(f);
        w.u16(dir == Dir::up ? 4 : 0).u16(1).u16(6).bytes(dir == Dir::up ? host_mac : gw_mac).u16(0).u16(ethertype_of(ipb)).bytes(ipb);
        return f;
    };
}

/// Linux cooked v2 header (20 bytes): protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address.
Framer sll2_framer()
{
    return [](Dir dir, const Bytes& ipb) {
        Bytes f;
        Writer w(f);
        w.u16(ethertype_of(ipb)).u16(0).u32(2).u16(1).u8(dir == Dir::up ? 4 : 0).u8(6);
        w.bytes(dir == Dir::up ? host_mac : gw_mac).u16(0).bytes(ipb);
        return f;
    };
}

/// BSD loopback: 4-byte address family, host byte order (DLT_NULL) or network byte order (DLT_LOOP).
Framer af_framer(bool network_order)
{
    return [network_order](Dir, const Bytes& ipb) {
        Bytes f(4);
        const std::uint32_t af = 2; // AF_INET
        if (network_order) {
            put16_at(f, 2, static_cast<std::uint16_t>(af));
        } else {
            // libpcap writes the file header in host order, so the AF value is in the file's byte order.
            std::memcpy(f.data(), &af, 4);
        }
        f.insert(f.end(), ipb.begin(), ipb.end());
        return f;
    };
}

Framer raw_framer()
{
    return [](Dir, const Bytes& ipb) { return ipb; };
}

Capture make_link(const char* file, int dlt, const Framer& framer, bool pcapng = false)
{
    Capture cap{file, dlt, pcapng};
    small_exchange(cap, framer);
    return cap;
}

// ---- 9. malformed.pcap -------------------------------------------------------------------------

Capture make_malformed()
{
    Capture cap{"malformed.pcap"};
    Rng rng(0xbad);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    const IpAddr c = ip(client4), r = ip(resolver4), w = ip(www4);
    auto raw_eth = [&](std::uint64_t wait_us, std::uint16_t type, const Bytes& payload) {
        tl.wait(wait_us);
        cap.frames.push_back(Frame{tl.now(), ethernet_frame(gw_mac, host_mac, type, payload), 0});
    };
    const Bytes good_udp = udp_datagram(c, r, 53030, 53, dns_query(0xbad0, "www.example.com", dnstype::a));
    std::uint16_t id = 0x0b00;
    auto v4 = [&](std::uint8_t proto, const Bytes& l4) {
        Ipv4Opts o;
        o.id = id++;
        o.df = false;
        return ipv4_packet(c, r, proto, l4, o);
    };

    // Good: a DNS exchange and an HTTP session.
    UdpFlow dns(ep(client4, 53020, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    dns_exchange(tl, dns, 0xbad1, "www.example.com", dnstype::a, {ip(www4)}, 12 * ms);

    // D1 ipv4_ihl_lt_20 (x1): IHL = 4 (16 bytes); checksum over those 16 bytes.
    {
        Bytes p = v4(ipproto::udp, good_udp);
        p[0] = 0x44;
        put16_at(p, 10, 0);
        put16_at(p, 10, inet_checksum(p.data(), 16));
        raw_eth(50 * ms, ethertype::ipv4, p);
    }
    // D2 ipv4_total_length_gt_captured (x2): total length claims 200 more bytes than the frame has.
    for (int i = 0; i < 2; ++i) {
        Bytes p = v4(ipproto::udp, good_udp);
        put16_at(p, 2, static_cast<std::uint16_t>(p.size() + 200));
        put16_at(p, 10, 0);
        put16_at(p, 10, inet_checksum(p.data(), 20));
        raw_eth(50 * ms, ethertype::ipv4, p);
    }
    // D3 tcp_header_truncated (x3): 12 bytes of a TCP header (needs 20); IP total length matches the frame.
    for (int i = 0; i < 3; ++i) {
        TcpFields f;
        f.sport = static_cast<std::uint16_t>(52500 + i);
        f.dport = 80;
        f.seq = 0x1000;
        f.flags = tcpflag::syn;
        f.window = 64240;
        Bytes seg = tcp_segment(c, w, f, {});
        seg.resize(12);
        Ipv4Opts o;
        o.id = id++;
        raw_eth(50 * ms, ethertype::ipv4, ipv4_packet(c, w, ipproto::tcp, seg, o));
    }
    // D4 udp_header_truncated (x2): 4 bytes of a UDP header (needs 8).
    for (int i = 0; i < 2; ++i) {
        Bytes d = good_udp;
        d.resize(4);
        raw_eth(50 * ms, ethertype::ipv4, v4(ipproto::udp, d));
    }
    // D5 unknown_ethertype (x1): IEEE 802 local experimental ethertype 0x88b5, 46 bytes.
    {
        Bytes payload;
        Writer(payload).text("sealscope-mkcaptures local experimental frame");
        payload.resize(46, 0);
        raw_eth(50 * ms, 0x88b5, payload);
    }
    // D6 frame_shorter_than_ethernet (x2): caplen 10 and 12 (= length), less than the 14-byte header.
    for (std::size_t n : {std::size_t{10}, std::size_t{12}}) {
        tl.wait(50 * ms);
        Bytes f = ethernet_frame(gw_mac, host_mac, ethertype::ipv4, {});
        f.resize(n);
        cap.frames.push_back(Frame{tl.now(), f, 0});
    }
    // D7 ipv6_payload_length_past_packet (x1): payload length claims 100 more bytes than present.
    {
        const IpAddr c6 = ip(client6), r6 = ip(resolver6);
        Bytes p = ipv6_packet(c6, r6, ipproto::udp, udp_datagram(c6, r6, 53040, 53, dns_query(0xbad7, "www.example.com", dnstype::aaaa)), 64);
        put16_at(p, 4, static_cast<std::uint16_t>(p.size() - 40 + 100));
        raw_eth(50 * ms, ethertype::ipv6, p);
    }
    // D8 gtpu_header_truncated (x2): UDP to 2152 carrying 5 bytes of a GTP-U header (needs 8).
    for (int i = 0; i < 2; ++i) {
        const IpAddr cell = ip("10.200.0.1"), core = ip("10.200.0.254");
        const Bytes gtp{0x30, 0xff, 0x00, 0x3c, 0x12};
        Ipv4Opts o;
        o.id = id++;
        o.df = false;
        raw_eth(50 * ms, ethertype::ipv4, ipv4_packet(cell, core, ipproto::udp, udp_datagram(cell, core, 2152, 2152, gtp), o));
    }

    // Good again: an HTTP session after the bad packets.
    tl.wait(200 * ms);
    TcpSession s(ep(client4, 52400, ttl_local), ep(www4, 80, ttl_remote), rng);
    http_session(tl, s, "www.example.com", "/", 25 * ms);
    return cap;
}

// ---- 10. truncated.pcap ------------------------------------------------------------------------

Capture make_truncated()
{
    Capture cap{"truncated.pcap"};
    Rng rng(0x7c47);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    TcpSession s(ep(client4, 52600, ttl_local), ep(www4, 80, ttl_remote), rng);
    const std::uint64_t rtt = 25 * ms;
    tl.emit(Dir::up, s.syn());                                                              // 1
    tl.wait(rtt).emit(Dir::down, s.syn_ack());                                              // 2
    tl.wait(100).emit(Dir::up, s.ack(Dir::up));                                             // 3
    tl.wait(150).emit(Dir::up, s.send(Dir::up, http_get("www.example.com", "/")));          // 4
    tl.wait(rtt).emit(Dir::down, s.send(Dir::down, http_ok_html("Example Domain")));        // 5
    tl.wait(60).emit(Dir::up, s.ack(Dir::up));                                              // 6
    tl.wait(300 * ms).emit(Dir::up, s.send(Dir::up, http_get("www.example.com", "/about"))); // 7
    tl.wait(rtt).emit(Dir::down, s.send(Dir::down, http_ok_html("About")));                 // 8 (cut)
    tl.wait(60).emit(Dir::up, s.ack(Dir::up));                                              // 9
    tl.wait(2 * ms).emit(Dir::up, s.fin(Dir::up));                                          // 10
    // Cut in the middle of record 8's data: after its 16-byte header and half of its bytes.
    cap.cut_at = pcap_record_offset(cap, 7) + 16 + cap.frames[7].data.size() / 2;
    return cap;
}

// ---- 11. mixed.pcap ----------------------------------------------------------------------------

Capture make_mixed()
{
    Capture cap{"mixed.pcap"};
    Rng rng(0x313ed);
    const Framer eth = eth_framer(host_mac, gw_mac);
    const Endpoint res = ep(resolver4, 53, ttl_resolver);

    // DNS: one flow per query (new source port each time), as a stub resolver does.
    struct Query {
        std::uint64_t at;
        std::uint16_t port;
        const char* name;
        std::uint16_t type;
        const char* answer;
    };
    const Query queries[] = {
        {0, 53101, "www.example.com", dnstype::a, www4},
        {3 * ms, 53102, "www.example.com", dnstype::aaaa, www6},
        {30 * sec, 53103, "chat.example.org", dnstype::a, chat4},
        {40 * sec, 53104, "stun.example.net", dnstype::a, stun4},
        {69 * sec + 900 * ms, 53105, "www.example.com", dnstype::a, www4},
    };
    std::uint16_t qid = 0x3100;
    for (const Query& q : queries) {
        Timeline tl(cap, eth, t0_us + q.at);
        UdpFlow f(ep(client4, q.port, ttl_local), res, rng);
        dns_exchange(tl, f, qid++, q.name, q.type, {ip(q.answer)}, 9 * ms + rng.range(0, 6000));
    }

    // TLS 1: www.example.com, 0.1 s .. about 60 s.
    {
        Timeline tl(cap, eth, t0_us + 100 * ms);
        TcpSession s(ep(client4, 51100, ttl_local), ep(www4, 443, ttl_remote), rng);
        TlsScript script;
        script.sni = "www.example.com";
        script.rounds = 12;
        script.think_us = 5 * sec;
        tls_session(tl, s, rng, script);
    }
    // TLS 2: chat.example.org, 30.1 s .. about 115 s (a long-lived chat connection).
    {
        Timeline tl(cap, eth, t0_us + 30 * sec + 100 * ms);
        TcpSession s(ep(client4, 51102, ttl_local), ep(chat4, 443, ttl_remote), rng);
        TlsScript script;
        script.sni = "chat.example.org";
        script.rounds = 17;
        script.think_us = 5 * sec;
        script.rtt_us = 42 * ms;
        tls_session(tl, s, rng, script);
    }
    // The call: STUN then RTP both ways, 20 ms packets for 20 s (1000 per direction), then a consent check.
    {
        Timeline tl(cap, eth, t0_us + 40 * sec + 50 * ms);
        UdpFlow f(ep(client4, 50020, ttl_local), ep(stun4, 3478, ttl_remote), rng);
        stun_transactions(tl, f, rng, 2, 50 * ms, 24 * ms);
        tl.wait(30 * ms);
        rtp_call(tl, f, rng, 1000);
        tl.wait(13 * ms);
        stun_transactions(tl, f, rng, 1, 0, 24 * ms);
    }
    // HTTP/1.1 GET www.example.com at 70 s.
    {
        Timeline tl(cap, eth, t0_us + 70 * sec);
        TcpSession s(ep(client4, 52300, ttl_local), ep(www4, 80, ttl_remote), rng);
        http_session(tl, s, "www.example.com", "/", 28 * ms);
    }
    // Pings to www.example.com at 80 s and to the resolver at 100 s.
    {
        Timeline tl(cap, eth, t0_us + 80 * sec);
        ping(tl, ep(client4, 0, ttl_local), ep(www4, 0, ttl_remote), 0x3131, 5, 1 * sec, 27 * ms);
        tl.set(t0_us + 100 * sec);
        ping(tl, ep(client4, 0, ttl_local), ep(resolver4, 0, ttl_resolver), 0x3132, 3, 1 * sec, 8 * ms);
    }
    sort_by_time(cap);
    return cap;
}

// ---- 12. icmp-errors.pcap ----------------------------------------------------------------------

/// The IP packet an ICMP error from `from` to `to` travels in (DF clear, as routers send them).
Bytes error_packet(const char* from, const char* to, std::uint8_t type, std::uint8_t code, std::uint32_t rest,
                   const Bytes& quoted, std::uint8_t ttl, std::uint16_t ip_id)
{
    const std::uint8_t proto = ip(from).v6 ? ipproto::icmpv6 : ipproto::icmp;
    return ip_packet(ip(from), ip(to), proto, icmp_error(ip(from), ip(to), type, code, rest, error_quote(quoted)), ttl,
                     ip_id, false);
}

Capture make_icmp_errors()
{
    Capture cap{"icmp-errors.pcap"};
    Rng rng(0x1c3e);
    Timeline tl(cap, eth_framer(host_mac, gw_mac), t0_us);
    const char* const hop1 = "192.0.2.1";      // the host's gateway
    const char* const hop2 = "198.51.100.1";
    const char* const hop3 = "203.0.113.1";
    const char* const fw6 = "2001:db8:1::1";   // the IPv6 gateway, a firewall

    // 1. STUN to a host with nothing on 3478: two requests, a port unreachable from that host for each.
    UdpFlow closed(ep(client4, 50100, ttl_local), ep(stun4, 3478, ttl_remote), rng);
    for (int i = 0; i < 2; ++i) {
        const Bytes req = closed.send(Dir::up, stun_binding_request(rng.array<12>(), "sealscope-mkcaptures client 1.0"));
        tl.emit(Dir::up, req);
        tl.wait(24 * ms).emit(Dir::down, error_packet(stun4, client4, 3, 3, 0, req, ttl_remote,
                                                      static_cast<std::uint16_t>(0x3100 + i)));
        tl.wait(476 * ms);
    }
    // The same host's port unreachable about a datagram this capture never saw (no flow to tie it to), and
    // one whose quote stops after the IP header (no ports to find the flow by).
    UdpFlow unseen(ep(client4, 50999, ttl_local), ep(stun4, 9, ttl_remote), rng);
    tl.emit(Dir::down, error_packet(stun4, client4, 3, 3, 0, unseen.send(Dir::up, Bytes(16, 0x5a)), ttl_remote, 0x3102));
    tl.wait(10 * ms);
    {
        Bytes req = closed.send(Dir::up, stun_binding_request(rng.array<12>(), "sealscope-mkcaptures client 1.0"));
        const Bytes header(req.begin(), req.begin() + 20);
        const std::uint8_t proto = ipproto::icmp;
        Bytes m = icmp_error(ip(stun4), ip(client4), 3, 3, 0, header);
        tl.emit(Dir::down, ip_packet(ip(stun4), ip(client4), proto, m, ttl_remote, 0x3103, false));
    }

    // 2. A traceroute (UDP probes from one source port, destination port 33434 up, one probe per TTL): time
    // exceeded from the three routers on the way, port unreachable from the destination. The routers'
    // messages come from hosts the probes are not between.
    tl.wait(500 * ms);
    const char* const hops[] = {hop1, hop2, hop3, www4};
    for (int ttl = 1; ttl <= 4; ++ttl) {
        Bytes data;
        for (std::uint8_t b = 0x40; b < 0x60; ++b) data.push_back(b);  // Linux traceroute's 32 bytes
        UdpFlow probe(ep(client4, 44100, static_cast<std::uint8_t>(ttl)),
                      ep(www4, static_cast<std::uint16_t>(33433 + ttl), ttl_remote), rng);
        const Bytes sent = probe.send(Dir::up, data);
        tl.emit(Dir::up, sent);
        const bool last = ttl == 4;
        tl.wait(static_cast<std::uint64_t>(8 * ttl) * ms)
            .emit(Dir::down, error_packet(hops[ttl - 1], client4, last ? 3 : 11, last ? 3 : 0, 0, sent,
                                          static_cast<std::uint8_t>(last ? ttl_remote : 65 - ttl),
                                          static_cast<std::uint16_t>(0x3200 + ttl)));
        tl.wait(50 * ms);
    }

    // 3. IPv6: a TCP SYN and its retry refused by the firewall (administratively prohibited), and a datagram
    // too big for the next link (packet too big, MTU 1280, quoting what fits).
    tl.wait(500 * ms);
    TcpSession refused(ep(client6, 52300, ttl_local), ep(www6, 8080, ttl_remote), rng);
    const Bytes syn = refused.syn();  // the retry is the same segment
    for (int i = 0; i < 2; ++i) {
        tl.emit(Dir::up, syn);
        tl.wait(1 * ms).emit(Dir::down, error_packet(fw6, client6, 1, 1, 0, syn, 64, 0));
        tl.wait(999 * ms);
    }
    UdpFlow big(ep(client6, 50200, ttl_local), ep(www6, 4433, ttl_remote), rng);
    const Bytes sent = big.send(Dir::up, rng.bytes(1400));
    tl.emit(Dir::up, sent);
    tl.wait(1 * ms).emit(Dir::down, error_packet(fw6, client6, 2, 0, 1280, sent, 64, 0));

    // 4. A DNS answer that arrives after the client gave up: the client's port unreachable quotes the answer
    // (a packet that went down, reported by its own destination).
    tl.wait(200 * ms);
    UdpFlow dns(ep(client4, 53020, ttl_local), ep(resolver4, 53, ttl_resolver), rng);
    tl.emit(Dir::up, dns.send(Dir::up, dns_query(0x6c01, "www.example.com", dnstype::a)));
    tl.wait(2 * sec);
    const Bytes late = dns.send(Dir::down, dns_response(0x6c01, "www.example.com", dnstype::a, {ip(www4)}, 3600));
    tl.emit(Dir::down, late);
    tl.wait(100).emit(Dir::up, error_packet(client4, resolver4, 3, 3, 0, late, ttl_local, 0x3300));
    return cap;
}

// ---- registry and main -------------------------------------------------------------------------

struct Entry {
    const char* file;
    std::function<Capture()> make;
};

std::vector<Entry> registry()
{
    return {
        {"tls-sni.pcap", make_tls_sni},
        {"dns.pcap", make_dns},
        {"stun.pcap", make_stun},
        {"stun-cache.pcap", make_stun_cache},
        {"teams-cache.pcap", make_teams_cache},
        {"gtpu.pcap", make_gtpu},
        {"vlan.pcap", make_vlan},
        {"ipv6.pcap", make_ipv6},
        {"fragments.pcap", make_fragments},
        {"link-sll.pcap", [] { return make_link("link-sll.pcap", DLT_LINUX_SLL, sll_framer()); }},
        {"link-sll2.pcap", [] { return make_link("link-sll2.pcap", DLT_LINUX_SLL2, sll2_framer()); }},
        {"link-raw.pcap", [] { return make_link("link-raw.pcap", DLT_RAW, raw_framer()); }},
        {"link-null.pcap", [] { return make_link("link-null.pcap", DLT_NULL, af_framer(false)); }},
        {"link-loop.pcap", [] { return make_link("link-loop.pcap", DLT_LOOP, af_framer(true)); }},
        {"link-ipv4.pcap", [] { return make_link("link-ipv4.pcap", DLT_IPV4, raw_framer()); }},
        {"link-eth.pcapng", [] { return make_link("link-eth.pcapng", 1, eth_framer(host_mac, gw_mac), true); }},
        {"malformed.pcap", make_malformed},
        {"truncated.pcap", make_truncated},
        {"mixed.pcap", make_mixed},
        {"icmp-errors.pcap", make_icmp_errors},
        {"canary.pcap", make_canary},
        {"canary-clean.pcap", make_canary_clean},
        {"tunnels.pcap", make_tunnels},
        {"tunnels-ndpi.pcap", make_tunnels_ndpi},
    };
}

bool matches(const std::string& file, const std::string& want)
{
    if (want.empty() || file == want)
        return true;
    const auto dot = file.rfind('.');
    return file.substr(0, dot) == want;
}

int run(int argc, char** argv)
{
    if (argc < 2 || argc > 3 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
        fmt::print(stderr, "usage: sealscope-mkcaptures OUTDIR [NAME]\n  writes the project's test captures (all, or the one named)\n  names:");
        for (const Entry& e : registry())
            fmt::print(stderr, " {}", e.file);
        fmt::print(stderr, "\n");
        return argc < 2 ? 2 : (argc == 2 ? 0 : 2);
    }
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) {  // CRC-32 for STUN fingerprints (protocols.cpp)
        fmt::print(stderr, "sealscope-mkcaptures: libgcrypt older than the one it was built with\n");
        return 1;
    }
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    const std::filesystem::path outdir = argv[1];
    const std::string want = argc == 3 ? argv[2] : "";
    std::error_code ec;
    std::filesystem::create_directories(outdir, ec);
    if (ec) {
        fmt::print(stderr, "sealscope-mkcaptures: {}: {}\n", outdir.string(), ec.message());
        return 1;
    }
    int written = 0;
    for (const Entry& e : registry()) {
        if (!matches(e.file, want))
            continue;
        const Capture cap = e.make();
        const std::string path = (outdir / cap.file).string();
        std::string error;
        if (!(cap.pcapng ? write_pcapng(cap, path, error) : write_pcap(cap, path, error))) {
            fmt::print(stderr, "sealscope-mkcaptures: {}\n", error);
            return 1;
        }
        for (const auto& [name, content] : cap.side_files) {
            std::ofstream out(outdir / name, std::ios::binary | std::ios::trunc);
            out.write(content.data(), static_cast<std::streamsize>(content.size()));
            out.close();
            if (!out) {
                fmt::print(stderr, "sealscope-mkcaptures: {}: cannot write\n", (outdir / name).string());
                return 1;
            }
        }
        fmt::print("{}: {} packets", cap.file, cap.frames.size());
        if (cap.cut_at != 0)
            fmt::print(" (file cut at byte {}, inside record 8 which starts at byte {})", cap.cut_at, pcap_record_offset(cap, 7));
        for (const auto& side : cap.side_files)
            fmt::print(", with {}", side.first);
        fmt::print("\n");
        ++written;
    }
    if (written == 0) {
        fmt::print(stderr, "sealscope-mkcaptures: no capture named '{}'\n", want);
        return 2;
    }
    return 0;
}

} // namespace
} // namespace sealscope::mkcaptures

int main(int argc, char** argv) { return sealscope::mkcaptures::run(argc, argv); }
