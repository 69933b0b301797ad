#pragma once
// The Noise XX handshake and transport (the Noise Protocol Framework) on libsodium's X25519,
// ChaCha20-Poly1305, SHA-256 and HMAC-SHA256. Written here because Debian 12 packages no Noise library for
// C or C++ (only Python and Go ones): the state machine is the protocol's own few pages. Noise's HKDF
// (MixKey, Split) is ours, a few calls of libsodium's HMAC: libsodium 1.0.18 has no HKDF.

#include "crypto/primitives.hpp"

#include <optional>
#include <utility>

namespace sealscope::e2ee::crypto::noise {

/// The only protocol this module implements.
inline constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";
/// Largest Noise message (spec section 3).
inline constexpr std::size_t kMaxMessage = 65535;
/// AEAD tag length.
inline constexpr std::size_t kTagLen = 16;

/// Noise CipherState: a key and a 64-bit nonce counter.
class CipherState {
public:
    /// Install a key and reset the nonce.
    void initialize_key(const Key32& k);
    /// True once a key is installed.
    bool has_key() const { return has_key_; }
    /// EncryptWithAd; passes plaintext through when no key is set.
    Bytes encrypt_with_ad(ByteView ad, ByteView plaintext);
    /// DecryptWithAd; nullopt on authentication failure (nonce not consumed).
    std::optional<Bytes> decrypt_with_ad(ByteView ad, ByteView ciphertext);
    /// The next nonce value (tests).
    std::uint64_t nonce() const { return n_; }

private:
    Key32 k_{};
    bool has_key_ = false;
    std::uint64_t n_ = 0;
};

/// Noise XX handshake state for one side.
class HandshakeState {
public:
    /// `fixed_ephemeral` is only for reproducing published test vectors.
    HandshakeState(bool initiator, ByteView prologue, const DhKeyPair& s,
                   std::optional<DhKeyPair> fixed_ephemeral = std::nullopt);

    /// Produce this side's next handshake message; throws CryptoError when out of turn.
    Bytes write_message(ByteView payload);
    /// Consume the peer's next handshake message; nullopt (and failed()) on any error.
    std::optional<Bytes> read_message(ByteView message);
    /// True after all three messages.
    bool complete() const { return step_ == 3 && !failed_; }
    /// True once a message was rejected; the handshake cannot continue.
    bool failed() const { return failed_; }
    /// True when this side writes the next message.
    bool my_turn() const { return !failed_ && step_ < 3 && ((step_ % 2 == 0) == initiator_); }
    /// Handshake hash h (channel binding).
    const Key32& handshake_hash() const { return h_; }
    /// The peer's static public key (valid once received).
    const Key32& remote_static() const { return rs_; }
    /// Split into (send, receive) cipher states for this side.
    std::pair<CipherState, CipherState> split() const;

private:
    void mix_hash(ByteView data);
    void mix_key(const Key32& ikm);
    Bytes encrypt_and_hash(ByteView plaintext);
    std::optional<Bytes> decrypt_and_hash(ByteView ciphertext);
    std::optional<Key32> dh(const Key32& priv, const Key32& pub);

    bool initiator_;
    int step_ = 0;
    bool failed_ = false;
    Key32 ck_{};
    Key32 h_{};
    CipherState cs_;
    DhKeyPair s_;
    DhKeyPair e_;
    std::optional<DhKeyPair> fixed_e_;
    Key32 re_{};
    Key32 rs_{};
};

} // namespace sealscope::e2ee::crypto::noise
