#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sealscope::e2ee::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Key32 = std::array<std::uint8_t, 32>;

/// Thrown for control-plane crypto failures (bad key material, library init).
class CryptoError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Initialise libsodium once; safe to call repeatedly from any thread.
void init();

/// Uniformly random bytes from the OS generator.
Bytes random_bytes(std::size_t n);
/// A random 32-byte array.
Key32 random_key();
/// Uniform random integer in [0, bound).
std::uint32_t random_uniform(std::uint32_t bound);

/// X25519 key pair (Montgomery form, raw 32-byte keys).
struct DhKeyPair {
    Key32 pub{};
    Key32 priv{};
    /// Fresh random key pair.
    static DhKeyPair generate();
    /// Key pair whose public key is derived from a given private key (test vectors).
    static DhKeyPair from_private(const Key32& priv);
};

/// X25519(priv, pub); nullopt when the result is all-zero (low-order point).
std::optional<Key32> x25519(const Key32& priv, const Key32& pub);

/// Ed25519 signing key pair; also usable for X25519 through the birational map.
struct SignKeyPair {
    Key32 pub{};
    std::array<std::uint8_t, 64> priv{};
    /// Fresh random signing key pair.
    static SignKeyPair generate();
    /// The X25519 private key corresponding to this Ed25519 key.
    Key32 x25519_priv() const;
};

/// The X25519 public key corresponding to an Ed25519 public key; nullopt if invalid.
std::optional<Key32> ed25519_pub_to_x25519(const Key32& ed_pub);
/// Detached Ed25519 signature.
std::array<std::uint8_t, 64> sign(const SignKeyPair& kp, ByteView msg);
/// Verify a detached Ed25519 signature.
bool verify(const Key32& pub, ByteView msg, ByteView sig);

/// SHA-256 digest.
Key32 sha256(ByteView data);
/// HMAC-SHA256 with a key of any length.
Key32 hmac_sha256(ByteView key, ByteView data);
/// RFC 5869 HKDF-SHA256 producing `length` bytes.
Bytes hkdf(ByteView salt, ByteView ikm, std::string_view info, std::size_t length);

/// ChaCha20-Poly1305 (IETF) with a Noise-style nonce: 4 zero bytes then `nonce` little-endian.
Bytes aead_encrypt(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView plaintext);
/// Inverse of aead_encrypt; nullopt when authentication fails.
std::optional<Bytes> aead_decrypt(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView ciphertext);

/// Lower-case hex encoding.
std::string to_hex(ByteView data);
/// Hex decoding; throws CryptoError on bad input.
Bytes from_hex(std::string_view hex);
/// Standard base64 (with padding).
std::string to_b64(ByteView data);
/// Base64 decoding; throws CryptoError on bad input.
Bytes from_b64(std::string_view b64);
/// Key32 from bytes; throws CryptoError unless exactly 32 bytes.
Key32 to_key(ByteView data);

/// Byte view over a string's characters.
inline ByteView view(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Append bytes to a buffer.
inline void append(Bytes& out, ByteView data) { out.insert(out.end(), data.begin(), data.end()); }
/// Append a big-endian 32-bit value.
inline void append_u32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
/// Read a big-endian 32-bit value at `at` (caller checks bounds).
inline std::uint32_t read_u32(ByteView in, std::size_t at) {
    return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
           (std::uint32_t{in[at + 2]} << 8) | std::uint32_t{in[at + 3]};
}

} // namespace sealscope::e2ee::crypto
