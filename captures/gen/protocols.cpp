#include "protocols.hpp"

#include <fmt/format.h>
#include <gcrypt.h>

#include <algorithm>

namespace sealscope::mkcaptures {

namespace {

/// Appends a TLS extension (type, 16-bit length, body).
void tls_ext(Bytes& out, std::uint16_t type, const Bytes& body)
{
    Writer(out).u16(type).u16(static_cast<std::uint16_t>(body.size())).bytes(body);
}

/// Wraps a handshake message body in its handshake header and a TLS record.
Bytes tls_handshake_record(std::uint8_t msg_type, std::uint16_t record_version, const Bytes& body)
{
    Bytes r;
    Writer(r).u8(22).u16(record_version).u16(static_cast<std::uint16_t>(4 + body.size())).u8(msg_type);
    Writer(r).u24(static_cast<std::uint32_t>(body.size())).bytes(body);
    return r;
}

} // namespace

Bytes tls_client_hello(const ClientHelloParams& p)
{
    Bytes exts;
    {
        Bytes sni;
        Writer(sni).u16(static_cast<std::uint16_t>(p.sni.size() + 3)).u8(0).u16(static_cast<std::uint16_t>(p.sni.size())).text(p.sni);
        tls_ext(exts, 0x0000, sni);
    }
    tls_ext(exts, 0x0017, {});     // extended_master_secret
    tls_ext(exts, 0xff01, {0x00}); // renegotiation_info
    tls_ext(exts, 0x000a, {0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18}); // x25519, secp256r1, secp384r1
    tls_ext(exts, 0x000b, {0x01, 0x00});                                      // ec_point_formats: uncompressed
    tls_ext(exts, 0x0023, {});                                                // session_ticket
    {
        Bytes list;
        for (const std::string& proto : p.alpn)
            Writer(list).u8(static_cast<std::uint8_t>(proto.size())).text(proto);
        Bytes alpn;
        Writer(alpn).u16(static_cast<std::uint16_t>(list.size())).bytes(list);
        tls_ext(exts, 0x0010, alpn);
    }
    tls_ext(exts, 0x0005, {0x01, 0x00, 0x00, 0x00, 0x00}); // status_request (OCSP)
    tls_ext(exts, 0x000d, {0x00, 0x10, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01});
    {
        Bytes ks;
        Writer(ks).u16(36).u16(0x001d).u16(32).bytes(p.key_share);
        tls_ext(exts, 0x0033, ks);
    }
    tls_ext(exts, 0x002d, {0x01, 0x01});                         // psk_key_exchange_modes: psk_dhe_ke
    tls_ext(exts, 0x002b, {0x04, 0x03, 0x04, 0x03, 0x03});       // supported_versions: TLS 1.3, TLS 1.2

    static constexpr std::uint16_t suites[] = {0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c,
                                               0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    Bytes body;
    Writer w(body);
    w.u16(0x0303).bytes(p.random).u8(32).bytes(p.session_id);
    w.u16(static_cast<std::uint16_t>(sizeof suites));
    for (std::uint16_t s : suites)
        w.u16(s);
    w.u8(1).u8(0); // compression: null
    w.u16(static_cast<std::uint16_t>(exts.size())).bytes(exts);
    return tls_handshake_record(1, 0x0301, body);
}

Bytes tls_server_hello(const std::array<std::uint8_t, 32>& random, const std::array<std::uint8_t, 32>& session_id,
                       const std::array<std::uint8_t, 32>& key_share)
{
    Bytes exts;
    tls_ext(exts, 0x002b, {0x03, 0x04}); // supported_versions: TLS 1.3
    {
        Bytes ks;
        Writer(ks).u16(0x001d).u16(32).bytes(key_share);
        tls_ext(exts, 0x0033, ks);
    }
    Bytes body;
    Writer(body).u16(0x0303).bytes(random).u8(32).bytes(session_id).u16(0x1301).u8(0);
    Writer(body).u16(static_cast<std::uint16_t>(exts.size())).bytes(exts);
    return tls_handshake_record(2, 0x0303, body);
}

Bytes tls_change_cipher_spec() { return {20, 0x03, 0x03, 0x00, 0x01, 0x01}; }

Bytes tls_app_data(Rng& rng, std::size_t len)
{
    Bytes r;
    Writer(r).u8(23).u16(0x0303).u16(static_cast<std::uint16_t>(len)).bytes(rng.bytes(len));
    return r;
}

Bytes tls_app_data_flight(Rng& rng, std::initializer_list<std::size_t> lens)
{
    Bytes out;
    for (std::size_t n : lens)
        Writer(out).bytes(tls_app_data(rng, n));
    return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

void dns_name(Writer& w, std::string_view name)
{
    while (!name.empty()) {
        const std::size_t dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        w.u8(static_cast<std::uint8_t>(label.size())).text(label);
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    w.u8(0);
}

void dns_opt_record(Writer& w)
{
    w.u8(0).u16(41).u16(1232).u32(0).u16(0); // root name, OPT, UDP payload size 1232, no flags, no options
}

} // namespace

Bytes dns_query(std::uint16_t id, std::string_view name, std::uint16_t qtype)
{
    Bytes m;
    Writer w(m);
    w.u16(id).u16(0x0100).u16(1).u16(0).u16(0).u16(1); // RD; QD=1, AR=1 (OPT)
    dns_name(w, name);
    w.u16(qtype).u16(1);
    dns_opt_record(w);
    return m;
}

Bytes dns_response(std::uint16_t id, std::string_view name, std::uint16_t qtype, const std::vector<IpAddr>& answers, std::uint32_t ttl)
{
    Bytes m;
    Writer w(m);
    w.u16(id).u16(0x8180).u16(1).u16(static_cast<std::uint16_t>(answers.size())).u16(0).u16(1); // QR RD RA, NOERROR
    dns_name(w, name);
    w.u16(qtype).u16(1);
    for (const IpAddr& a : answers) {
        const Bytes rdata = a.raw();
        w.u16(0xc00c).u16(qtype).u16(1).u32(ttl).u16(static_cast<std::uint16_t>(rdata.size())).bytes(rdata);
    }
    dns_opt_record(w);
    return m;
}

// ---------------------------------------------------------------------------------------------

namespace {

constexpr std::uint32_t stun_magic = 0x2112a442;

void stun_attr(Bytes& out, std::uint16_t type, const Bytes& value)
{
    Writer(out).u16(type).u16(static_cast<std::uint16_t>(value.size())).bytes(value);
    out.insert(out.end(), (4 - value.size() % 4) % 4, 0);
}

/// CRC-32 (ISO 3309, the STUN FINGERPRINT's) from libgcrypt, which main() has initialised.
std::uint32_t crc32(const std::uint8_t* data, std::size_t len)
{
    std::uint8_t d[4];
    gcry_md_hash_buffer(GCRY_MD_CRC32, d, data, len);
    return std::uint32_t{d[0]} << 24 | std::uint32_t{d[1]} << 16 | std::uint32_t{d[2]} << 8 | d[3];
}

/// Header + attributes, then FINGERPRINT (RFC 5389 §15.5) over everything before it.
Bytes stun_message(std::uint16_t type, const StunTxId& txid, const Bytes& attrs)
{
    Bytes m;
    Writer(m).u16(type).u16(static_cast<std::uint16_t>(attrs.size() + 8)).u32(stun_magic).bytes(txid).bytes(attrs);
    const std::uint32_t fp = crc32(m.data(), m.size()) ^ 0x5354554eU;
    Writer(m).u16(0x8028).u16(4).u32(fp);
    return m;
}

Bytes software_value(std::string_view software) { return Bytes(software.begin(), software.end()); }

} // namespace

Bytes stun_binding_request(const StunTxId& txid, std::string_view software, std::uint16_t vendor_attr)
{
    Bytes attrs;
    if (vendor_attr != 0)
        stun_attr(attrs, vendor_attr, Bytes(4, 0));
    stun_attr(attrs, 0x8022, software_value(software));
    return stun_message(0x0001, txid, attrs);
}

Bytes stun_binding_success(const StunTxId& txid, const Endpoint& mapped, std::string_view software)
{
    Bytes xma;
    Writer w(xma);
    w.u8(0).u8(mapped.ip.v6 ? 0x02 : 0x01).u16(static_cast<std::uint16_t>(mapped.port ^ (stun_magic >> 16)));
    std::array<std::uint8_t, 16> key{0x21, 0x12, 0xa4, 0x42};
    std::copy(txid.begin(), txid.end(), key.begin() + 4);
    const std::size_t n = mapped.ip.v6 ? 16 : 4;
    for (std::size_t i = 0; i < n; ++i)
        w.u8(static_cast<std::uint8_t>(mapped.ip.b[i] ^ key[i]));
    Bytes attrs;
    stun_attr(attrs, 0x0020, xma);
    stun_attr(attrs, 0x8022, software_value(software));
    return stun_message(0x0101, txid, attrs);
}

Bytes rtp_packet(std::uint8_t pt, bool marker, std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, const Bytes& payload)
{
    Bytes p;
    Writer(p).u8(0x80).u8(static_cast<std::uint8_t>((marker ? 0x80 : 0) | (pt & 0x7f))).u16(seq).u32(ts).u32(ssrc).bytes(payload);
    return p;
}

// ---------------------------------------------------------------------------------------------

Bytes http_get(std::string_view host, std::string_view path)
{
    const std::string req = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", path, host);
    return Bytes(req.begin(), req.end());
}

Bytes http_ok_html(std::string_view title)
{
    const std::string body = fmt::format(
        "<!doctype html>\n<html>\n<head>\n<title>{0}</title>\n<meta charset=\"utf-8\">\n</head>\n<body>\n"
        "<h1>{0}</h1>\n<p>This page was generated by sealscope-mkcaptures for test captures. It contains no real data.</p>\n"
        "</body>\n</html>\n",
        title);
    const std::string resp = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\n"
                                         "Date: Fri, 01 Mar 2024 12:00:00 GMT\r\nCache-Control: max-age=604800\r\n"
                                         "Content-Length: {}\r\n\r\n{}",
                                         body.size(), body);
    return Bytes(resp.begin(), resp.end());
}

// ---------------------------------------------------------------------------------------------

Bytes gtpu_gpdu(std::uint32_t teid, const Bytes& inner, const std::optional<PduSessionContainer>& container)
{
    Bytes g;
    Writer w(g);
    if (!container) {
        w.u8(0x30).u8(0xff).u16(static_cast<std::uint16_t>(inner.size())).u32(teid).bytes(inner);
        return g;
    }
    // E flag: sequence number, N-PDU number and next extension header type follow the mandatory header.
    w.u8(0x34).u8(0xff).u16(static_cast<std::uint16_t>(4 + 4 + inner.size())).u32(teid);
    w.u16(0).u8(0).u8(0x85);                                 // next extension: PDU Session Container
    w.u8(1);                                                 // extension length in 4-octet units
    w.u8(container->uplink ? 0x10 : 0x00);                   // PDU type 1 = UL PDU SESSION INFORMATION, 0 = DL
    w.u8(static_cast<std::uint8_t>(container->qfi & 0x3f)); // QFI
    w.u8(0);                                                 // no next extension header
    w.bytes(inner);
    return g;
}

// ---------------------------------------------------------------------------------------------

Bytes vxlan_header(std::uint32_t vni)
{
    Bytes h;
    Writer(h).u8(0x08).u24(0).u24(vni).u8(0);
    return h;
}

Bytes geneve_option(std::uint16_t option_class, std::uint8_t type, const Bytes& data)
{
    const std::size_t words = (data.size() + 3) / 4;
    Bytes o;
    Writer(o).u16(option_class).u8(type).u8(static_cast<std::uint8_t>(words & 0x1f)).bytes(data).zeros(words * 4 - data.size());
    return o;
}

Bytes geneve_header(std::uint32_t vni, std::uint16_t protocol, const Bytes& options)
{
    Bytes h;
    Writer(h).u8(static_cast<std::uint8_t>((options.size() / 4) & 0x3f)).u8(0).u16(protocol).u24(vni).u8(0).bytes(options);
    return h;
}

Bytes gre_packet(const GreFields& f, std::uint16_t protocol, const Bytes& payload)
{
    Bytes g;
    Writer w(g);
    w.u16(static_cast<std::uint16_t>((f.checksum ? 0x8000 : 0) | (f.key ? 0x2000 : 0) | (f.seq ? 0x1000 : 0))).u16(protocol);
    if (f.checksum)
        w.u16(0).u16(0); // checksum (filled in below) and reserved
    if (f.key)
        w.u32(*f.key);
    if (f.seq)
        w.u32(*f.seq);
    w.bytes(payload);
    if (f.checksum)
        put16_at(g, 4, inet_checksum(g.data(), g.size()));
    return g;
}

Bytes erspan2_header(std::uint16_t session, std::uint16_t vlan, std::uint32_t index)
{
    Bytes h;
    Writer(h).u16(static_cast<std::uint16_t>(0x1000 | (vlan & 0x0fff))).u16(session & 0x03ff).u32(index & 0xfffff);
    return h;
}

Bytes erspan3_header(std::uint16_t session, std::uint16_t vlan, std::uint32_t timestamp, bool platform)
{
    Bytes h;
    Writer w(h);
    w.u16(static_cast<std::uint16_t>(0x2000 | (vlan & 0x0fff))).u16(session & 0x03ff).u32(timestamp);
    w.u16(0);                                                           // SGT
    w.u8(0x00);                                                         // P 0, FT 0 (Ethernet), hardware ID high bits 0
    w.u8(static_cast<std::uint8_t>(0x10 | (3 << 1) | (platform ? 1 : 0))); // hardware ID 1, D 0, Gra 3, O
    if (platform)
        w.u32(0x0c000000).u32(0); // platform ID 3 (6 bits), its other fields 0; then the upper timestamp
    return h;
}

Bytes tzsp_header(std::uint8_t type, std::uint16_t encap, const Bytes& tags)
{
    Bytes h;
    Writer(h).u8(1).u8(type).u16(encap).bytes(tags);
    return h;
}

Bytes capwap_header(bool native_80211, std::uint8_t rid, const std::optional<MacAddr>& radio_mac)
{
    const std::uint8_t words = radio_mac ? 4 : 2;
    Bytes h;
    Writer w(h);
    w.u8(0);                                                                // preamble: version 0, type 0
    w.u8(static_cast<std::uint8_t>((words << 3) | ((rid >> 2) & 0x07)));    // HLEN, RID high bits
    w.u8(static_cast<std::uint8_t>(((rid & 0x03) << 6) | (1 << 1) | (native_80211 ? 1 : 0))); // RID, WBID 1, T
    w.u8(radio_mac ? 0x10 : 0x00);                                          // F L W M K flags: M
    w.u16(0).u16(0);                                                        // fragment id, offset
    if (radio_mac)
        w.u8(6).bytes(*radio_mac).u8(0);
    return h;
}

} // namespace sealscope::mkcaptures
