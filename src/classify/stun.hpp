#pragma once
// STUN (RFC 5389 / RFC 8489, classic RFC 3489) and TURN ChannelData (RFC 8656 §12) structure parsing.
// Pure functions over a payload view: every bound is checked, nothing is allocated, strings are copied
// truncated into fixed arrays. Metadata only (names, types, addresses); no application is named here.
// Hand-written: Debian's C STUN libraries are built for endpoints. pjnath decodes into pool-allocated
// message objects; libnice validates through an agent set to one compatibility mode (RFC 3489 or 5389,
// …). A classifier reads every flavour at once, on the packet path, without allocating.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sealscope::classify {

/// STUN magic cookie (RFC 5389 §6).
inline constexpr uint32_t kStunMagicCookie = 0x2112A442u;
/// Value XORed into the FINGERPRINT CRC-32 (RFC 5389 §15.5).
inline constexpr uint32_t kStunFingerprintXor = 0x5354554Eu;
/// Capacity of the text fields of StunInfo (bytes, including the terminating NUL).
inline constexpr std::size_t kStunTextCap = 128;
/// How many distinct attribute types StunInfo records, in order of first appearance.
inline constexpr std::size_t kStunMaxAttrTypes = 32;

/// Well-known attribute types (RFC 5389/8489, 5245/8445, 5766/8656, 3489).
namespace stun_attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kChangeRequest = 0x0003;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kChannelNumber = 0x000C;
inline constexpr uint16_t kLifetime = 0x000D;
inline constexpr uint16_t kXorPeerAddress = 0x0012;
inline constexpr uint16_t kData = 0x0013;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kXorRelayedAddress = 0x0016;
inline constexpr uint16_t kRequestedTransport = 0x0019;
inline constexpr uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kXorMappedAddressOld = 0x8020;  ///< pre-RFC draft code point still seen
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kAlternateServer = 0x8023;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
}  // namespace stun_attr

/// STUN message class (RFC 5389 §6: bits C1 C0 of the message type).
enum class StunClass : uint8_t { Request = 0, Indication = 1, SuccessResponse = 2, ErrorResponse = 3 };

/// A MAPPED-ADDRESS or XOR-MAPPED-ADDRESS value (already un-XORed).
struct StunAddress {
  bool present = false;
  uint8_t family = 0;  ///< 1 = IPv4, 2 = IPv6
  uint16_t port = 0;
  std::array<uint8_t, 16> addr{};  ///< IPv4 uses the first 4 bytes
};

/// What parse_stun learned from one STUN message.
struct StunInfo {
  bool classic = false;  ///< RFC 3489 form: no magic cookie, 16-byte transaction id
  /// Attribute values were back to back, not padded to 4 bytes (seen in deployed WhatsApp and
  /// MS-TURN traffic); only accepted with the magic cookie and an exactly consistent walk.
  bool unpadded = false;
  uint16_t type = 0;     ///< raw message type
  uint16_t method = 0;   ///< 12-bit method (1 = Binding, 3 = Allocate, ...)
  StunClass klass = StunClass::Request;
  uint16_t length = 0;             ///< header length field (attributes bytes)
  std::size_t message_size = 0;    ///< 20 + length: bytes this message occupies
  std::array<uint8_t, 16> transaction_id{};  ///< 12 bytes for RFC 5389, 16 for classic
  uint8_t transaction_id_len = 0;

  std::array<char, kStunTextCap> software{};  ///< NUL-terminated, truncated
  uint16_t software_len = 0;                  ///< length on the wire (0 = absent)
  bool has_software = false;
  std::array<char, kStunTextCap> realm{};
  uint16_t realm_len = 0;
  bool has_realm = false;
  std::array<char, kStunTextCap> username{};
  uint16_t username_len = 0;
  bool has_username = false;
  bool username_has_colon = false;  ///< ICE short-term credentials look like "remote:local"

  bool has_nonce = false;
  bool has_message_integrity = false;
  uint8_t message_integrity_len = 0;  ///< 20 per RFC 5389; 32 seen from one deployed TURN variant
  bool has_message_integrity_sha256 = false;
  bool has_fingerprint = false;
  bool fingerprint_valid = false;  ///< CRC-32 matched and FINGERPRINT was the last attribute (false when
                                   ///< libgcrypt cannot compute CRC-32)
  bool has_priority = false;
  bool has_use_candidate = false;
  bool has_ice_controlling = false;
  bool has_ice_controlled = false;
  uint16_t error_code = 0;  ///< class*100 + number, 0 when absent
  StunAddress mapped;
  StunAddress xor_mapped;

  std::array<uint16_t, kStunMaxAttrTypes> attr_types{};  ///< distinct types, first-seen order
  uint8_t attr_type_count = 0;
  uint16_t attr_count = 0;        ///< attributes walked (with repeats)
  bool attr_types_overflow = false;

  /// True when an attribute of this type was present.
  bool has_attr(uint16_t attr_type) const noexcept;
};

/// Parses exactly one STUN message occupying all of [data, data+len) (a UDP datagram). The RFC 5389
/// padded layout is tried first, then (cookie only) the unpadded one; see StunInfo::unpadded.
std::optional<StunInfo> parse_stun(const uint8_t* data, std::size_t len) noexcept;

/// Parses one STUN message at the start of data; bytes after message_size are allowed (TCP streams).
std::optional<StunInfo> parse_stun_prefix(const uint8_t* data, std::size_t len) noexcept;

/// TURN ChannelData header (RFC 8656 §12.4).
struct ChannelDataInfo {
  uint16_t channel = 0;      ///< 0x4000..0x7FFF
  uint16_t length = 0;       ///< application data length from the header
  std::size_t frame_size = 0;  ///< 4 + length, padded to 4 when padding was present
};

/// Recognises a ChannelData message filling [data, data+len): 4 + length bytes, plus at most 3 pad bytes.
std::optional<ChannelDataInfo> parse_turn_channel_data(const uint8_t* data, std::size_t len) noexcept;

/// How STUN messages are laid out inside one TCP segment.
enum class StunTcpFraming : uint8_t { Plain, Rfc4571 };

/// Result of walking a TCP segment that holds STUN messages back to back.
struct StunTcpFrames {
  StunTcpFraming framing = StunTcpFraming::Plain;
  uint16_t stun_messages = 0;   ///< complete STUN messages found
  uint16_t channel_data = 0;    ///< complete ChannelData messages found (Plain framing only)
  std::size_t consumed = 0;     ///< bytes covered by complete messages
  bool trailing_partial = false;  ///< the segment ends inside a message whose header looked valid
  StunInfo first;               ///< the first STUN message
};

/// Walks a TCP segment made of STUN messages, either plain back to back (RFC 5389 §7.2.2, with
/// ChannelData between them) or each preceded by a 2-byte length (RFC 4571). Needs at least one
/// complete STUN message at offset 0 (after the length prefix for RFC 4571).
std::optional<StunTcpFrames> stun_tcp_frames(const uint8_t* data, std::size_t len) noexcept;

}  // namespace sealscope::classify
