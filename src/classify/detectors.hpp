#pragma once
#include <memory>

#include "classify/detect_apps.hpp"
#include "classify/detect_call_cache.hpp"
#include "classify/ndpi_adapter.hpp"
#include "classify/quic.hpp"
#include "decode/packet.hpp"
#include "flow/flow.hpp"

namespace sealscope::classify {

struct Verdict;

/// sealscope's own detectors, beside nDPI: they see a flow's first packets, keep evidence in
/// `Flow::cls.detector_*` (and `Flow::det`, allocated only for flows that need buffers) and refine the
/// engine's verdict, each override recorded in the verdict's confidence:
///  - structure (confidence dpi): WhatsApp's TCP prologue, SealChat's prologue and relay header, STUN
///    REALM / vendor attributes, Discord IP discovery, Agora SD-RTN edge requests, Zoom SFU/P2P media
///    headers, OICQ, Threema's handshake sizes, XMPP stanzas, Mumble pings, Line's call counters, STUN
///    and RTP over TCP, QUIC ClientHellos split over datagrams (whose server name and handshake metadata
///    also go into the record where nDPI 4.2 has none), MGCP commands, BFCP request/answer
///    headers, Cisco Skinny framing, TeamSpeak 3 weblist announces, and server names of messaging services
///    (TLS/HTTP/QUIC); WebRTC media whose server is in nDPI's own Google network list is GoogleCall;
///  - the call cache (confidence dpi-cache): flows sharing a call participant's endpoint in its lifetime;
///  - behaviour (confidence heuristic): voice-like UDP flows nothing else named (label RTP).
/// Per worker, not thread-safe.
class Detectors {
 public:
  /// Hot-path check: does the flow still want packets?
  static bool wants(const flow::Flow& f) {
    return f.packets[0] + f.packets[1] <= kMaxPackets && (f.cls.detector_state & kDone) == 0;
  }
  /// Looks at one packet of a flow (after nDPI saw it).
  void on_packet(flow::Flow& f, const decode::Packet& p, flow::Dir d, const NdpiEngine& engine);
  /// The flow ended (before its verdict is computed): server-name rules, call-cache upkeep, frees state.
  void on_end(flow::Flow& f, const NdpiEngine& engine);
  /// Adjusts the engine's verdict with the detectors' evidence (label, confidence, and activity where a
  /// detector knows it; family and empty activity are derived from the final label afterwards).
  void refine(const flow::Flow& f, Verdict& v) const;

  const CallCache& call_cache() const { return cache_; }

  static constexpr uint64_t kMaxPackets = 32;
  /// Bits of ClassState::detector_state.
  static constexpr uint32_t kStunReqUp = 1u << 0, kStunReqDown = 1u << 1, kStunSeen = 1u << 2,
                            kTcpChecked = 1u << 3, kDone = 1u << 4, kP2p = 1u << 5, kRtpUp = 1u << 6,
                            kRtpDown = 1u << 7, kQuicDone = 1u << 8;
  /// Values of ClassState::detector_confidence.
  static constexpr uint8_t kConfDpi = 1;

 private:
  /// Names the flow `app` (unless another detector already named an app); `done` ends the detectors' work
  /// on the flow; `timed` records this packet as when the verdict was reached (off when the label only
  /// gains a detail whose family and activity were already known).
  void decide(flow::Flow& f, const decode::Packet& p, DetApp app, bool done = true, bool timed = true);
  void anchor(const flow::Flow& f, DetApp app, TimestampUs to);
  void on_udp(flow::Flow& f, const decode::Packet& p, flow::Dir d);
  void on_tcp(flow::Flow& f, const decode::Packet& p, flow::Dir d);
  void refine_app(const flow::Flow& f, Verdict& v) const;
  static DetApp media_server_app(const flow::Flow& f, const NdpiEngine& engine);

  CallCache cache_;
  std::unique_ptr<QuicInitialParser> quic_scratch_;  ///< per worker, for each QUIC flow's first Initial
};

}  // namespace sealscope::classify
