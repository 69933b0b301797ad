#pragma once

#include "capture_file.hpp"
#include "packet.hpp"
#include "protocols.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sealscope::mkcaptures {

/// 2024-03-01T12:00:00Z in microseconds since the epoch: every capture starts here.
inline constexpr std::uint64_t t0_us = 1709294400ULL * 1000000ULL;
inline constexpr std::uint64_t ms = 1000;
inline constexpr std::uint64_t sec = 1000000;

/// Turns an IP packet of a conversation into a link-layer frame.
using Framer = std::function<Bytes(Dir, const Bytes& ip)>;

/// Ethernet framing between a host (the initiator) and its gateway, with optional VLAN tags.
Framer eth_framer(MacAddr host, MacAddr gateway, std::vector<VlanTag> tags = {});

/// GTP-U tunnel state: outer endpoints, TEIDs and a one-shot PDU Session Container for the next packet.
struct GtpTunnel {
    Endpoint cell;  ///< eNodeB / gNodeB (sends uplink)
    Endpoint core;  ///< SGW / UPF
    std::uint32_t teid_up = 0, teid_down = 0;
    MacAddr cell_mac{}, core_mac{};
    std::uint16_t ip_id[2] = {0, 0};
    std::optional<PduSessionContainer> next_container;
};

/// Frames inner IP packets as Ethernet / IPv4 / UDP 2152 / GTP-U between the tunnel's endpoints.
Framer gtp_framer(std::shared_ptr<GtpTunnel> tunnel);

/// Appends the frames of one conversation to a capture, on its own clock.
class Timeline {
public:
    Timeline(Capture& cap, Framer framer, std::uint64_t start_us) : cap_(cap), framer_(std::move(framer)), now_(start_us) {}

    std::uint64_t now() const { return now_; }
    Timeline& wait(std::uint64_t us) { now_ += us; return *this; }
    Timeline& set(std::uint64_t t) { now_ = t; return *this; }
    void emit(Dir dir, const Bytes& ip);
    /// Emits back-to-back segments gap_us apart (the clock ends at the last one).
    void emit(Dir dir, const std::vector<Bytes>& ips, std::uint64_t gap_us = 12);

private:
    Capture& cap_;
    Framer framer_;
    std::uint64_t now_;
};

enum class TcpEnd { fin, rst };

/// Shape of a scripted TLS 1.3 session.
struct TlsScript {
    std::string sni;
    int rounds = 3;               ///< request/response exchanges after the handshake (>= 1)
    TcpEnd end = TcpEnd::fin;
    std::uint64_t rtt_us = 30 * ms;
    std::uint64_t think_us = 400 * ms; ///< pause between exchanges
};

/// Handshake, ClientHello, ServerHello flight, encrypted exchanges, FIN/ACK or RST close.
void tls_session(Timeline& tl, TcpSession& s, Rng& rng, const TlsScript& script);

/// Handshake, GET, 200 response, FIN/ACK close.
void http_session(Timeline& tl, TcpSession& s, const std::string& host, const std::string& path, std::uint64_t rtt_us);

/// One DNS query and its response on a UDP flow.
void dns_exchange(Timeline& tl, UdpFlow& f, std::uint16_t id, const std::string& name, std::uint16_t qtype,
                  const std::vector<IpAddr>& answers, std::uint64_t rtt_us);

/// count echo requests and replies (Linux ping style 56-byte payload), interval apart.
void ping(Timeline& tl, const Endpoint& from, const Endpoint& to, std::uint16_t ident, int count, std::uint64_t interval_us,
          std::uint64_t rtt_us);

/// STUN Binding transactions (client → server), one per interval; the requests carry `vendor_attr` when it
/// is not 0 (stun_binding_request).
void stun_transactions(Timeline& tl, UdpFlow& f, Rng& rng, int count, std::uint64_t interval_us, std::uint64_t rtt_us,
                       std::uint16_t vendor_attr = 0);

/// RTP in both directions (PT 111, 20 ms packets, 48 kHz clock), count packets per direction.
void rtp_call(Timeline& tl, UdpFlow& f, Rng& rng, int count);

/// Sorts frames by time (stable, so packets with equal times keep their emission order).
void sort_by_time(Capture& cap);

} // namespace sealscope::mkcaptures
