#pragma once
#include <cstddef>
#include <cstdint>

#include "audit/randomness.hpp"

namespace sealscope::audit {

/// The framing recognised at the start of a TCP direction (or per datagram for UDP), stripped before the
/// randomness tests so that only content bytes are measured.
enum class Framing : uint8_t {
  Unknown,     ///< not decided yet (fewer bytes than needed)
  Raw,         ///< nothing recognised: every byte is measured
  Tls,         ///< TLS records: application-data bodies measured, handshake (cleartext metadata) skipped
  SealChat,    ///< sealchat: 4-byte prologue (client), then 2-byte length-prefixed Noise frames
  WhatsApp,    ///< WhatsApp: optional edge-routing pre-header, "WA" + 2 bytes (client), 3-byte length frames
  Http,        ///< HTTP/1.x: a cleartext protocol
  Sip,         ///< SIP: a cleartext protocol
  // Datagram framings (decided per datagram, the flow keeps the last one seen).
  Rtp,         ///< RTP (or SRTP): 12+ byte header stripped, payload measured
  SealChatMedia,  ///< sealchat media relay: 20-byte relay header, then RTP/SRTP
  Dtls,        ///< DTLS records: application-data bodies measured
  Quic,        ///< QUIC: long/short header stripped up to the protected packet number
  Metadata,    ///< STUN, RTCP, DNS: signalling and reports, metadata by design (not measured)
};
const char* framing_name(Framing f);

/// Strips one TCP direction's framing as its bytes arrive in order, feeding content bytes to `stats`.
/// A gap makes the parser lose frame sync: the rest of the direction is measured raw.
class TcpFramer {
 public:
  /// `peer` is the framing decided for the other direction so far (the server side follows the client).
  void feed(const uint8_t* data, std::size_t len, Framing peer, bool initiator, ByteStats& stats);
  void gap(ByteStats& stats);
  /// End of the direction: a stream too short to decide on is measured raw.
  void finish(ByteStats& stats);
  Framing framing() const { return framing_; }
  bool lost_sync() const { return lost_sync_; }

 private:
  void decide(Framing peer, bool initiator);
  void process(const uint8_t* data, std::size_t len, ByteStats& stats);

  Framing framing_ = Framing::Unknown;
  bool lost_sync_ = false;
  uint8_t head_[16];  ///< first bytes, until the framing is decided
  uint8_t head_len_ = 0;
  uint64_t skip_ = 0;  ///< bytes still to skip (prologue, handshake record bodies)
  // Length-prefixed frames / records.
  uint8_t hdr_[13];
  uint8_t hdr_len_ = 0, hdr_need_ = 0;
  uint64_t body_left_ = 0;
  bool body_measured_ = false, body_first_ = false;
};

/// What one direction of a datagram flow remembers between datagrams.
struct DatagramState {
  bool rtp_seen = false;       ///< an RTP header was seen before (for the continuity check)
  uint32_t rtp_ssrc = 0;
  uint16_t rtp_seq = 0;
  uint8_t quic_scid_len = 0;   ///< source connection id length of this direction's QUIC long headers
  bool quic_seen = false;      ///< this flow carried QUIC long headers
};

/// One datagram (UDP payload): strips its framing and feeds content to `stats`. An RTP payload's first byte
/// counts as a unit lead only when the header continues the direction's stream (same SSRC, sequence step
/// 1..64), so that datagrams that merely parse as RTP do not feed the lead test. `peer` supplies the QUIC
/// connection id length for short headers (the peer's source id is this direction's destination id).
Framing strip_datagram(const uint8_t* data, std::size_t len, uint16_t sport, uint16_t dport, DatagramState& self,
                       const DatagramState& peer, ByteStats& stats);

}  // namespace sealscope::audit
