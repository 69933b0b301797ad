#pragma once
// TLS ClientHello / ServerHello parsing (RFC 8446 §4.1.2-4.1.3, RFC 5246 §7.4.1, extensions from
// RFC 6066 SNI, RFC 7301 ALPN, RFC 8422 groups/point formats, RFC 9001 §8.2 QUIC transport
// parameters), JA3/JA3S fingerprints (salesforce/ja3: GREASE values of RFC 8701 left out), and a
// fixed-capacity per-flow reassembler for hellos spread over several TCP segments or records.
// Handshake metadata only; nothing is allocated. Hand-written: TLS libraries (OpenSSL, GnuTLS) parse a
// hello only inside a handshake of their own, nDPI 4.2 keeps its parse inside the flow it dissects, and
// the one packaged library that dissects captured TLS (libwireshark) is a whole dissector engine that
// allocates per packet, not a parser for a packet path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sealscope::classify {

inline constexpr std::size_t kTlsNameCap = 256;      ///< SNI bytes kept (with NUL)
inline constexpr std::size_t kTlsAlpnMax = 8;        ///< ALPN protocols kept
inline constexpr std::size_t kTlsAlpnCap = 32;       ///< bytes kept per ALPN protocol (with NUL)
inline constexpr std::size_t kTlsMaxCiphers = 128;
inline constexpr std::size_t kTlsMaxExtensions = 64;
inline constexpr std::size_t kTlsMaxGroups = 64;
inline constexpr std::size_t kTlsMaxPointFormats = 16;
inline constexpr std::size_t kTlsMaxSigAlgs = 64;
inline constexpr std::size_t kTlsMaxVersions = 16;
inline constexpr std::size_t kTlsJa3Cap = 1536;

/// True for the RFC 8701 GREASE code points (0x0a0a, 0x1a1a, ..., 0xfafa).
constexpr bool tls_is_grease(uint16_t v) noexcept { return (v & 0x0F0Fu) == 0x0A0Au && (v >> 8) == (v & 0xFFu); }

/// What one ClientHello or ServerHello says. Lists hold wire values in order (GREASE included);
/// when a list is longer than its capacity the *_overflow flag is set and JA3 is left empty.
struct TlsHello {
  bool is_client = true;
  bool hello_retry_request = false;  ///< ServerHello carrying the RFC 8446 §4.1.3 HRR random
  uint16_t record_version = 0;       ///< from the first record header (0 for bare handshakes)
  uint16_t legacy_version = 0;       ///< client_version / server_version field
  uint16_t version = 0;  ///< negotiated/offered: highest non-GREASE supported_versions entry, else legacy

  std::array<char, kTlsNameCap> sni{};  ///< NUL-terminated, truncated
  uint16_t sni_len = 0;                 ///< length on the wire (0 = none)
  std::array<std::array<char, kTlsAlpnCap>, kTlsAlpnMax> alpn{};
  uint8_t alpn_count = 0;  ///< entries stored (at most kTlsAlpnMax)

  std::array<uint16_t, kTlsMaxCiphers> ciphers{};  ///< ClientHello suites, or the ServerHello suite
  uint16_t cipher_count = 0;
  std::array<uint16_t, kTlsMaxExtensions> extensions{};
  uint16_t extension_count = 0;
  std::array<uint16_t, kTlsMaxGroups> groups{};  ///< supported_groups (elliptic curves)
  uint16_t group_count = 0;
  std::array<uint8_t, kTlsMaxPointFormats> point_formats{};
  uint16_t point_format_count = 0;
  std::array<uint16_t, kTlsMaxSigAlgs> sig_algs{};
  uint16_t sig_alg_count = 0;
  std::array<uint16_t, kTlsMaxVersions> supported_versions{};
  uint16_t supported_version_count = 0;
  bool overflow = false;  ///< some list exceeded its capacity

  bool has_quic_transport_params = false;  ///< extension 0x39 (RFC 9001) or 0xffa5 (drafts)
  bool has_session_ticket = false;
  bool has_pre_shared_key = false;
  bool has_early_data = false;
  bool has_ech = false;  ///< encrypted_client_hello 0xfe0d

  std::array<char, kTlsJa3Cap> ja3{};   ///< JA3 (client) or JA3S (server) string
  std::array<char, 33> ja3_md5{};       ///< lowercase hex MD5 of ja3, "" if not computed
};

/// Parses a bare handshake message (type 1 ClientHello or 2 ServerHello, 4-byte header) that must be
/// complete within [data, data+len); the form QUIC CRYPTO frames carry.
std::optional<TlsHello> parse_handshake_hello(const uint8_t* data, std::size_t len) noexcept;

/// Same as parse_handshake_hello but only accepts a ClientHello.
std::optional<TlsHello> parse_client_hello_body(const uint8_t* data, std::size_t len) noexcept;

/// Parses the start of a TLS record stream: handshake records (type 22) whose first handshake message
/// is a ClientHello or ServerHello complete inside the first record. For hellos spread over several
/// records or segments use TlsHelloReassembler.
std::optional<TlsHello> parse_tls_records(const uint8_t* data, std::size_t len) noexcept;

/// Per-flow-direction reassembler: feed in-order TCP payload from the stream start; it strips record
/// headers and gathers the first handshake message in a fixed buffer owned by the caller's object.
class TlsHelloReassembler {
 public:
  static constexpr std::size_t kCapacity = 16 * 1024;
  enum class Status : uint8_t {
    NeedMore,  ///< consistent so far, hello not complete
    Complete,  ///< hello() is available
    NotTls,    ///< the stream does not start with a handshake record carrying a hello
    Overflow,  ///< hello larger than kCapacity
    Invalid,   ///< complete but malformed hello
  };
  /// Appends in-order payload; returns the new status (sticky once not NeedMore).
  Status append(const uint8_t* data, std::size_t len) noexcept;
  Status status() const noexcept { return status_; }
  /// The parsed hello once status() == Complete.
  const std::optional<TlsHello>& hello() const noexcept { return hello_; }
  /// Back to the initial state.
  void reset() noexcept;

 private:
  Status fail(Status s) noexcept;
  std::array<uint8_t, kCapacity> buf_{};
  std::size_t have_ = 0;             ///< handshake bytes gathered
  std::array<uint8_t, 5> rec_hdr_{};  ///< pending record header bytes
  std::size_t rec_hdr_have_ = 0;
  std::size_t rec_left_ = 0;          ///< handshake bytes left in the current record
  uint16_t record_version_ = 0;
  Status status_ = Status::NeedMore;
  std::optional<TlsHello> hello_;
};

}  // namespace sealscope::classify
