#pragma once

#include "crypto/primitives.hpp"
#include "wire/socket.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace sealscope::e2ee::client {

/// Everything one side needs to run the media of a call through the relay.
struct CallParams {
    wire::Endpoint relay;       ///< the relay's address the chat connection reached (Client::relay_endpoint)
    std::uint16_t udp_port = 0; ///< the relay's media port there
    std::array<std::uint8_t, 16> token{};
    int leg = 0;               ///< 0 = caller, 1 = callee
    crypto::Bytes srtp_key;    ///< 30-byte SRTP master key || salt, exchanged end to end
    double seconds = 10;
    bool video = false;
    std::uint32_t seed = 1;    ///< synthetic voice variation
    /// DEBUG ONLY (null-cipher mode): libsrtp2's NULL cipher and NULL auth, so the datagrams carry plain RTP
    /// (Opus payload in the clear, no tag) and RTCP with only the SRTCP index; `srtp_key` is unused.
    bool null_cipher = false;
};

/// The "srtp_profile" a call offer names in null-cipher mode (absent in normal offers).
inline constexpr const char* kNullSrtpProfile = "NULL_NULL";

/// What happened on the media path of one side.
struct CallStats {
    std::uint64_t rtp_sent = 0, rtp_received = 0;
    std::uint64_t rtcp_sent = 0, rtcp_received = 0;
    std::uint64_t audio_decoded = 0, video_sent = 0, video_received = 0;
    std::uint64_t auth_failures = 0;
    std::uint64_t silent_frames = 0;
};

/// Fresh SRTP master key and salt (AES_CM_128_HMAC_SHA1_80: 16 + 14 bytes).
crypto::Bytes new_srtp_master();
/// Run the media of one call leg for `seconds` (blocking): Opus every 20 ms, RTCP every ~5 s, SRTP (null SRTP
/// with `p.null_cipher`).
CallStats run_call(const CallParams& p);

} // namespace sealscope::e2ee::client
