// canary.pcap and canary-clean.pcap: known plaintext for `sealscope audit` and the metadata-only tests.
//
// Every placement is recorded while the packets are built (stream offsets from the bytes written, frame numbers
// from the emission order) and then checked against the frames' bytes, so the table written beside the capture
// (canary-placements.tsv, quoted in captures/README.md) cannot drift from the capture.

#include "canary.hpp"

#include "packet.hpp"
#include "protocols.hpp"
#include "scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <iterator>
#include <utility>
#include <vector>

namespace sealscope::mkcaptures {
namespace {

[[noreturn]] void fail(const std::string& what)
{
    std::fprintf(stderr, "mkcaptures (canary): %s\n", what.c_str());
    std::abort();
}

// ---- the canaries -------------------------------------------------------------------------------

const char* const canaries_file = "canary-canaries.txt";
const char* const placements_file = "canary-placements.tsv";

const char* const file_comments[] = {
    "# Canaries planted in captures/canary.pcap by sealscope-mkcaptures (captures/gen/canary.cpp).",
    "# One canary per line, UTF-8, at least 6 bytes (sealscope(1)); lines starting with # are comments.",
    "# Where each one sits: captures/canary-placements.tsv (and captures/README.md). canary-clean.pcap has none.",
};
constexpr int comment_lines = static_cast<int>(std::size(file_comments));

enum CanaryId { split_id, retx_id, reorder_id, enc_id, post_id, gap_id, absent_id, frag4_id, frag6_id, fragtcp_id,
                canary_count };

const char* const canary_text[canary_count] = {
    "SPLIT-CANARY-a7f3q9",        // (a) split across two TCP segments
    "RETX-CANARY-k2m8w4",         // (b) in a retransmitted segment
    "REORDER-CANARY-z5x1p0",      // (c) across the boundary of two segments that arrive out of order
    "Kettle canary 4/tea&milk",   // (d) one UDP datagram per encoding (space, '/' and '&' for URL encoding)
    "Grüße-Kanarienvogel-№5",     // (e) HTTP POST body, non-ASCII UTF-8
    "GAP-CANARY-after-loss-6",    // (f) after a segment the capture missed
    "NEVER-SENT-CANARY-q0q0",     // in no packet: an audit must not find it
    "FRAG4-CANARY-m3v8t1",        // (g) across the two IPv4 fragments of a UDP datagram
    "FRAG6-CANARY-r7k2c5",        // (h) across the two IPv6 fragments of a UDP datagram, the later one captured first
    "FRAGTCP-CANARY-h4w9",        // (i) across the two IPv4 fragments of one TCP segment
};

int line_of(CanaryId id) { return comment_lines + 1 + static_cast<int>(id); }

/// A string of n bytes that shares nothing with any canary (for canary-clean.pcap).
std::string decoy(std::size_t n)
{
    static constexpr std::string_view pattern = "plain-words-";
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
        s.push_back(pattern[i % pattern.size()]);
    return s;
}

/// Readable filler text of n bytes (no canary, no secret).
std::string filler(std::size_t n)
{
    static constexpr std::string_view pattern = "filler text for the sealscope audit test, nothing secret here. ";
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
        s.push_back(pattern[i % pattern.size()]);
    return s;
}

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// ---- encodings (written for the generator; the audit and the tests have their own) ---------------
// Hand-written on purpose: the audit encodes with libsodium's sodium_bin2hex/sodium_bin2base64 and glibc's
// iconv; the generator must be an independent check on those encoders, so it reuses neither them nor the
// audit's code. A mistake in the audit's encoders then shows as a missed canary instead of being written
// into the capture too.

std::string hex(std::string_view s, bool upper)
{
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

std::string base64(std::string_view s)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= s.size(); i += 3) {
        const std::uint32_t v = static_cast<unsigned char>(s[i]) << 16 | static_cast<unsigned char>(s[i + 1]) << 8 |
                                static_cast<unsigned char>(s[i + 2]);
        for (int k = 3; k >= 0; --k)
            out.push_back(alphabet[(v >> (6 * k)) & 63]);
    }
    const std::size_t rest = s.size() - i;
    if (rest > 0) {
        std::uint32_t v = static_cast<unsigned char>(s[i]) << 16;
        if (rest == 2)
            v |= static_cast<unsigned char>(s[i + 1]) << 8;
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

/// UTF-8 text to UTF-16 code units (the canaries stay in the Basic Multilingual Plane).
std::vector<std::uint16_t> utf16_units(std::string_view s)
{
    std::vector<std::uint16_t> out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        auto cont = [&](std::size_t k) {
            if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80)
                fail("bad UTF-8 in a canary");
            return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3f);
        };
        if (c < 0x80) {
            out.push_back(c);
            i += 1;
        } else if ((c & 0xe0) == 0xc0) {
            out.push_back(static_cast<std::uint16_t>((c & 0x1f) << 6 | cont(1)));
            i += 2;
        } else if ((c & 0xf0) == 0xe0) {
            out.push_back(static_cast<std::uint16_t>((c & 0x0f) << 12 | cont(1) << 6 | cont(2)));
            i += 3;
        } else {
            fail("canaries stay in the Basic Multilingual Plane");
        }
    }
    return out;
}

std::string utf16(std::string_view s, bool big_endian)
{
    std::string out;
    for (std::uint16_t u : utf16_units(s)) {
        const char hi = static_cast<char>(u >> 8), lo = static_cast<char>(u & 0xff);
        out.push_back(big_endian ? hi : lo);
        out.push_back(big_endian ? lo : hi);
    }
    return out;
}

/// application/x-www-form-urlencoded: letters, digits and *-._ kept, space as '+', the rest %XX (upper case).
std::string url_form(std::string_view s)
{
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) != 0 && c < 0x80)
            out.push_back(static_cast<char>(c));
        else if (c == '*' || c == '-' || c == '.' || c == '_')
            out.push_back(static_cast<char>(c));
        else if (c == ' ')
            out.push_back('+');
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

/// RFC 3986 percent-encoding with lower-case hex digits: unreserved characters kept, space as %20.
std::string url_lower(std::string_view s)
{
    std::string out;
    for (unsigned char c : s) {
        if ((std::isalnum(c) != 0 && c < 0x80) || c == '-' || c == '.' || c == '_' || c == '~')
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("%{:02x}", c);
    }
    return out;
}

// ---- the build and its placement table ----------------------------------------------------------

const char* const client4 = "192.0.2.10";
const char* const text_server4 = "203.0.113.50"; // the plain-text line protocol (tcp 7117)
const char* const www4 = "203.0.113.10";         // www.example.com (HTTP)
const char* const udp_peer4 = "198.51.100.60";   // the encodings (udp 7117)
const char* const client6 = "2001:db8:0:10::10";
const char* const udp_peer6 = "2001:db8:0:60::60";
constexpr std::uint16_t text_port = 7117;
constexpr std::uint8_t ttl_local = 64, ttl_remote = 52;

Endpoint ep(const char* addr, std::uint16_t port, std::uint8_t ttl) { return Endpoint{IpAddr::parse(addr), port, ttl}; }

/// One place where a canary's encoded bytes start (a packet, or a TCP stream position and the packets that
/// hold it). Frame numbers are 1-based, in file order; payload_offset is in frames.front()'s L4 payload.
struct Row {
    char case_id = 'a';
    CanaryId canary = split_id;
    std::string encoding;
    std::string l4, initiator, responder;
    Dir dir = Dir::up;
    std::vector<std::size_t> frames;
    std::size_t payload_offset = 0;
    std::optional<std::uint64_t> stream_offset;
    std::optional<std::uint64_t> datagram_offset; ///< in the reassembled IP datagram's transport payload
    Bytes needle; ///< the encoded bytes (checked against the frames, not printed)
    std::string note;
};

struct Build {
    bool clean = false;
    Capture cap;
    std::vector<Row> rows;

    std::string text(CanaryId id) const
    {
        return clean ? decoy(std::strlen(canary_text[id])) : std::string(canary_text[id]);
    }
};

/// Where the transport payload of one of our frames starts, and its length (Ethernet, IPv4 or IPv6 with at most
/// a fragment header, TCP or UDP). For a later fragment (offset > 0) that is its fragment data: no L4 header.
std::pair<std::size_t, std::size_t> payload_of(const Bytes& frame)
{
    const std::size_t ip = 14;
    std::size_t data = 0, total = 0, frag_offset = 0;
    std::uint8_t proto = 0;
    if (frame[12] == 0x08 && frame[13] == 0x00) {
        const std::size_t ihl = (frame[ip] & 0x0fU) * 4U;
        total = ip + (static_cast<std::size_t>(frame[ip + 2]) << 8 | frame[ip + 3]);
        frag_offset = (static_cast<std::size_t>(frame[ip + 6] & 0x1fU) << 8 | frame[ip + 7]) * 8U;
        proto = frame[ip + 9];
        data = ip + ihl;
    } else if (frame[12] == 0x86 && frame[13] == 0xdd) {
        total = ip + 40 + (static_cast<std::size_t>(frame[ip + 4]) << 8 | frame[ip + 5]);
        proto = frame[ip + 6];
        data = ip + 40;
        if (proto == 44) {
            frag_offset = (static_cast<std::size_t>(frame[data + 2]) << 8 | frame[data + 3]) & 0xfff8U;
            proto = frame[data];
            data += 8;
        }
    } else {
        fail("not an Ethernet/IP frame");
    }
    std::size_t l4 = 0;
    if (frag_offset == 0) {
        if (proto == ipproto::tcp)
            l4 = (frame[data + 12] >> 4) * 4U;
        else if (proto == ipproto::udp)
            l4 = 8;
        else
            fail("not TCP or UDP");
    }
    return {data + l4, total - data - l4};
}

/// An IP packet cut in two fragments after `cut` bytes of its payload (a multiple of 8), as a router on a
/// smaller MTU would: IPv4 with MF on the first and DF cleared; IPv6 with a fragment header (RFC 8200 §4.5)
/// carrying `id6`. The packets have no IPv6 extension headers and no IPv4 options.
std::vector<Bytes> fragment_in_two(const Bytes& ip, std::size_t cut, std::uint32_t id6)
{
    if (cut % 8 != 0)
        fail("fragments are cut at multiples of 8 bytes");
    std::vector<Bytes> out;
    if ((ip[0] >> 4) == 4) {
        const std::size_t ihl = (ip[0] & 0x0fU) * 4U;
        if (ihl != 20 || cut >= ip.size() - ihl)
            fail("fragment_in_two: IPv4 without options, cut inside the payload");
        for (int part = 0; part < 2; ++part) {
            Bytes f(ip.begin(), ip.begin() + 20);
            const std::size_t from = 20 + (part == 0 ? 0 : cut), to = part == 0 ? 20 + cut : ip.size();
            f.insert(f.end(), ip.begin() + static_cast<std::ptrdiff_t>(from), ip.begin() + static_cast<std::ptrdiff_t>(to));
            put16_at(f, 2, static_cast<std::uint16_t>(f.size()));
            put16_at(f, 6, static_cast<std::uint16_t>(part == 0 ? 0x2000 : (cut / 8)));  // DF clear; MF on the first
            put16_at(f, 10, 0);
            put16_at(f, 10, inet_checksum(f.data(), 20));
            out.push_back(std::move(f));
        }
        return out;
    }
    if (ip[6] == ipproto::hopopts || ip[6] == ipproto::dstopts || ip[6] == 44 || cut >= ip.size() - 40)
        fail("fragment_in_two: IPv6 without extension headers, cut inside the payload");
    for (int part = 0; part < 2; ++part) {
        Bytes f(ip.begin(), ip.begin() + 40);
        f[6] = 44;
        const std::uint16_t off_m = static_cast<std::uint16_t>(part == 0 ? 1 : cut);  // offset (8-byte units << 3), M
        Writer(f).u8(ip[6]).u8(0).u16(off_m).u32(id6);
        const std::size_t from = 40 + (part == 0 ? 0 : cut), to = part == 0 ? 40 + cut : ip.size();
        f.insert(f.end(), ip.begin() + static_cast<std::ptrdiff_t>(from), ip.begin() + static_cast<std::ptrdiff_t>(to));
        put16_at(f, 4, static_cast<std::uint16_t>(f.size() - 40));
        out.push_back(std::move(f));
    }
    return out;
}

std::size_t tcp_payload_len(const Bytes& ip_packet)
{
    const std::size_t ihl = (ip_packet[0] & 0x0fU) * 4U;
    const std::size_t total = static_cast<std::size_t>(ip_packet[2]) << 8 | ip_packet[3];
    return total - ihl - (ip_packet[ihl + 12] >> 4) * 4U;
}

/// Checks that the row's bytes are where the row says (across its frames, in stream order).
void verify(const Capture& cap, const Row& r)
{
    std::size_t got = 0, off = r.payload_offset;
    for (std::size_t fno : r.frames) {
        const Bytes& f = cap.frames.at(fno - 1).data;
        const auto [start, len] = payload_of(f);
        if (off > len)
            fail(fmt::format("row {}: offset past frame {}'s payload", r.case_id, fno));
        const std::size_t n = std::min(len - off, r.needle.size() - got);
        if (std::memcmp(f.data() + start + off, r.needle.data() + got, n) != 0)
            fail(fmt::format("row {}: frame {} does not hold the bytes the table says", r.case_id, fno));
        got += n;
        off = 0;
    }
    if (got != r.needle.size())
        fail(fmt::format("row {}: the frames hold only {} of {} bytes", r.case_id, got, r.needle.size()));
}

struct Seg {
    Bytes ip;
    Dir dir = Dir::up;
    std::uint64_t start = 0; ///< stream offset of its first payload byte
    std::size_t len = 0;
};

/// A TCP conversation whose data segments are logged with their stream offsets and frame numbers.
class TcpConv {
public:
    TcpConv(Build& b, Timeline& tl, Rng& rng, const char* server, std::uint16_t client_port, std::uint16_t server_port)
        : b_(b), tl_(tl), s_(ep(client4, client_port, ttl_local), ep(server, server_port, ttl_remote), rng),
          initiator_(fmt::format("{}:{}", client4, client_port)), responder_(fmt::format("{}:{}", server, server_port))
    {
    }

    TcpSession& session() { return s_; }
    std::uint64_t offset(Dir d) const { return offset_[d == Dir::up ? 0 : 1]; }

    /// Builds the segments of one write (MSS-sized) without emitting them.
    std::vector<Seg> write(Dir d, std::string_view payload)
    {
        std::vector<Seg> out;
        std::uint64_t& off = offset_[d == Dir::up ? 0 : 1];
        for (Bytes& ip : s_.send(d, bytes_of(payload))) {
            const std::size_t n = tcp_payload_len(ip);
            out.push_back(Seg{std::move(ip), d, off, n});
            off += n;
        }
        return out;
    }

    void emit(const Seg& seg)
    {
        tl_.emit(seg.dir, seg.ip);
        log_.push_back({b_.cap.frames.size(), seg});
    }

    void emit(const std::vector<Seg>& segs, std::uint64_t gap_us = 12)
    {
        for (std::size_t i = 0; i < segs.size(); ++i) {
            if (i > 0)
                tl_.wait(gap_us);
            emit(segs[i]);
        }
    }

    void handshake(std::uint64_t rtt)
    {
        tl_.emit(Dir::up, s_.syn());
        tl_.wait(rtt).emit(Dir::down, s_.syn_ack());
        tl_.wait(100).emit(Dir::up, s_.ack(Dir::up));
    }

    void close(std::uint64_t rtt)
    {
        tl_.wait(2 * ms).emit(Dir::up, s_.fin(Dir::up));
        tl_.wait(rtt).emit(Dir::down, s_.fin(Dir::down));
        tl_.wait(60).emit(Dir::up, s_.ack(Dir::up));
    }

    /// Records where `needle` (written at stream offset `at` in direction d) sits: one row per captured copy.
    void place(char case_id, CanaryId id, const std::string& encoding, Dir d, std::uint64_t at, std::string_view needle,
               const std::string& note)
    {
        std::optional<std::size_t> first_copy;
        for (const auto& [frame, seg] : log_) {
            if (seg.dir != d || at < seg.start || at >= seg.start + seg.len)
                continue;
            Row r;
            r.case_id = case_id;
            r.canary = id;
            r.encoding = encoding;
            r.l4 = "tcp";
            r.initiator = initiator_;
            r.responder = responder_;
            r.dir = d;
            r.frames.push_back(frame);
            r.payload_offset = static_cast<std::size_t>(at - seg.start);
            r.stream_offset = at;
            r.needle = bytes_of(needle);
            std::vector<std::size_t> parts{static_cast<std::size_t>(seg.start + seg.len - at)};
            for (std::uint64_t next = seg.start + seg.len; next < at + needle.size();) {
                const auto it = std::find_if(log_.begin(), log_.end(),
                                             [&](const auto& l) { return l.second.dir == d && l.second.start == next; });
                if (it == log_.end())
                    fail("a canary runs into bytes the capture does not hold");
                r.frames.push_back(it->first);
                parts.push_back(static_cast<std::size_t>(std::min<std::uint64_t>(it->second.len, at + needle.size() - next)));
                next += it->second.len;
            }
            parts.front() = std::min(parts.front(), needle.size());
            r.note = note;
            if (r.frames.size() > 1) {
                std::string split;
                for (std::size_t i = 0; i < parts.size(); ++i)
                    split += fmt::format("{}{} bytes in frame {}", i > 0 ? " + " : "", parts[i], r.frames[i]);
                r.note += " (" + split + ")";
            }
            if (first_copy)
                r.note = fmt::format("byte-identical retransmission of frame {}: same stream offset", *first_copy);
            else
                first_copy = frame;
            b_.rows.push_back(std::move(r));
        }
        if (!first_copy)
            fail("a canary was not captured");
    }

private:
    Build& b_;
    Timeline& tl_;
    TcpSession s_;
    std::string initiator_, responder_;
    std::uint64_t offset_[2] = {0, 0};
    std::vector<std::pair<std::size_t, Seg>> log_;
};

constexpr std::uint64_t rtt = 30 * ms;

// (a) one write of 2000 bytes, cut by the MSS (1460) in the middle of the canary.
void conv_split(Build& b, Timeline& tl, Rng& rng)
{
    TcpConv c(b, tl, rng, text_server4, 50100, text_port);
    c.handshake(rtt);
    const std::string canary = b.text(split_id);
    std::string msg = "MSG 1 ";
    msg += filler(1450 - msg.size());
    const std::uint64_t at = c.offset(Dir::up) + msg.size();
    msg += canary + " ";
    msg += filler(2000 - 2 - msg.size()) + "\r\n";
    tl.wait(150);
    c.emit(c.write(Dir::up, msg));
    tl.wait(rtt).emit(Dir::down, c.session().ack(Dir::down));
    tl.wait(200);
    c.emit(c.write(Dir::down, "OK 1\r\n"));
    tl.wait(60).emit(Dir::up, c.session().ack(Dir::up));
    c.close(rtt);
    c.place('a', split_id, "raw", Dir::up, at, canary, "split by the MSS over two segments");
}

// (b) the server's segment is sent again after a retransmission timeout (no ACK came in between).
void conv_retransmission(Build& b, Timeline& tl, Rng& rng)
{
    TcpConv c(b, tl, rng, text_server4, 50101, text_port);
    c.handshake(rtt);
    tl.wait(150);
    c.emit(c.write(Dir::up, "GET 2\r\n"));
    const std::string canary = b.text(retx_id);
    std::string msg = "DATA 2 ";
    msg += filler(120 - msg.size());
    const std::uint64_t at = c.offset(Dir::down) + msg.size();
    msg += canary + " ";
    msg += filler(300 - 2 - msg.size()) + "\r\n";
    const std::vector<Seg> segs = c.write(Dir::down, msg);
    tl.wait(rtt);
    c.emit(segs);
    tl.wait(200 * ms); // RTO
    c.emit(segs);
    tl.wait(rtt).emit(Dir::up, c.session().ack(Dir::up));
    c.close(rtt);
    c.place('b', retx_id, "raw", Dir::down, at, canary, "original segment");
}

// (c) a 1700-byte answer in two segments; the second (later bytes) reaches the capture point first.
void conv_reorder(Build& b, Timeline& tl, Rng& rng)
{
    TcpConv c(b, tl, rng, text_server4, 50102, text_port);
    c.handshake(rtt);
    tl.wait(150);
    c.emit(c.write(Dir::up, "GET 3\r\n"));
    const std::string canary = b.text(reorder_id);
    std::string msg = "DATA 3 ";
    msg += filler(1455 - msg.size());
    const std::uint64_t at = c.offset(Dir::down) + msg.size();
    msg += canary + " ";
    msg += filler(1700 - 2 - msg.size()) + "\r\n";
    const std::vector<Seg> segs = c.write(Dir::down, msg);
    if (segs.size() != 2)
        fail("the reordered answer should be two segments");
    tl.wait(rtt);
    c.emit(segs[1]);
    tl.wait(40);
    c.emit(segs[0]);
    tl.wait(60).emit(Dir::up, c.session().ack(Dir::up));
    c.close(rtt);
    c.place('c', reorder_id, "raw", Dir::down, at, canary, "across the boundary of two segments, the later one captured first");
}

// (d) one datagram per encoding: "ENC <name> " then the encoded canary, then a newline.
void udp_encodings(Build& b, Timeline& tl, Rng& rng)
{
    UdpFlow f(ep(client4, 40600, ttl_local), ep(udp_peer4, text_port, ttl_remote), rng);
    const std::string canary = b.text(enc_id);
    struct Enc {
        const char* name;
        std::string data;
        const char* note;
    };
    const Enc encs[] = {
        {"raw", canary, "the UTF-8 bytes as they are"},
        {"hex-lower", hex(canary, false), "two lower-case hex digits per byte"},
        {"hex-upper", hex(canary, true), "two upper-case hex digits per byte"},
        {"base64-0", base64(canary), "base64 of the canary (standard alphabet and padding)"},
        {"base64-1", base64("x" + canary), "base64 of 1 byte (x) + the canary: canary-only characters start 2 characters in"},
        {"base64-2", base64("xy" + canary), "base64 of 2 bytes (xy) + the canary: canary-only characters start 3 characters in"},
        {"utf16le", utf16(canary, false), "UTF-16LE code units, no BOM"},
        {"utf16be", utf16(canary, true), "UTF-16BE code units, no BOM"},
        {"url-upper-plus", url_form(canary), "form encoding: %XX upper case and + for space"},
        {"url-lower", url_lower(canary), "RFC 3986: %xx lower case and %20 for space"},
    };
    for (std::size_t i = 0; i < std::size(encs); ++i) {
        if (i > 0)
            tl.wait(20 * ms);
        const std::string head = fmt::format("ENC {} ", encs[i].name);
        tl.emit(Dir::up, f.send(Dir::up, bytes_of(head + encs[i].data + "\n")));
        Row r;
        r.case_id = 'd';
        r.canary = enc_id;
        r.encoding = encs[i].name;
        r.l4 = "udp";
        r.initiator = fmt::format("{}:{}", client4, 40600);
        r.responder = fmt::format("{}:{}", udp_peer4, text_port);
        r.dir = Dir::up;
        r.frames.push_back(b.cap.frames.size());
        r.payload_offset = head.size();
        r.needle = bytes_of(encs[i].data);
        r.note = encs[i].note;
        b.rows.push_back(std::move(r));
    }
}

// (e) an HTTP/1.1 POST whose JSON body carries the non-ASCII canary.
void http_post(Build& b, Timeline& tl, Rng& rng)
{
    TcpConv c(b, tl, rng, www4, 50103, 80);
    c.handshake(rtt);
    const std::string canary = b.text(post_id);
    const std::string body_head = "{\"to\":\"bob\",\"text\":\"";
    const std::string body = body_head + canary + "\"}";
    const std::string head = fmt::format("POST /api/v1/messages HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\n"
                                         "Accept: */*\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                                         body.size());
    const std::uint64_t at = c.offset(Dir::up) + head.size() + body_head.size();
    tl.wait(150);
    c.emit(c.write(Dir::up, head + body));
    tl.wait(rtt).emit(Dir::down, c.session().ack(Dir::down));
    const std::string reply_body = "{\"id\":1,\"status\":\"stored\"}";
    tl.wait(900);
    c.emit(c.write(Dir::down, fmt::format("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                          "Date: Fri, 01 Mar 2024 12:00:04 GMT\r\nContent-Length: {}\r\n\r\n{}",
                                          reply_body.size(), reply_body)));
    tl.wait(60).emit(Dir::up, c.session().ack(Dir::up));
    c.close(rtt);
    c.place('e', post_id, "raw", Dir::up, at, canary, "in the JSON body of POST /api/v1/messages (headers and body in one segment)");
}

// (f) three writes; the capture misses the second segment (the receiver got it: its ACK covers all three).
void conv_gap(Build& b, Timeline& tl, Rng& rng)
{
    TcpConv c(b, tl, rng, text_server4, 50104, text_port);
    c.handshake(rtt);
    std::string w1 = "MSG 6 part 1 ";
    w1 += filler(300 - 2 - w1.size()) + "\r\n";
    std::string w2 = "MSG 6 part 2 ";
    w2 += filler(400 - 2 - w2.size()) + "\r\n";
    tl.wait(150);
    c.emit(c.write(Dir::up, w1));
    const std::uint64_t gap_from = c.offset(Dir::up);
    c.write(Dir::up, w2); // built (sequence numbers advance) but never captured
    const std::uint64_t gap_to = c.offset(Dir::up);
    const std::string canary = b.text(gap_id);
    std::string w3 = "MSG 6 part 3 ";
    w3 += filler(40 - w3.size());
    const std::uint64_t at = c.offset(Dir::up) + w3.size();
    w3 += canary + " ";
    w3 += filler(300 - 2 - w3.size()) + "\r\n";
    tl.wait(300);
    c.emit(c.write(Dir::up, w3));
    tl.wait(rtt).emit(Dir::down, c.session().ack(Dir::down));
    c.close(rtt);
    c.place('f', gap_id, "raw", Dir::up, at, canary,
            fmt::format("after a gap: stream offsets {}-{} were never captured", gap_from, gap_to - 1));
}

/// A row for a canary across the two fragments (frames `first`, `second`) of one datagram; `at` is its offset
/// in the datagram's transport payload, which the first fragment's payload starts (`in_first` bytes of it).
Row datagram_row(char case_id, CanaryId id, const std::string& l4, const std::string& initiator,
                 const std::string& responder, std::size_t first, std::size_t second, std::size_t at,
                 std::size_t in_first, std::string_view needle, const std::string& note)
{
    if (at >= in_first || at + needle.size() <= in_first)
        fail("a fragmented canary must straddle the cut");
    Row r;
    r.case_id = case_id;
    r.canary = id;
    r.encoding = "raw";
    r.l4 = l4;
    r.initiator = initiator;
    r.responder = responder;
    r.dir = Dir::up;
    r.frames = {first, second};
    r.payload_offset = at;
    r.datagram_offset = at;
    r.needle = bytes_of(needle);
    r.note = fmt::format("{} ({} bytes in frame {} + {} bytes in frame {})", note, in_first - at, first,
                         at + needle.size() - in_first, second);
    return r;
}

// (g) a 2400-byte UDP message that a link with a 1500-byte MTU cuts in two IPv4 fragments, across the canary.
void udp_fragments4(Build& b, Timeline& tl, Rng& rng)
{
    UdpFlow f(ep(client4, 40700, ttl_local), ep(udp_peer4, text_port, ttl_remote), rng);
    const std::string canary = b.text(frag4_id);
    std::string msg = "DATA 7 ";
    msg += filler(1466 - msg.size());
    const std::size_t at = msg.size();
    msg += canary + " ";
    msg += filler(2400 - 2 - msg.size()) + "\r\n";
    const std::vector<Bytes> frags = fragment_in_two(f.send(Dir::up, bytes_of(msg)), 1480, 0);
    tl.emit(Dir::up, frags, 40);
    const std::size_t n = b.cap.frames.size();
    b.rows.push_back(datagram_row('g', frag4_id, "udp", fmt::format("{}:{}", client4, 40700),
                                  fmt::format("{}:{}", udp_peer4, text_port), n - 1, n, at, 1480 - 8, canary,
                                  "across the two IPv4 fragments of one UDP datagram"));
}

// (h) a 1600-byte UDP message over IPv6 in two fragments of the minimum MTU (1280), the later one captured first.
void udp_fragments6(Build& b, Timeline& tl, Rng& rng)
{
    UdpFlow f(ep(client6, 40800, ttl_local), ep(udp_peer6, text_port, ttl_remote), rng);
    const std::string canary = b.text(frag6_id);
    std::string msg = "DATA 8 ";
    msg += filler(1216 - msg.size());
    const std::size_t at = msg.size();
    msg += canary + " ";
    msg += filler(1600 - 2 - msg.size()) + "\r\n";
    const std::vector<Bytes> frags = fragment_in_two(f.send(Dir::up, bytes_of(msg)), 1232, 0x6a0c0001);
    tl.emit(Dir::up, frags[1]);
    tl.wait(40).emit(Dir::up, frags[0]);
    const std::size_t n = b.cap.frames.size();
    // Addresses with their ports as tcpdump writes them (the table holds no brackets).
    b.rows.push_back(datagram_row('h', frag6_id, "udp", fmt::format("{}.{}", client6, 40800),
                                  fmt::format("{}.{}", udp_peer6, text_port), n, n - 1, at, 1232 - 8, canary,
                                  "across the two IPv6 fragments of one UDP datagram, the later fragment captured "
                                  "first"));
}

// (i) one 1400-byte TCP segment, cut in two IPv4 fragments by a router on a smaller MTU (DF cleared), across the
// canary: the stream and the datagram both hold it whole.
void tcp_fragments(Build& b, Timeline& tl, Rng& rng)
{
    TcpConv c(b, tl, rng, text_server4, 50105, text_port);
    c.handshake(rtt);
    const std::string canary = b.text(fragtcp_id);
    std::string msg = "MSG 9 ";
    msg += filler(735 - msg.size());
    const std::uint64_t at = c.offset(Dir::up) + msg.size();
    msg += canary + " ";
    msg += filler(1400 - 2 - msg.size()) + "\r\n";
    const std::vector<Seg> segs = c.write(Dir::up, msg);
    if (segs.size() != 1)
        fail("the fragmented segment should be one segment");
    tl.wait(150);
    tl.emit(Dir::up, fragment_in_two(segs[0].ip, 760, 0), 30);
    const std::size_t n = b.cap.frames.size();
    tl.wait(rtt).emit(Dir::down, c.session().ack(Dir::down));
    tl.wait(200);
    c.emit(c.write(Dir::down, "OK 9\r\n"));
    tl.wait(60).emit(Dir::up, c.session().ack(Dir::up));
    c.close(rtt);
    Row r = datagram_row('i', fragtcp_id, "tcp", fmt::format("{}:{}", client4, 50105),
                         fmt::format("{}:{}", text_server4, text_port), n - 1, n,
                         static_cast<std::size_t>(at - segs[0].start), 760 - 20, canary,
                         "across the two IPv4 fragments of one TCP segment");
    r.stream_offset = at;
    b.rows.push_back(std::move(r));
}

Build build(bool clean)
{
    Build b;
    b.clean = clean;
    b.cap.file = clean ? "canary-clean.pcap" : "canary.pcap";
    Rng rng(0xca7a5);
    Timeline tl(b.cap, eth_framer(doc_mac(0x10), doc_mac(0x01)), t0_us);
    conv_split(b, tl, rng);
    tl.set(t0_us + 1 * sec);
    conv_retransmission(b, tl, rng);
    tl.set(t0_us + 2 * sec);
    conv_reorder(b, tl, rng);
    tl.set(t0_us + 3 * sec);
    udp_encodings(b, tl, rng);
    tl.set(t0_us + 4 * sec);
    http_post(b, tl, rng);
    tl.set(t0_us + 5 * sec);
    conv_gap(b, tl, rng);
    tl.set(t0_us + 6 * sec);
    udp_fragments4(b, tl, rng);
    tl.set(t0_us + 7 * sec);
    udp_fragments6(b, tl, rng);
    tl.set(t0_us + 8 * sec);
    tcp_fragments(b, tl, rng);
    for (std::size_t i = 1; i < b.cap.frames.size(); ++i) {
        if (b.cap.frames[i].ts_us < b.cap.frames[i - 1].ts_us)
            fail("frames must be in time order (frame numbers are emission order)");
    }
    for (const Row& r : b.rows)
        verify(b.cap, r);
    return b;
}

std::string field(std::string s)
{
    if (s.find_first_of("\t\n;|[]") != std::string::npos)
        fail("a table field may not hold a tab, newline, ';', '|' or brackets: " + s);
    return s;
}

std::string placements_tsv(const Build& b)
{
    std::string out = "case\tline\tcanary\tencoding\tl4\tinitiator\tresponder\tdir\tframes\tpayload_offset\tstream_offset\t"
                      "datagram_offset\tlength\tnote\n";
    for (const Row& r : b.rows) {
        std::string frames;
        for (std::size_t f : r.frames) {
            if (!frames.empty())
                frames += ',';
            frames += std::to_string(f);
        }
        const std::vector<std::string> fields{
            std::string(1, r.case_id),
            std::to_string(line_of(r.canary)),
            canary_text[r.canary],
            r.encoding,
            r.l4,
            r.initiator,
            r.responder,
            r.dir == Dir::up ? "up" : "down",
            frames,
            std::to_string(r.payload_offset),
            r.stream_offset ? std::to_string(*r.stream_offset) : "-",
            r.datagram_offset ? std::to_string(*r.datagram_offset) : "-",
            std::to_string(r.needle.size()),
            r.note,
        };
        for (std::size_t i = 0; i < fields.size(); ++i)
            out += field(fields[i]) + (i + 1 < fields.size() ? "\t" : "\n");
    }
    return out;
}

std::string canaries_txt()
{
    std::string out;
    for (const char* c : file_comments)
        out += std::string(c) + "\n";
    for (const char* c : canary_text) {
        if (std::strlen(c) < 8)
            fail("canaries are at least 8 bytes");
        out += std::string(c) + "\n";
    }
    return out;
}

} // namespace

Capture make_canary()
{
    Build b = build(false);
    b.cap.side_files.emplace_back(canaries_file, canaries_txt());
    b.cap.side_files.emplace_back(placements_file, placements_tsv(b));
    return std::move(b.cap);
}

Capture make_canary_clean() { return build(true).cap; }

} // namespace sealscope::mkcaptures
