#pragma once
// RTP and RTCP header shape (RFC 3550), RTP/RTCP demultiplexing on one port (RFC 5761 §4), and a
// small per-direction tracker that recognises a media stream by its sequence/timestamp behaviour.
// Works on SRTP/SRTCP too: the headers it reads are not encrypted (RFC 3711 §3.1, §3.4).
// Hand-written: libre has rtp_hdr_decode, but its rtcp_decode allocates (mem_alloc) for each packet;
// libortp and ccrtp are endpoint stacks (sessions, sockets), not parsers of packets seen on the wire.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sealscope::classify {

/// The fixed RTP header plus the sizes of the optional parts.
struct RtpHeader {
  uint8_t version = 0;
  bool padding = false;
  bool extension = false;
  uint8_t csrc_count = 0;
  bool marker = false;
  uint8_t payload_type = 0;  ///< 7 bits
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint16_t ext_profile = 0;     ///< e.g. 0xBEDE for RFC 8285 one-byte header extensions
  uint16_t ext_length_words = 0;
  std::size_t header_len = 0;   ///< 12 + 4*CC (+ 4 + 4*ext words)
  uint8_t padding_len = 0;      ///< last byte when padding is set and consistent
  /// False when P is set but the last byte is not a usable count (normal for SRTP, whose last
  /// bytes are the authentication tag); padding is then not subtracted.
  bool padding_consistent = true;
  std::size_t payload_len = 0;  ///< bytes between header and padding
};

/// Parses an RTP header; rejects RTCP-colliding payload types 72-76 (RFC 5761 §4) and CSRC lists or
/// header extensions that do not fit.
std::optional<RtpHeader> parse_rtp(const uint8_t* data, std::size_t len) noexcept;

/// Capacity of RtcpInfo's per-packet list.
inline constexpr std::size_t kRtcpMaxPackets = 8;

/// Walk of an RTCP compound packet.
struct RtcpInfo {
  uint8_t packet_count = 0;                     ///< packets walked (all, even past the list capacity)
  std::array<uint8_t, kRtcpMaxPackets> types{};  ///< packet types in order
  uint32_t first_ssrc = 0;                      ///< sender SSRC of the first packet
  bool has_sr = false, has_rr = false, has_sdes = false, has_bye = false, has_app = false;
  bool has_feedback = false;  ///< RTPFB (205) or PSFB (206)
  bool has_xr = false;        ///< 207, RFC 3611
  bool exact = false;         ///< the walk ended exactly at the end of the datagram
  std::size_t walked = 0;     ///< bytes covered by well-formed packets
  /// Not exact, but the first packet is well formed and what follows could be the encrypted rest
  /// of an SRTCP compound plus its E-flag/index word and authentication tag (RFC 3711 §3.4).
  bool maybe_srtcp = false;
};

/// Parses an RTCP (compound) packet: version 2, PT 200-207, lengths consistent.
std::optional<RtcpInfo> parse_rtcp(const uint8_t* data, std::size_t len) noexcept;

/// What a datagram on an RTP port is, by the RFC 5761 §4 rule.
enum class RtpKind : uint8_t { None, Rtp, Rtcp };

/// Second byte 192-223 means RTCP (if its walk holds), otherwise RTP (if its header holds).
RtpKind classify_rtp_rtcp(const uint8_t* data, std::size_t len) noexcept;

/// Per flow direction: says "media stream" after enough RTP packets with one SSRC whose sequence
/// numbers advance by small steps (mod 2^16) and timestamps do not go back (mod 2^32).
class RtpStreamTracker {
 public:
  /// needed: consecutive in-order packets required; max_gap: largest accepted sequence step.
  explicit RtpStreamTracker(uint16_t needed = 4, uint16_t max_gap = 64) noexcept
      : needed_(needed == 0 ? 1 : needed), max_gap_(max_gap == 0 ? 1 : max_gap) {}

  /// Feeds one parsed RTP header; returns looks_like_media() afterwards.
  bool feed(const RtpHeader& h) noexcept;
  /// Parses and feeds a datagram; non-RTP datagrams are ignored (return value unchanged).
  bool feed(const uint8_t* data, std::size_t len) noexcept;
  /// True once some SSRC reached the required run.
  bool looks_like_media() const noexcept { return media_; }
  /// The SSRC that qualified (0 until then).
  uint32_t media_ssrc() const noexcept { return media_ssrc_; }
  /// Forgets everything.
  void reset() noexcept;

 private:
  struct Slot {
    bool used = false;
    uint32_t ssrc = 0;
    uint16_t last_seq = 0;
    uint32_t last_ts = 0;
    uint8_t payload_type = 0;
    uint16_t run = 0;
    uint32_t age = 0;
  };
  static constexpr std::size_t kSlots = 4;  ///< audio + video + rtx + spare in one bundle
  std::array<Slot, kSlots> slots_{};
  uint16_t needed_;
  uint16_t max_gap_;
  uint32_t clock_ = 0;
  bool media_ = false;
  uint32_t media_ssrc_ = 0;
};

}  // namespace sealscope::classify
