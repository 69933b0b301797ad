#pragma once

#include "bytes.hpp"
#include "packet.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sealscope::mkcaptures {

// ---- TLS 1.3 (RFC 8446), as records ready to be put in a TCP stream ----

/// What varies between the ClientHellos the generator writes.
struct ClientHelloParams {
    std::string sni;
    std::vector<std::string> alpn{"h2"};
    std::array<std::uint8_t, 32> random{};
    std::array<std::uint8_t, 32> session_id{}; ///< legacy_session_id (middlebox compatibility mode)
    std::array<std::uint8_t, 32> key_share{};  ///< x25519 public key
};

/// A ClientHello record offering TLS 1.3 and 1.2 with SNI, ALPN, supported_versions and key_share.
Bytes tls_client_hello(const ClientHelloParams& p);

/// A ServerHello record choosing TLS 1.3 (supported_versions 0x0304) and TLS_AES_128_GCM_SHA256.
Bytes tls_server_hello(const std::array<std::uint8_t, 32>& random, const std::array<std::uint8_t, 32>& session_id,
                       const std::array<std::uint8_t, 32>& key_share);

/// The compatibility ChangeCipherSpec record (14 03 03 00 01 01).
Bytes tls_change_cipher_spec();

/// An application_data record of len opaque (pseudo-random) bytes.
Bytes tls_app_data(Rng& rng, std::size_t len);

/// Several application_data records back to back (one flight).
Bytes tls_app_data_flight(Rng& rng, std::initializer_list<std::size_t> lens);

// ---- DNS (RFC 1035, RFC 3596, EDNS0 RFC 6891) ----

namespace dnstype {
inline constexpr std::uint16_t a = 1, aaaa = 28;
}

/// A recursive query with one question and an EDNS0 OPT record.
Bytes dns_query(std::uint16_t id, std::string_view name, std::uint16_t qtype);

/// The matching NOERROR response; each answer is the RDATA of one record of qtype.
Bytes dns_response(std::uint16_t id, std::string_view name, std::uint16_t qtype, const std::vector<IpAddr>& answers, std::uint32_t ttl);

// ---- STUN (RFC 5389) and RTP (RFC 3550) ----

using StunTxId = std::array<std::uint8_t, 12>;

/// Binding Request with SOFTWARE and FINGERPRINT; first, when `vendor_attr` is not 0, that attribute with
/// four zero bytes (0x8006: what Skype clients send, and nDPI 4.2 takes for a Skype call).
Bytes stun_binding_request(const StunTxId& txid, std::string_view software, std::uint16_t vendor_attr = 0);

/// Binding Success Response with XOR-MAPPED-ADDRESS, SOFTWARE and FINGERPRINT.
Bytes stun_binding_success(const StunTxId& txid, const Endpoint& mapped, std::string_view software);

/// RTP version 2 packet (no CSRC, no extension).
Bytes rtp_packet(std::uint8_t pt, bool marker, std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, const Bytes& payload);

// ---- HTTP/1.1 (RFC 9112) ----

/// GET request with Host, User-Agent and Accept.
Bytes http_get(std::string_view host, std::string_view path);

/// 200 response carrying a small synthetic HTML page.
Bytes http_ok_html(std::string_view title);

// ---- GTP-U (3GPP TS 29.281) ----

/// 5G PDU Session Container (TS 38.415) carried in a GTP-U extension header.
struct PduSessionContainer {
    bool uplink = true;
    std::uint8_t qfi = 9;
};

/// G-PDU (message type 0xFF) carrying inner, optionally with the E flag and a PDU Session Container.
Bytes gtpu_gpdu(std::uint32_t teid, const Bytes& inner, const std::optional<PduSessionContainer>& container = {});

// ---- Other tunnels: the headers (tunnels.cpp puts them around packets) ----

/// VXLAN header (RFC 7348 §5): flags with I set, 24-bit VNI.
Bytes vxlan_header(std::uint32_t vni);

/// One Geneve option (RFC 8926 §3.5): class, type, data padded with zeros to whole 4-byte words.
Bytes geneve_option(std::uint16_t option_class, std::uint8_t type, const Bytes& data);

/// Geneve header (RFC 8926 §3.4), version 0, O and C clear: options (whole 4-byte words), protocol type, VNI.
Bytes geneve_header(std::uint32_t vni, std::uint16_t protocol, const Bytes& options);

/// GRE fields (RFC 2784, RFC 2890) beyond flags and protocol: each present one sets its flag.
struct GreFields {
    bool checksum = false;
    std::optional<std::uint32_t> key;
    std::optional<std::uint32_t> seq;
};

/// A GRE header, version 0, and the payload after it; with `checksum`, the one's complement checksum of both.
Bytes gre_packet(const GreFields& f, std::uint16_t protocol, const Bytes& payload);

/// ERSPAN type II header (version 1): VLAN, COS 0, En 0, T 0, 10-bit session ID, 20-bit index.
Bytes erspan2_header(std::uint16_t session, std::uint16_t vlan, std::uint32_t index);

/// ERSPAN type III header (version 2): VLAN, session ID, timestamp, SGT 0, frame type 0 (Ethernet), hardware ID
/// 1, granularity 3 (IEEE 1588); with `platform`, the O flag and an 8-byte platform sub-header (platform 3).
Bytes erspan3_header(std::uint16_t session, std::uint16_t vlan, std::uint32_t timestamp, bool platform);

/// TZSP header: version 1, type (0 received, 1 transmitted), encapsulated protocol (1 Ethernet, 18 802.11),
/// then `tags` as given (they must end with the END tag, 0x01).
Bytes tzsp_header(std::uint8_t type, std::uint16_t encap, const Bytes& tags);

/// CAPWAP data header (RFC 5415 §4.3): preamble 0, HLEN, RID, WBID 1 (IEEE 802.11), T when the payload is
/// a native 802.11 frame (else 802.3), and when `radio_mac` is given the M flag and the Radio MAC Address
/// field (length 6, the address, padding to a 4-byte word).
Bytes capwap_header(bool native_80211, std::uint8_t rid, const std::optional<MacAddr>& radio_mac);

} // namespace sealscope::mkcaptures
