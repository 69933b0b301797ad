#pragma once
// QUIC long headers (RFC 9000 §17.2, RFC 8999 invariants), Initial packet protection (RFC 9001 §5:
// HKDF-SHA256 key schedule, AES-128-ECB header protection, AEAD_AES_128_GCM) for QUIC v1, v2
// (RFC 9369: own salt, "quicv2 *" labels, rotated packet type bits) and drafts 29-32, frame walking
// (RFC 9000 §19), and CRYPTO stream reassembly by offset across coalesced packets and datagrams in
// any order, handing the ClientHello to parse_client_hello_body. Crypto is libgcrypt; its handles
// are opened once per thread, so the per-packet path does not allocate.
// Hand-written: Debian 12's libngtcp2 0.12 decodes packet headers, but its Initial-packet crypto helpers
// (libngtcp2-crypto-gnutls) install keys into an ngtcp2_conn and need GnuTLS crypto context objects; its
// public API has no function deriving the Initial secrets from a DCID, which a passive observer needs.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "classify/tls_hello.hpp"

namespace sealscope::classify {

inline constexpr uint32_t kQuicVersion1 = 0x00000001u;
inline constexpr uint32_t kQuicVersion2 = 0x6b3343cfu;   ///< RFC 9369
inline constexpr uint32_t kQuicDraft29 = 0xff00001du;
inline constexpr std::size_t kQuicMaxCid = 20;

/// Long-header packet types, independent of the version's bit encoding.
enum class QuicPacketType : uint8_t { Initial, ZeroRtt, Handshake, Retry, VersionNegotiation, Unknown };

/// A parsed long header. For versions this code does not know, only the invariant fields are filled
/// (type Unknown, packet_size = rest of the datagram).
struct QuicLongHeader {
  uint8_t first_byte = 0;  ///< as on the wire (still header-protected)
  uint32_t version = 0;
  QuicPacketType type = QuicPacketType::Unknown;
  uint8_t dcid_len = 0;
  std::array<uint8_t, kQuicMaxCid> dcid{};
  uint8_t scid_len = 0;
  std::array<uint8_t, kQuicMaxCid> scid{};
  std::size_t token_offset = 0;  ///< Initial only
  std::size_t token_len = 0;
  uint64_t length = 0;           ///< Length field: packet number + protected payload
  std::size_t pn_offset = 0;     ///< where the (protected) packet number starts
  std::size_t packet_size = 0;   ///< bytes of this packet within the datagram (coalescing step)
};

/// True for versions whose Initial protection this code implements (v1, v2, drafts 29-32).
bool quic_initial_supported(uint32_t version) noexcept;

/// Parses the long header at data[0]; nullopt for short headers, truncation or bad lengths.
std::optional<QuicLongHeader> parse_quic_long_header(const uint8_t* data, std::size_t len) noexcept;

/// AEAD key, IV and header-protection key of one direction's Initial packets.
struct QuicInitialKeys {
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
};

/// Derives Initial keys from the client's first Destination Connection ID (RFC 9001 §5.2).
bool quic_derive_initial_keys(uint32_t version, const uint8_t* dcid, std::size_t dcid_len, bool client_side,
                              QuicInitialKeys& out) noexcept;

/// Result of removing packet protection.
struct QuicDecrypted {
  uint64_t packet_number = 0;  ///< truncated packet number as sent (no previous packets known)
  uint8_t pn_len = 0;
  std::size_t payload_len = 0;  ///< plaintext frames written to out
};

/// Removes header protection and decrypts one Initial (or Handshake/0-RTT with matching keys) packet
/// whose header h was parsed from packet; writes the frames to out. nullopt on any failure (tag included).
std::optional<QuicDecrypted> quic_decrypt_packet(const uint8_t* packet, std::size_t len, const QuicLongHeader& h,
                                                 const QuicInitialKeys& keys, uint8_t* out,
                                                 std::size_t out_cap) noexcept;

/// Applies protection to a plaintext long-header packet (header bytes through the packet number,
/// then frames); writes header + ciphertext + tag to out. For building test traffic and synthetic
/// captures. Returns the bytes written, 0 on failure.
std::size_t quic_protect_packet(const uint8_t* header, std::size_t header_len, std::size_t pn_offset,
                                const uint8_t* payload, std::size_t payload_len, const QuicInitialKeys& keys,
                                uint8_t* out, std::size_t out_cap) noexcept;

/// Reads a QUIC variable-length integer (RFC 9000 §16) at off, advancing it.
bool quic_read_varint(const uint8_t* data, std::size_t len, std::size_t& off, uint64_t& out) noexcept;

/// Collects the CRYPTO stream by offset into a fixed buffer (overlaps and any order are fine) and
/// says when the first handshake message is complete.
class QuicCryptoReassembler {
 public:
  static constexpr std::size_t kCapacity = 16 * 1024;
  /// Stores [offset, offset+len) as far as it fits; returns false when some bytes were beyond capacity.
  bool add(uint64_t offset, const uint8_t* data, std::size_t len) noexcept;
  /// Bytes available contiguously from offset 0.
  std::size_t contiguous() const noexcept { return contiguous_; }
  const uint8_t* data() const noexcept { return buf_.data(); }
  /// Size of the first handshake message (4 + body) once its header is in, else 0.
  std::size_t message_size() const noexcept;
  /// True when the first handshake message is fully present.
  bool message_complete() const noexcept;
  void reset() noexcept;

 private:
  std::array<uint8_t, kCapacity> buf_{};
  std::array<uint8_t, kCapacity / 8> have_{};
  std::size_t contiguous_ = 0;
};

/// Counts from one frame walk.
struct QuicFrameStats {
  uint16_t padding = 0, ping = 0, ack = 0, crypto = 0, other = 0;
  bool connection_close = false;
  bool crypto_overflow = false;  ///< CRYPTO data beyond the reassembler's capacity
};

/// Walks decrypted frames, feeding CRYPTO frames to crypto; false on an unknown or malformed frame.
bool quic_walk_frames(const uint8_t* data, std::size_t len, QuicCryptoReassembler& crypto,
                      QuicFrameStats& stats) noexcept;

/// Per-flow client-side Initial processing: feed each client→server UDP payload; it decrypts the
/// coalesced Initial packets, reassembles CRYPTO data and parses the ClientHello once complete.
class QuicInitialParser {
 public:
  enum class Status : uint8_t {
    NotQuic,   ///< nothing decryptable seen yet
    NeedMore,  ///< Initial(s) decrypted, ClientHello incomplete
    Complete,  ///< hello() available
    Failed,    ///< ClientHello malformed or larger than the buffer
  };
  /// Feeds one datagram payload from the client.
  Status feed(const uint8_t* data, std::size_t len) noexcept;
  Status status() const noexcept { return status_; }
  /// The ClientHello once status() == Complete.
  const std::optional<TlsHello>& hello() const noexcept { return hello_; }
  /// Version of the first decrypted Initial (0 until then).
  uint32_t version() const noexcept { return version_; }
  uint32_t initial_packets() const noexcept { return initial_packets_; }
  uint32_t decrypt_failures() const noexcept { return decrypt_failures_; }
  void reset() noexcept;

  static constexpr std::size_t kMaxPacket = 4096;  ///< larger Initial packets are not decrypted

 private:
  QuicCryptoReassembler crypto_;
  std::array<uint8_t, kMaxPacket> plain_{};
  QuicInitialKeys keys_{};
  uint32_t keys_version_ = 0;
  uint8_t keys_dcid_len_ = 0xFF;  ///< 0xFF: no keys derived yet
  std::array<uint8_t, kQuicMaxCid> keys_dcid_{};
  Status status_ = Status::NotQuic;
  std::optional<TlsHello> hello_;
  uint32_t version_ = 0;
  uint32_t initial_packets_ = 0;
  uint32_t decrypt_failures_ = 0;
};

}  // namespace sealscope::classify
