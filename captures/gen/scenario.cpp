#include "scenario.hpp"

#include <algorithm>
#include <utility>

namespace sealscope::mkcaptures {

Framer eth_framer(MacAddr host, MacAddr gateway, std::vector<VlanTag> tags)
{
    return [host, gateway, tags = std::move(tags)](Dir dir, const Bytes& ip) {
        return dir == Dir::up ? ethernet_frame(gateway, host, ethertype_of(ip), ip, tags)
                              : ethernet_frame(host, gateway, ethertype_of(ip), ip, tags);
    };
}

Framer gtp_framer(std::shared_ptr<GtpTunnel> tunnel)
{
    return [t = std::move(tunnel)](Dir dir, const Bytes& inner) {
        const bool up = dir == Dir::up;
        const Endpoint& src = up ? t->cell : t->core;
        const Endpoint& dst = up ? t->core : t->cell;
        const Bytes gtp = gtpu_gpdu(up ? t->teid_up : t->teid_down, inner, t->next_container);
        t->next_container.reset();
        const Bytes udp = udp_datagram(src.ip, dst.ip, src.port, dst.port, gtp);
        const Bytes ip = ip_packet(src.ip, dst.ip, ipproto::udp, udp, src.ttl, t->ip_id[up ? 0 : 1]++, false);
        return up ? ethernet_frame(t->core_mac, t->cell_mac, ethertype::ipv4, ip)
                  : ethernet_frame(t->cell_mac, t->core_mac, ethertype::ipv4, ip);
    };
}

void Timeline::emit(Dir dir, const Bytes& ip) { cap_.frames.push_back(Frame{now_, framer_(dir, ip), 0}); }

void Timeline::emit(Dir dir, const std::vector<Bytes>& ips, std::uint64_t gap_us)
{
    for (std::size_t i = 0; i < ips.size(); ++i) {
        if (i > 0)
            wait(gap_us);
        emit(dir, ips[i]);
    }
}

void tls_session(Timeline& tl, TcpSession& s, Rng& rng, const TlsScript& script)
{
    const std::uint64_t rtt = script.rtt_us;
    tl.emit(Dir::up, s.syn());
    tl.wait(rtt).emit(Dir::down, s.syn_ack());
    tl.wait(110).emit(Dir::up, s.ack(Dir::up));

    ClientHelloParams ch;
    ch.sni = script.sni;
    ch.random = rng.array<32>();
    ch.session_id = rng.array<32>();
    ch.key_share = rng.array<32>();
    tl.wait(240).emit(Dir::up, s.send(Dir::up, tls_client_hello(ch)));

    // ServerHello, compatibility CCS, then EncryptedExtensions, Certificate, CertificateVerify, Finished (encrypted).
    // Drawn one statement each: the order of a call's arguments is unspecified (gcc draws the last one
    // first, clang the first), and the committed captures hold gcc's order.
    const auto server_key_share = rng.array<32>();
    const auto server_random = rng.array<32>();
    Bytes flight = tls_server_hello(server_random, ch.session_id, server_key_share);
    const Bytes ccs = tls_change_cipher_spec();
    Writer(flight).bytes(ccs).bytes(tls_app_data_flight(rng, {32, 2420 + rng.range(0, 400), 281, 69}));
    tl.wait(rtt).emit(Dir::down, s.send(Dir::down, flight));
    tl.wait(90).emit(Dir::up, s.ack(Dir::up));

    // Client CCS + Finished, then the first request (HTTP/2 preface, SETTINGS, HEADERS — all encrypted).
    Bytes fin_flight = ccs;
    Writer(fin_flight).bytes(tls_app_data(rng, 53)).bytes(tls_app_data(rng, 140 + rng.range(0, 60)));
    tl.wait(1800).emit(Dir::up, s.send(Dir::up, fin_flight));
    // Two NewSessionTickets, then the response.
    tl.wait(rtt).emit(Dir::down, s.send(Dir::down, tls_app_data_flight(rng, {234, 234, 900 + rng.range(0, 2500)})));
    tl.wait(80).emit(Dir::up, s.ack(Dir::up));

    for (int r = 1; r < script.rounds; ++r) {
        tl.wait(script.think_us + rng.range(0, 50 * ms));
        tl.emit(Dir::up, s.send(Dir::up, tls_app_data(rng, 60 + rng.range(0, 160))));
        tl.wait(rtt).emit(Dir::down, s.send(Dir::down, tls_app_data(rng, 300 + rng.range(0, 3600))));
        tl.wait(80).emit(Dir::up, s.ack(Dir::up));
    }

    tl.wait(script.think_us);
    if (script.end == TcpEnd::rst) {
        tl.emit(Dir::up, s.rst(Dir::up));
        return;
    }
    tl.emit(Dir::up, s.send(Dir::up, tls_app_data(rng, 19))); // close_notify alert (encrypted)
    tl.wait(60).emit(Dir::up, s.fin(Dir::up));
    tl.wait(rtt).emit(Dir::down, s.fin(Dir::down));
    tl.wait(70).emit(Dir::up, s.ack(Dir::up));
}

void http_session(Timeline& tl, TcpSession& s, const std::string& host, const std::string& path, std::uint64_t rtt_us)
{
    tl.emit(Dir::up, s.syn());
    tl.wait(rtt_us).emit(Dir::down, s.syn_ack());
    tl.wait(100).emit(Dir::up, s.ack(Dir::up));
    tl.wait(150).emit(Dir::up, s.send(Dir::up, http_get(host, path)));
    tl.wait(rtt_us).emit(Dir::down, s.ack(Dir::down));
    tl.wait(900).emit(Dir::down, s.send(Dir::down, http_ok_html("Example Domain")));
    tl.wait(60).emit(Dir::up, s.ack(Dir::up));
    tl.wait(2 * ms).emit(Dir::up, s.fin(Dir::up));
    tl.wait(rtt_us).emit(Dir::down, s.fin(Dir::down));
    tl.wait(60).emit(Dir::up, s.ack(Dir::up));
}

void dns_exchange(Timeline& tl, UdpFlow& f, std::uint16_t id, const std::string& name, std::uint16_t qtype,
                  const std::vector<IpAddr>& answers, std::uint64_t rtt_us)
{
    tl.emit(Dir::up, f.send(Dir::up, dns_query(id, name, qtype)));
    tl.wait(rtt_us).emit(Dir::down, f.send(Dir::down, dns_response(id, name, qtype, answers, 3600)));
}

void ping(Timeline& tl, const Endpoint& from, const Endpoint& to, std::uint16_t ident, int count, std::uint64_t interval_us,
          std::uint64_t rtt_us)
{
    std::uint16_t id_up = static_cast<std::uint16_t>(0x4000 + ident), id_down = static_cast<std::uint16_t>(0x2000 + ident);
    for (int i = 1; i <= count; ++i) {
        if (i > 1)
            tl.wait(interval_us - rtt_us);
        // Linux ping: 16-byte timeval (little-endian) then 0x10, 0x11, ... 0x37.
        Bytes data;
        const std::uint64_t t = tl.now();
        for (int k = 0; k < 8; ++k)
            data.push_back(static_cast<std::uint8_t>((t / sec) >> (8 * k)));
        for (int k = 0; k < 8; ++k)
            data.push_back(static_cast<std::uint8_t>((t % sec) >> (8 * k)));
        for (std::uint8_t b = 0x10; b <= 0x37; ++b)
            data.push_back(b);
        const auto seq = static_cast<std::uint16_t>(i);
        const std::uint8_t proto = from.ip.v6 ? ipproto::icmpv6 : ipproto::icmp;
        tl.emit(Dir::up, ip_packet(from.ip, to.ip, proto, icmp_echo(from.ip, to.ip, false, ident, seq, data), from.ttl, id_up++));
        tl.wait(rtt_us);
        tl.emit(Dir::down, ip_packet(to.ip, from.ip, proto, icmp_echo(to.ip, from.ip, true, ident, seq, data), to.ttl, id_down++, false));
    }
}

void stun_transactions(Timeline& tl, UdpFlow& f, Rng& rng, int count, std::uint64_t interval_us, std::uint64_t rtt_us,
                       std::uint16_t vendor_attr)
{
    static constexpr const char* client_software = "sealscope-mkcaptures client 1.0";
    static constexpr const char* server_software = "sealscope-mkcaptures server 1.0";
    for (int i = 0; i < count; ++i) {
        if (i > 0)
            tl.wait(interval_us - rtt_us);
        const StunTxId txid = rng.array<12>();
        tl.emit(Dir::up, f.send(Dir::up, stun_binding_request(txid, client_software, vendor_attr)));
        tl.wait(rtt_us).emit(Dir::down, f.send(Dir::down, stun_binding_success(txid, f.client(), server_software)));
    }
}

void rtp_call(Timeline& tl, UdpFlow& f, Rng& rng, int count)
{
    const std::uint64_t start = tl.now();
    const std::uint32_t ssrc_up = static_cast<std::uint32_t>(rng.next()), ssrc_down = static_cast<std::uint32_t>(rng.next());
    auto seq_up = static_cast<std::uint16_t>(rng.range(0, 30000)), seq_down = static_cast<std::uint16_t>(rng.range(0, 30000));
    std::uint32_t ts_up = static_cast<std::uint32_t>(rng.next()), ts_down = static_cast<std::uint32_t>(rng.next());
    for (int i = 0; i < count; ++i) {
        const std::uint64_t slot = start + static_cast<std::uint64_t>(i) * 20 * ms;
        tl.set(slot);
        tl.emit(Dir::up, f.send(Dir::up, rtp_packet(111, i == 0, seq_up++, ts_up, ssrc_up, rng.bytes(rng.range(60, 120)))));
        ts_up += 960;
        // The far end's packets arrive 7 ms into each slot with up to 2 ms of jitter.
        tl.set(slot + 7 * ms + rng.range(0, 2000));
        tl.emit(Dir::down, f.send(Dir::down, rtp_packet(111, i == 0, seq_down++, ts_down, ssrc_down, rng.bytes(rng.range(60, 120)))));
        ts_down += 960;
    }
}

void sort_by_time(Capture& cap)
{
    std::stable_sort(cap.frames.begin(), cap.frames.end(), [](const Frame& a, const Frame& b) { return a.ts_us < b.ts_us; });
}

} // namespace sealscope::mkcaptures
