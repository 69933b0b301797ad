#pragma once
// Start of a WhatsApp chat connection (TCP 443/5222, client to server), from its public framing.
//
// Facts (from public sources; no code taken from them):
//  - The client sends a connection header "WA" + two bytes (a protocol magic/major and the binary
//    dictionary version) once, then frames, each a 3-byte big-endian length + body.
//    whatsmeow socket/constants.go: WAConnHeader = {'W','A',WAMagicValue=5,token.DictVersion},
//    FrameLengthSize = 3; socket/framesocket.go writes header (once) + 3-byte length + data.
//  - Since 2022 the mobile clients put an edge-routing pre-header in front: "ED" 0x00 0x01, a 3-byte
//    big-endian length, the routing info bytes (a small protobuf, e.g. 08 0d 08 0c), then the "WA"
//    header. (whatsapp-rust "build_edge_routing_preintro": `ED\0\1` + 3-byte length + routing data;
//    nDPI src/lib/protocols/whatsapp.c matches "ED\0\1\0\0\4\x08" and "ED\0\1\0\0\2\x08"; the
//    default routing info "CA0IDA==" base64 = 08 0d 08 0c in public registration tools.)
//  - The first frame is the Noise handshake's first message, a protobuf HandshakeMessage whose field 2
//    (ClientHello, tag 0x12) holds field 1 = ephemeral X25519 key (tag 0x0a, 32 bytes); for
//    Noise_XX that is all (frame of 36 bytes), for the resuming Noise_IK form field 2 = encrypted static
//    key (tag 0x12, 32 + 16 tag = 48 bytes) and field 3 = encrypted payload (tag 0x1a) follow.
//    The server answers with field 3 (ServerHello, tag 0x1a) holding its ephemeral (0x0a, 32 bytes),
//    then sealed static and payload (a resumed session was seen answering with a 16-byte field 2).
//    (whatsmeow socket/noisehandshake.go, Noise_XX_25519_AESGCM_SHA256 start pattern; Baileys
//    WAProto HandshakeMessage.)
//  - The 2015-era clients sent "WA" 0x01 0x05 followed by FunXMPP frames (3-byte length, body starting
//    with the list token 0xf8) — nDPI keeps "WA\x01\x05" for old captures.
// The TCP segmentation of this start varies (e.g. "ED\0\1" alone in the first segment), so these
// functions take the concatenated first bytes of the client's stream; WaStreamPrefix collects them.

#include <array>
#include <cstddef>
#include <cstdint>

namespace sealscope::classify {

/// Outcome of examining the first bytes of a stream.
enum class WaWireStatus : uint8_t { NeedMore, Match, NoMatch };

/// Which of the documented forms the stream starts with.
enum class WaWireForm : uint8_t { None, Plain, EdgeRouted };

/// What the first frame holds.
enum class WaHandshake : uint8_t { Unknown, NoiseXX, NoiseIK, LegacyFunXmpp };

/// Result of parse_whatsapp_stream_start.
struct WaWireInfo {
  WaWireStatus status = WaWireStatus::NoMatch;
  WaWireForm form = WaWireForm::None;
  WaHandshake handshake = WaHandshake::Unknown;
  uint8_t wa_magic = 0;         ///< third byte of the "WA" header
  uint8_t wa_dict = 0;          ///< fourth byte (dictionary version)
  uint32_t routing_len = 0;     ///< edge-routing info length (EdgeRouted form)
  uint32_t first_frame_len = 0;  ///< body length of the first frame
  std::size_t bytes_used = 0;    ///< prologue + first frame (valid for Match)
};

/// Examines the concatenated first bytes of a client→server TCP stream. NeedMore when all bytes so far
/// fit the structure but the first frame is not complete yet; Match only when the prologue and a
/// complete, internally consistent first handshake frame are present.
WaWireInfo parse_whatsapp_stream_start(const uint8_t* data, std::size_t len) noexcept;

/// Checks the server's first frame (3-byte length + HandshakeMessage.serverHello with a 32-byte
/// ephemeral); NeedMore / Match / NoMatch as above.
WaWireStatus parse_whatsapp_server_hello(const uint8_t* data, std::size_t len) noexcept;

/// Collects the first bytes of one direction of a TCP stream (in order, caller handles reordering)
/// into a fixed buffer, so the parsers above can see prologues split across segments.
class WaStreamPrefix {
 public:
  static constexpr std::size_t kCapacity = 2048;
  /// Appends in-order payload; returns false (and keeps what fits) once the buffer is full.
  bool append(const uint8_t* data, std::size_t len) noexcept;
  const uint8_t* data() const noexcept { return buf_.data(); }
  std::size_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ == kCapacity; }
  void clear() noexcept { size_ = 0; }

 private:
  std::array<uint8_t, kCapacity> buf_{};
  std::size_t size_ = 0;
};

}  // namespace sealscope::classify
