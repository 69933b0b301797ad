#pragma once
// Structural signatures of messaging and VoIP protocols that Debian's nDPI 4.2 does not know, each a pure
// function over one payload view (bounds checked, no allocation). Each rule keys on the protocol's own
// framing (type/length fields that must agree with the datagram, fixed handshake sizes), never on
// addresses or ports. Sources, per rule:
//
//  - Discord voice IP discovery (discord.com developer docs, "Voice Connections: IP Discovery"): a
//    74-byte UDP datagram: type u16 (1 = request, 2 = response), length u16 = 70, SSRC u32, a 64-byte
//    NUL-padded address text, port u16.
//    Its voice servers also answer 8-byte keepalives (u32 0x1337cafe + u32 counter) by echoing them.
//  - LINE calls (observed structure of LINE's UDP call transport, as described for nDPI's LineCall
//    dissector): datagrams whose first byte is 0xD0-0xDF (not RTP: version bits 11) carry a u16
//    sequence number at bytes 2-3 that advances by one per datagram in each direction.
//  - OICQ / QQ over UDP (Wireshark packet-oicq.c description of the public protocol): flag 0x02,
//    version u16, command u16, sequence u16, QQ number, ..., and the tail byte 0x03; commands 0x0001..
//    0x00b5 and 0x03f7.
//  - Agora SD-RTN edge join (Agora's published SD-RTN edge addressing "*.edge.agora.io"): a UDP
//    request whose byte 6 is 0x21 and which carries at offset 12 the TLV "\x04SNI" followed by a u16
//    length, a 0x00 byte and the edge host name (printable text filling the length).
//  - Zoom (Michel et al., "Enabling passive measurement of Zoom performance", IMC 2022, and
//    github.com/Princeton-Cabernet/zoom-analysis): server traffic wraps media in an 8-byte "SFU"
//    header of type 5 followed by a media header whose type byte (15 audio, 16 video, 13/30 screen
//    share, 33-35 RTCP) fixes where the RTP/RTCP packet starts (19, 24, 27/20, 16 bytes in);
//    peer-to-peer calls open with media type 0x1f 0x02 0x01, a 24-byte header, then two u32-length
//    values (the peer's address as dotted text, a UUID) and 4 zero bytes filling the datagram.
//  - Mumble UDP ping (Mumble protocol documentation, "UDP Ping"): a 12-byte request = u32 0 + u64
//    ident; the 24-byte answer = version u32 + the same u64 ident + users, max users, bandwidth.
//  - Threema chat connection (Threema Cryptography Whitepaper, "Chat protocol"): the client sends
//    its 32-byte ephemeral key + 16-byte cookie (48 bytes), the server answers with its cookie and the
//    sealed ephemeral key/cookie (16 + 64 = 80 bytes); later frames carry a u16 little-endian length.
//  - XMPP (RFC 6120 §4, §8): a stream starts with an XML declaration or <stream:stream>, and every
//    first-level element is a stream feature, <iq>, <presence> or <message> stanza.
//  - MGCP (RFC 3435 §3.2.1, and the MGCP 0.1 / 1.0 forms): a command line is a verb (AUEP, AUCX,
//    CRCX, DLCX, EPCF, MDCX, NTFY, RQNT, RSIP, or an "X" extension verb of 4 letters), a transaction id
//    of 1-9 digits, an endpoint name "local@domain", then "MGCP" and a version "d.d"; single spaces or
//    tabs between, the line within the datagram.
//  - BFCP (RFC 8855 §5.1, RFC 4582): a 12-byte common header: version 1 or 2 in the top 3 bits,
//    primitive 1..17, payload length (4-byte units), conference id u32, transaction id u16, user id
//    u16. Per flow, two messages of the same conference and user (as nDPI's BFCP dissector requires).
//  - Cisco Skinny / SCCP (Wireshark packet-skinny.c): messages of u32 LE data length (= message id +
//    data, so the message is length + 8 bytes), u32 LE header version (small: 0 basic, 0x0A-0x17 for
//    the CM 5-8+ formats), u32 LE message id (0x0000-0x01FF, or 0x8000-0x81FF); a segment holds whole
//    messages back to back. The length differs from MongoDB's wire header (whole message, itself included).
//  - TeamSpeak 3 weblist announce (TeamSpeak server's UDP weblist/accounting exchange, as observed and
//    dissected by nDPI's TeamSpeak dissector): a 4-byte request 0x01, 0x80|sequence, 0x84, step 1, answered
//    by 8 bytes that repeat the request and add a 4-byte nonce; the client's TS3INIT1 init packets are
//    nDPI's own.
//  - SealChat (src/e2ee/WIRE.md): TCP prologue "SL" 0x01 channel (0 chat, 1 blob) + Noise message 1
//    (u16 length 32); UDP relay header 0x5C, type 1..3, leg 0/1, reserved 0, 16-byte token, then
//    SRTP (type 2) or SRTCP (type 3) in clear header form.

#include <cstddef>
#include <cstdint>

namespace sealscope::classify::rules {

/// Discord voice IP discovery request (type 1) or response (type 2).
bool discord_ip_discovery(const uint8_t* d, std::size_t n) noexcept;
/// Discord voice keepalive (8 bytes, magic 0x1337cafe).
bool discord_keepalive(const uint8_t* d, std::size_t n) noexcept;
/// A LINE call datagram header; writes its u16 sequence number.
bool line_call_header(const uint8_t* d, std::size_t n, uint16_t& seq) noexcept;
/// An OICQ datagram (flag 0x02 ... tail 0x03, known command range).
bool oicq(const uint8_t* d, std::size_t n) noexcept;
/// Agora SD-RTN edge request carrying the "SNI" host-name TLV.
bool agora_sni(const uint8_t* d, std::size_t n) noexcept;
/// Zoom SFU type-5 encapsulation with a media header and an RTP/RTCP packet where its type puts it.
bool zoom_sfu(const uint8_t* d, std::size_t n) noexcept;
/// Zoom media header alone (peer-to-peer media): type byte and RTP/RTCP at its offset.
bool zoom_media(const uint8_t* d, std::size_t n) noexcept;
/// Zoom peer-to-peer hello (0x1f 0x02 0x01, address text and UUID length-values, 4 zero bytes).
bool zoom_p2p_hello(const uint8_t* d, std::size_t n) noexcept;
/// Mumble UDP ping request; writes its ident.
bool mumble_ping_request(const uint8_t* d, std::size_t n, uint64_t& ident) noexcept;
/// Mumble UDP ping answer echoing `ident`.
bool mumble_ping_answer(const uint8_t* d, std::size_t n, uint64_t ident) noexcept;
/// A Threema frame: u16 little-endian length + exactly that many bytes.
bool threema_frame(const uint8_t* d, std::size_t n) noexcept;
/// XMPP stream start or a first-level stanza at the start of a TCP payload.
bool xmpp_start(const uint8_t* d, std::size_t n) noexcept;
/// An MGCP command line at the start of a datagram.
bool mgcp_command(const uint8_t* d, std::size_t n) noexcept;
/// A BFCP common header (version 1/2, primitive 1..17); writes the conference and user ids.
bool bfcp_header(const uint8_t* d, std::size_t n, uint32_t& conference, uint16_t& user) noexcept;
/// A TCP segment made of whole Cisco Skinny (SCCP) messages.
bool skinny_messages(const uint8_t* d, std::size_t n) noexcept;
/// TeamSpeak 3 weblist request (4 bytes).
bool ts3_weblist_request(const uint8_t* d, std::size_t n) noexcept;
/// TeamSpeak 3 weblist answer to `req` (8 bytes repeating the request's 4).
bool ts3_weblist_answer(const uint8_t* d, std::size_t n, const uint8_t* req) noexcept;
/// SealChat TCP prologue + Noise message 1 header; channel 0 = chat, 1 = blob store.
bool sealchat_prologue(const uint8_t* d, std::size_t n, uint8_t& channel) noexcept;
/// SealChat media relay datagram (bind, SRTP or SRTCP).
bool sealchat_relay(const uint8_t* d, std::size_t n) noexcept;

}  // namespace sealscope::classify::rules
