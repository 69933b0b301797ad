#include "packet.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace sealscope::mkcaptures {

IpAddr IpAddr::parse(std::string_view text)
{
    IpAddr a;
    const std::string s(text);
    a.v6 = s.find(':') != std::string::npos;
    if (inet_pton(a.v6 ? AF_INET6 : AF_INET, s.c_str(), a.b.data()) != 1) {
        std::fprintf(stderr, "mkcaptures: bad address constant '%s'\n", s.c_str());
        std::abort();
    }
    return a;
}

static std::uint32_t sum_words(const std::uint8_t* data, std::size_t len, std::uint32_t sum)
{
    for (std::size_t i = 0; i + 1 < len; i += 2)
        sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    if (len % 2 != 0)
        sum += static_cast<std::uint32_t>(data[len - 1] << 8);
    return sum;
}

std::uint16_t inet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum)
{
    sum = sum_words(data, len, sum);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

std::uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, std::uint32_t l4_len)
{
    const std::size_t n = src.v6 ? 16 : 4;
    std::uint32_t sum = sum_words(src.b.data(), n, 0);
    sum = sum_words(dst.b.data(), n, sum);
    sum += proto;
    sum += l4_len >> 16;
    sum += l4_len & 0xffff;
    return sum;
}

Bytes ipv4_packet(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& payload, const Ipv4Opts& opts)
{
    Bytes p;
    p.reserve(20 + payload.size());
    std::uint16_t frag = static_cast<std::uint16_t>(opts.frag_offset_bytes / 8);
    if (opts.df)
        frag |= 0x4000;
    if (opts.mf)
        frag |= 0x2000;
    Writer(p)
        .u8(0x45)
        .u8(opts.tos)
        .u16(static_cast<std::uint16_t>(20 + payload.size()))
        .u16(opts.id)
        .u16(frag)
        .u8(opts.ttl)
        .u8(proto)
        .u16(0)
        .bytes(src.raw())
        .bytes(dst.raw());
    put16_at(p, 10, inet_checksum(p.data(), 20));
    Writer(p).bytes(payload);
    return p;
}

static Bytes ext_header_bytes(const Ipv6Ext& e, std::uint8_t next)
{
    Bytes h{next, 0};
    h.insert(h.end(), e.options.begin(), e.options.end());
    const std::size_t pad = (8 - h.size() % 8) % 8;
    if (pad == 1) {
        h.push_back(0); // Pad1
    } else if (pad > 1) {
        h.push_back(1); // PadN
        h.push_back(static_cast<std::uint8_t>(pad - 2));
        h.insert(h.end(), pad - 2, 0);
    }
    h[1] = static_cast<std::uint8_t>(h.size() / 8 - 1);
    return h;
}

Bytes ipv6_packet(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& payload, std::uint8_t hop_limit,
                  std::uint32_t flow_label, const std::vector<Ipv6Ext>& exts)
{
    Bytes chain;
    for (std::size_t i = 0; i < exts.size(); ++i) {
        const std::uint8_t next = i + 1 < exts.size() ? exts[i + 1].type : proto;
        const Bytes h = ext_header_bytes(exts[i], next);
        chain.insert(chain.end(), h.begin(), h.end());
    }
    Bytes p;
    p.reserve(40 + chain.size() + payload.size());
    Writer(p)
        .u32(0x60000000U | (flow_label & 0xfffff))
        .u16(static_cast<std::uint16_t>(chain.size() + payload.size()))
        .u8(exts.empty() ? proto : exts.front().type)
        .u8(hop_limit)
        .bytes(src.raw())
        .bytes(dst.raw())
        .bytes(chain)
        .bytes(payload);
    return p;
}

Bytes udp_datagram(const IpAddr& src, const IpAddr& dst, std::uint16_t sport, std::uint16_t dport, const Bytes& payload)
{
    Bytes d;
    const auto len = static_cast<std::uint16_t>(8 + payload.size());
    Writer(d).u16(sport).u16(dport).u16(len).u16(0).bytes(payload);
    std::uint16_t c = inet_checksum(d.data(), d.size(), pseudo_header_sum(src, dst, ipproto::udp, len));
    if (c == 0)
        c = 0xffff; // RFC 768: a computed zero is sent as all ones
    put16_at(d, 6, c);
    return d;
}

Bytes tcp_segment(const IpAddr& src, const IpAddr& dst, const TcpFields& f, const Bytes& payload)
{
    Bytes s;
    const auto hlen = static_cast<std::uint8_t>(20 + f.options.size());
    Writer(s)
        .u16(f.sport)
        .u16(f.dport)
        .u32(f.seq)
        .u32(f.ack)
        .u8(static_cast<std::uint8_t>((hlen / 4) << 4))
        .u8(f.flags)
        .u16(f.window)
        .u16(0)
        .u16(0)
        .bytes(f.options)
        .bytes(payload);
    put16_at(s, 16, inet_checksum(s.data(), s.size(), pseudo_header_sum(src, dst, ipproto::tcp, static_cast<std::uint32_t>(s.size()))));
    return s;
}

Bytes icmp_echo(const IpAddr& src, const IpAddr& dst, bool reply, std::uint16_t ident, std::uint16_t seq, const Bytes& data)
{
    Bytes m;
    std::uint8_t type = 0;
    if (src.v6)
        type = reply ? 129 : 128;
    else
        type = reply ? 0 : 8;
    Writer(m).u8(type).u8(0).u16(0).u16(ident).u16(seq).bytes(data);
    const std::uint32_t init = src.v6 ? pseudo_header_sum(src, dst, ipproto::icmpv6, static_cast<std::uint32_t>(m.size())) : 0;
    put16_at(m, 2, inet_checksum(m.data(), m.size(), init));
    return m;
}

Bytes icmp_error(const IpAddr& src, const IpAddr& dst, std::uint8_t type, std::uint8_t code, std::uint32_t rest,
                 const Bytes& quote)
{
    Bytes m;
    Writer(m).u8(type).u8(code).u16(0).u32(rest).bytes(quote);
    const std::uint32_t init = src.v6 ? pseudo_header_sum(src, dst, ipproto::icmpv6, static_cast<std::uint32_t>(m.size())) : 0;
    put16_at(m, 2, inet_checksum(m.data(), m.size(), init));
    return m;
}

Bytes error_quote(const Bytes& ip)
{
    const std::size_t n = (ip.at(0) >> 4) == 6 ? std::min<std::size_t>(ip.size(), 1280 - 40 - 8)
                                               : std::min<std::size_t>(ip.size(), (ip.at(0) & 0x0Fu) * 4u + 8u);
    return Bytes(ip.begin(), ip.begin() + static_cast<std::ptrdiff_t>(n));
}

Bytes ip_packet(const IpAddr& src, const IpAddr& dst, std::uint8_t proto, const Bytes& l4, std::uint8_t ttl, std::uint16_t ip_id,
                bool df, const std::vector<Ipv6Ext>& exts)
{
    if (src.v6)
        return ipv6_packet(src, dst, proto, l4, ttl, 0, exts);
    Ipv4Opts o;
    o.id = ip_id;
    o.ttl = ttl;
    o.df = df;
    return ipv4_packet(src, dst, proto, l4, o);
}

std::uint16_t ethertype_of(const Bytes& ip)
{
    return !ip.empty() && (ip[0] >> 4) == 6 ? ethertype::ipv6 : ethertype::ipv4;
}

Bytes ethernet_frame(const MacAddr& dst, const MacAddr& src, std::uint16_t type, const Bytes& payload, const std::vector<VlanTag>& tags)
{
    Bytes f;
    f.reserve(14 + 4 * tags.size() + payload.size());
    Writer w(f);
    w.bytes(dst).bytes(src);
    for (const VlanTag& t : tags)
        w.u16(t.tpid).u16(static_cast<std::uint16_t>(t.pcp << 13 | (t.vid & 0x0fff)));
    w.u16(type).bytes(payload);
    return f;
}

// ---------------------------------------------------------------------------------------------

TcpSession::TcpSession(Endpoint client, Endpoint server, Rng& rng)
    : client_(std::move(client)), server_(std::move(server))
{
    seq_[0] = static_cast<std::uint32_t>(rng.next());
    seq_[1] = static_cast<std::uint32_t>(rng.next());
    ip_id_[0] = rng.range(1, 60000);
    ip_id_[1] = rng.range(1, 60000);
    window_[0] = 502; // 64256 with window scale 7
    window_[1] = 509;
}

Bytes TcpSession::make(Dir dir, std::uint8_t flags, const Bytes& payload, const Bytes& options)
{
    const int me = dir == Dir::up ? 0 : 1;
    const int peer = 1 - me;
    const Endpoint& src = dir == Dir::up ? client_ : server_;
    const Endpoint& dst = dir == Dir::up ? server_ : client_;
    TcpFields f;
    f.sport = src.port;
    f.dport = dst.port;
    f.seq = seq_[me];
    f.ack = (flags & tcpflag::ack) ? seq_[peer] : 0;
    f.flags = flags;
    f.window = (flags & tcpflag::syn) ? (me == 0 ? 64240 : 65160) : window_[me];
    if (flags & tcpflag::rst)
        f.window = 0;
    f.options = options;
    seq_[me] += static_cast<std::uint32_t>(payload.size());
    if (flags & (tcpflag::syn | tcpflag::fin))
        seq_[me] += 1;
    const Bytes l4 = tcp_segment(src.ip, dst.ip, f, payload);
    const auto id = static_cast<std::uint16_t>(ip_id_[me]++);
    return ip_packet(src.ip, dst.ip, ipproto::tcp, l4, src.ttl, id, true, exts_);
}

static Bytes syn_options()
{
    // MSS 1460, NOP, window scale 7, NOP, NOP, SACK permitted
    return {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07, 0x01, 0x01, 0x04, 0x02};
}

Bytes TcpSession::syn() { return make(Dir::up, tcpflag::syn, {}, syn_options()); }
Bytes TcpSession::syn_ack() { return make(Dir::down, tcpflag::syn | tcpflag::ack, {}, syn_options()); }
Bytes TcpSession::ack(Dir dir) { return make(dir, tcpflag::ack, {}); }
Bytes TcpSession::fin(Dir dir) { return make(dir, tcpflag::fin | tcpflag::ack, {}); }
Bytes TcpSession::rst(Dir dir) { return make(dir, tcpflag::rst | tcpflag::ack, {}); }

std::vector<Bytes> TcpSession::send(Dir dir, const Bytes& payload)
{
    std::vector<Bytes> out;
    for (std::size_t off = 0; off < payload.size(); off += mss_) {
        const std::size_t n = std::min(mss_, payload.size() - off);
        const bool last = off + n == payload.size();
        const Bytes chunk(payload.begin() + static_cast<std::ptrdiff_t>(off), payload.begin() + static_cast<std::ptrdiff_t>(off + n));
        out.push_back(make(dir, static_cast<std::uint8_t>(tcpflag::ack | (last ? tcpflag::psh : 0)), chunk));
    }
    return out;
}

UdpFlow::UdpFlow(Endpoint client, Endpoint server, Rng& rng)
    : client_(std::move(client)), server_(std::move(server))
{
    ip_id_[0] = rng.range(1, 60000);
    ip_id_[1] = rng.range(1, 60000);
}

Bytes UdpFlow::send(Dir dir, const Bytes& payload)
{
    const int me = dir == Dir::up ? 0 : 1;
    const Endpoint& src = dir == Dir::up ? client_ : server_;
    const Endpoint& dst = dir == Dir::up ? server_ : client_;
    const Bytes l4 = udp_datagram(src.ip, dst.ip, src.port, dst.port, payload);
    // UDP packets are generated with DF clear (the fragments capture depends on it).
    return ip_packet(src.ip, dst.ip, ipproto::udp, l4, src.ttl, static_cast<std::uint16_t>(ip_id_[me]++), false);
}

} // namespace sealscope::mkcaptures
