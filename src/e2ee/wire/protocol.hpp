#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sealscope::e2ee::wire {

/// Default TCP port of the relay's chat (store-and-forward) service.
inline constexpr std::uint16_t kDefaultChatPort = 5443;
/// Default TCP port of the relay's blob store.
inline constexpr std::uint16_t kDefaultBlobPort = 5444;
/// Default UDP port of the relay's media forwarder.
inline constexpr std::uint16_t kDefaultMediaPort = 5445;

/// Channel kinds carried in the last prologue byte.
enum class Channel : std::uint8_t { chat = 0x00, blob = 0x01 };

/// First 4 bytes a client sends on every TCP connection ("SL", version 1, channel); also the Noise prologue.
inline constexpr std::array<std::uint8_t, 3> kPrologueHead = {0x53, 0x4C, 0x01};
/// Set in the channel byte by a client in the null-cipher debug mode (sealchat --null-cipher): everything
/// after the Noise handshake is plaintext. A relay refuses it unless started with --allow-null-cipher.
inline constexpr std::uint8_t kNullCipherFlag = 0x80;
/// Full prologue for a channel (normal mode: "SL" 01 00 / "SL" 01 01).
inline constexpr std::array<std::uint8_t, 4> prologue(Channel c, bool null_cipher = false) {
    return {kPrologueHead[0], kPrologueHead[1], kPrologueHead[2],
            static_cast<std::uint8_t>(static_cast<std::uint8_t>(c) | (null_cipher ? kNullCipherFlag : 0))};
}

/// Frames are a 2-byte big-endian length then that many bytes (one Noise message).
inline constexpr std::size_t kFrameHeader = 2;
/// Smallest legal frame body (a Noise transport message is at least its 16-byte tag).
inline constexpr std::size_t kMinFrame = 16;
/// Largest legal frame body (Noise's message limit).
inline constexpr std::size_t kMaxFrame = 65535;
/// Handshake message sizes with empty payloads: -> e, <- e ee s es, -> s se.
inline constexpr std::size_t kHandshake1 = 32, kHandshake2 = 96, kHandshake3 = 64;

/// Plaintext kind byte of a transport message: JSON control messages start with '{'.
inline constexpr std::uint8_t kKindJson = '{';
/// Plaintext kind byte of a raw blob chunk.
inline constexpr std::uint8_t kKindChunk = 0x01;
/// Largest blob chunk carried in one frame.
inline constexpr std::size_t kChunk = 32 * 1024;

/// UDP media header: magic, type, leg, reserved, 16-byte relay token; then an SRTP/SRTCP packet.
inline constexpr std::uint8_t kMediaMagic = 0x5C;
/// UDP header length.
inline constexpr std::size_t kMediaHeader = 20;
/// UDP packet types.
enum class MediaType : std::uint8_t { bind = 0x01, rtp = 0x02, rtcp = 0x03 };
/// Relay token length.
inline constexpr std::size_t kTokenLen = 16;

} // namespace sealscope::e2ee::wire
