#pragma once

#include "crypto/ratchet.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace sealscope::e2ee::client {

using crypto::Bytes;
using crypto::ByteView;
using crypto::Key32;

/// Envelope type bytes (first byte of what the relay stores). `plain` and `plain_sealed` exist only in the
/// null-cipher debug mode (sealchat --null-cipher): no encryption at all; other clients refuse them.
enum class EnvelopeType : std::uint8_t { prekey = 0x01, message = 0x02, sealed = 0x03, plain = 0x04, plain_sealed = 0x05 };

/// End-to-end session with one peer.
struct PeerSession {
    crypto::ratchet::DoubleRatchet ratchet;
    Bytes ad;                         ///< IK_initiator || IK_responder
    Key32 remote_identity{};          ///< peer's Ed25519 identity key
    std::optional<Bytes> prekey_header;  ///< sent with every message until the peer answers
    std::optional<Key32> base_key;    ///< initiator's X3DH ephemeral, identifies the session
};

/// A message decrypted but not shown yet: its envelope stays at the relay, unacknowledged, and cannot be
/// decrypted a second time (the ratchet moved on), so the plaintext waits in the account state.
struct HeldMessage {
    std::string from;
    nlohmann::json body;
    bool sealed = false;
};

/// A user's keys and sessions: everything the client persists. No network here.
class Account {
public:
    /// New identity, signed prekey and `one_time` one-time prekeys.
    static Account create(const std::string& user, std::size_t one_time = 20);
    /// Load from a JSON state file; throws on malformed input.
    static Account load(const std::string& path);
    /// Write the state file atomically (mode 0600).
    void save(const std::string& path) const;
    nlohmann::json to_json() const;
    static Account from_json(const nlohmann::json& j);

    /// The "register" request body (public keys only).
    nlohmann::json registration() const;
    /// Generate `n` more one-time prekeys; returns the public halves as [[id, b64], ...].
    nlohmann::json make_one_time_prekeys(std::size_t n);

    /// True if a session with `peer` exists.
    bool has_session(const std::string& peer) const { return sessions_.count(peer) != 0; }
    /// Start a session from a relay "bundle" reply; throws crypto::CryptoError when invalid.
    void start_session(const std::string& peer, const nlohmann::json& bundle);
    /// Pad and encrypt for `peer`; returns the envelope bytes.
    Bytes encrypt(const std::string& peer, ByteView plaintext);
    /// Decrypt an envelope from `peer` (type prekey or message); nullopt if it does not authenticate
    /// (last_decrypt_error() says why).
    std::optional<Bytes> decrypt(const std::string& peer, ByteView envelope);
    /// Why the last decrypt() failed; empty after a success.
    const std::string& last_decrypt_error() const { return last_error_; }
    /// Skipped message keys dropped by the last decrypt() because the per-session store was full.
    std::uint64_t last_evicted_skipped() const { return last_evicted_; }
    /// Wrap an envelope so the relay does not learn the sender (needs an existing session).
    Bytes seal(const std::string& peer, ByteView envelope) const;
    /// Open a sealed envelope: (sender name, inner envelope).
    std::optional<std::pair<std::string, Bytes>> unseal(ByteView sealed) const;

    /// Null-cipher debug mode: an envelope carrying the bucket-padded plaintext itself (type plain).
    static Bytes encrypt_null(ByteView plaintext);
    /// The plaintext of a plain envelope; nullopt when it is not a well-formed one.
    static std::optional<Bytes> decrypt_null(ByteView envelope);
    /// Null-cipher sealed sender: the sender's name and the inner envelope, unencrypted (type plain_sealed).
    Bytes seal_null(ByteView envelope) const;
    /// Open a plain_sealed envelope: (sender name, inner envelope).
    static std::optional<std::pair<std::string, Bytes>> unseal_null(ByteView sealed);

    /// Remember a processed relay envelope id; false if it was already seen.
    bool mark_processed(std::int64_t env_id);
    /// True if the relay envelope id was processed (shown, or dropped as undecryptable).
    bool processed(std::int64_t env_id) const { return processed_.count(env_id) != 0; }
    /// Keep a decrypted message that was not shown until a client takes it (see ClientConfig::take).
    void hold(std::int64_t env_id, HeldMessage m) { held_[env_id] = std::move(m); }
    /// The message held for a relay envelope id, if any.
    std::optional<HeldMessage> held(std::int64_t env_id) const;
    /// Forget a held message (it was shown).
    void release(std::int64_t env_id) { held_.erase(env_id); }

    const std::string& user() const { return user_; }
    const crypto::DhKeyPair& noise_key() const { return noise_; }
    const crypto::SignKeyPair& identity() const { return identity_; }

private:
    std::string user_;
    crypto::DhKeyPair noise_;
    crypto::SignKeyPair identity_;
    crypto::DhKeyPair spk_;
    std::uint32_t spk_id_ = 1;
    std::map<std::uint32_t, crypto::DhKeyPair> one_time_;
    std::uint32_t next_one_time_ = 1;
    std::map<std::string, PeerSession> sessions_;
    std::deque<std::int64_t> processed_order_;
    std::set<std::int64_t> processed_;
    std::map<std::int64_t, HeldMessage> held_;
    std::string last_error_;
    std::uint64_t last_evicted_ = 0;
};

} // namespace sealscope::e2ee::client
