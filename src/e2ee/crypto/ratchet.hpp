#pragma once
// X3DH and the Double Ratchet (Signal's specifications) on libsodium's primitives. Written here rather
// than taken from Debian's libsignal-protocol-c 2.3.3: that library's upstream was archived in 2023 and
// it is no longer maintained, it wants every cipher, MAC and random source supplied through callbacks,
// and it brings its own protobuf wire format, where sealchat's is documented in src/e2ee/WIRE.md for
// the classifier. The algorithms are the specifications' pseudo-code; the cryptography is libsodium's,
// except HKDF: crypto::hkdf is ours, on libsodium's HMAC-SHA256 (see crypto/primitives.cpp).

#include "crypto/primitives.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <optional>
#include <utility>

namespace sealscope::e2ee::crypto::ratchet {

/// Most message keys skipped within one receiving chain (Signal spec MAX_SKIP).
inline constexpr std::uint32_t kMaxSkip = 1000;
/// Most skipped message keys kept in total; the oldest are dropped first.
inline constexpr std::size_t kMaxStoredSkipped = 2000;
/// Ratchet header: DH public key (32), previous chain length (4), message number (4).
inline constexpr std::size_t kHeaderLen = 40;

/// KDF_CK: (next chain key, message key) from a chain key.
std::pair<Key32, Key32> kdf_ck(const Key32& ck);
/// Decrypt one ratchet message body with a known message key (used by tests of forward secrecy).
std::optional<Bytes> decrypt_with_message_key(const Key32& mk, ByteView message, ByteView ad);

/// Why the last decrypt() failed (reported by the client, never silent).
enum class Failure {
    none,
    too_short,       ///< shorter than header + tag
    skip_bound,      ///< would skip more than kMaxSkip message keys in one chain (resource bound)
    old_message,     ///< message number already used, or its skipped key was dropped
    bad_key,         ///< the header's ratchet key is not a valid X25519 point
    authentication,  ///< ciphertext, header or associated data do not authenticate
};
/// Short name of a failure for logs.
const char* to_string(Failure f);

/// Double Ratchet session state (Signal "The Double Ratchet Algorithm", rev. 4).
class DoubleRatchet {
public:
    /// Initiator side ("Alice"): shared secret from X3DH and the responder's ratchet public key.
    static DoubleRatchet init_initiator(const Key32& sk, const Key32& remote_ratchet_pub);
    /// Responder side ("Bob"): shared secret and the key pair whose public half Alice used.
    static DoubleRatchet init_responder(const Key32& sk, const DhKeyPair& own_ratchet);

    /// Encrypt; returns header || AEAD ciphertext, authenticated with `ad` || header.
    Bytes encrypt(ByteView plaintext, ByteView ad);
    /// Decrypt; state is left untouched unless the message authenticates.
    std::optional<Bytes> decrypt(ByteView message, ByteView ad);

    /// Current sending chain key, if any (tests of forward secrecy).
    std::optional<Key32> sending_chain_key() const { return cks_; }
    /// Number of skipped message keys held.
    std::size_t skipped_count() const { return skipped_.size(); }
    /// Why the last decrypt() returned nullopt (none after a success).
    Failure last_failure() const { return last_failure_; }
    /// Skipped message keys dropped (oldest first) because kMaxStoredSkipped was reached.
    std::uint64_t evicted_skipped() const { return evicted_; }

    /// Serialise for the client's state file.
    nlohmann::json to_json() const;
    /// Inverse of to_json; throws on malformed input.
    static DoubleRatchet from_json(const nlohmann::json& j);

private:
    using SkipKey = std::pair<Key32, std::uint32_t>;
    Failure skip_message_keys(std::uint32_t until);
    bool dh_ratchet(const Key32& remote_pub);

    DhKeyPair dhs_;
    std::optional<Key32> dhr_;
    Key32 rk_{};
    std::optional<Key32> cks_;
    std::optional<Key32> ckr_;
    std::uint32_t ns_ = 0;
    std::uint32_t nr_ = 0;
    std::uint32_t pn_ = 0;
    std::map<SkipKey, Key32> skipped_;
    std::deque<SkipKey> skipped_order_;
    Failure last_failure_ = Failure::none;
    std::uint64_t evicted_ = 0;
};

/// A user's published prekey bundle, as served by the relay's directory.
struct PrekeyBundle {
    Key32 identity{};   ///< Ed25519 identity public key
    std::uint32_t signed_prekey_id = 0;
    Key32 signed_prekey{};  ///< X25519 public key
    std::array<std::uint8_t, 64> signature{};  ///< Ed25519 signature over signed_prekey
    std::optional<std::pair<std::uint32_t, Key32>> one_time_prekey;
};

/// Result of X3DH on the initiating side.
struct X3dhInitiator {
    Key32 shared_secret{};
    DhKeyPair ephemeral;
    Bytes associated_data;  ///< IK_A || IK_B (Ed25519 public keys)
};

/// X3DH (Signal spec) as initiator; nullopt when the bundle's signature or keys are invalid.
std::optional<X3dhInitiator> x3dh_initiate(const SignKeyPair& own_identity, const PrekeyBundle& bundle);
/// X3DH as responder; `one_time` is the private one-time prekey if the initiator used one.
std::optional<Key32> x3dh_respond(const SignKeyPair& own_identity, const DhKeyPair& signed_prekey,
                                  const std::optional<DhKeyPair>& one_time, const Key32& remote_identity,
                                  const Key32& remote_ephemeral);

/// Pad to the next size bucket (160 * 2^k bytes) with 0x80 then zeros.
Bytes pad_bucket(ByteView plaintext);
/// Pad to a Padmé length (Nikitin et al. 2019) with 0x80 then zeros; for attachments.
Bytes pad_padme(ByteView plaintext);
/// Remove 0x80-then-zeros padding; nullopt when malformed.
std::optional<Bytes> unpad(ByteView padded);
/// The Padmé padded length for a payload of `length` bytes.
std::uint64_t padme_length(std::uint64_t length);

} // namespace sealscope::e2ee::crypto::ratchet
