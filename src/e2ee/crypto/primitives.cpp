#include "crypto/primitives.hpp"

#include <sodium.h>

#include <cstring>
#include <mutex>

namespace sealscope::e2ee::crypto {

void init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (sodium_init() < 0) throw CryptoError("libsodium initialisation failed");
    });
}

Bytes random_bytes(std::size_t n) {
    init();
    Bytes out(n);
    if (n > 0) randombytes_buf(out.data(), n);
    return out;
}

Key32 random_key() {
    init();
    Key32 k;
    randombytes_buf(k.data(), k.size());
    return k;
}

std::uint32_t random_uniform(std::uint32_t bound) {
    init();
    return bound == 0 ? 0 : randombytes_uniform(bound);
}

DhKeyPair DhKeyPair::generate() { return from_private(random_key()); }

DhKeyPair DhKeyPair::from_private(const Key32& priv) {
    init();
    DhKeyPair kp;
    kp.priv = priv;
    crypto_scalarmult_base(kp.pub.data(), kp.priv.data());
    return kp;
}

std::optional<Key32> x25519(const Key32& priv, const Key32& pub) {
    Key32 out;
    if (crypto_scalarmult(out.data(), priv.data(), pub.data()) != 0) return std::nullopt;
    return out;
}

SignKeyPair SignKeyPair::generate() {
    init();
    SignKeyPair kp;
    crypto_sign_keypair(kp.pub.data(), kp.priv.data());
    return kp;
}

Key32 SignKeyPair::x25519_priv() const {
    Key32 out;
    crypto_sign_ed25519_sk_to_curve25519(out.data(), priv.data());
    return out;
}

std::optional<Key32> ed25519_pub_to_x25519(const Key32& ed_pub) {
    init();
    Key32 out;
    if (crypto_sign_ed25519_pk_to_curve25519(out.data(), ed_pub.data()) != 0) return std::nullopt;
    return out;
}

std::array<std::uint8_t, 64> sign(const SignKeyPair& kp, ByteView msg) {
    std::array<std::uint8_t, 64> sig;
    crypto_sign_detached(sig.data(), nullptr, msg.data(), msg.size(), kp.priv.data());
    return sig;
}

bool verify(const Key32& pub, ByteView msg, ByteView sig) {
    if (sig.size() != crypto_sign_BYTES) return false;
    return crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), pub.data()) == 0;
}

Key32 sha256(ByteView data) {
    Key32 out;
    crypto_hash_sha256(out.data(), data.data(), data.size());
    return out;
}

Key32 hmac_sha256(ByteView key, ByteView data) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key.data(), key.size());
    crypto_auth_hmacsha256_update(&st, data.data(), data.size());
    Key32 out;
    crypto_auth_hmacsha256_final(&st, out.data());
    return out;
}

// RFC 5869 HKDF, written here on libsodium's HMAC-SHA256: Debian 12's libsodium 1.0.18 has no HKDF
// (crypto_kdf_hkdf_* arrived in 1.0.19). nettle, GnuTLS and OpenSSL 3 have one, but each would add a
// second crypto library beside libsodium for these ~15 lines.
Bytes hkdf(ByteView salt, ByteView ikm, std::string_view info, std::size_t length) {
    if (length > 255 * 32) throw CryptoError("hkdf: output too long");
    Key32 zero{};
    const Key32 prk = hmac_sha256(salt.empty() ? ByteView(zero) : salt, ikm);
    Bytes out;
    Bytes block;
    for (std::uint8_t counter = 1; out.size() < length; ++counter) {
        Bytes input = block;
        append(input, view(info));
        input.push_back(counter);
        const Key32 t = hmac_sha256(prk, input);
        block.assign(t.begin(), t.end());
        append(out, block);
    }
    out.resize(length);
    return out;
}

namespace {
std::array<std::uint8_t, 12> noise_nonce(std::uint64_t n) {
    std::array<std::uint8_t, 12> nonce{};
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
    return nonce;
}
} // namespace

Bytes aead_encrypt(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView plaintext) {
    const auto iv = noise_nonce(nonce);
    Bytes out(plaintext.size() + crypto_aead_chacha20poly1305_ietf_ABYTES);
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, plaintext.data(), plaintext.size(), ad.data(),
                                              ad.size(), nullptr, iv.data(), key.data());
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::optional<Bytes> aead_decrypt(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView ciphertext) {
    if (ciphertext.size() < crypto_aead_chacha20poly1305_ietf_ABYTES) return std::nullopt;
    const auto iv = noise_nonce(nonce);
    Bytes out(ciphertext.size() - crypto_aead_chacha20poly1305_ietf_ABYTES);
    unsigned long long len = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, ciphertext.data(), ciphertext.size(),
                                                  ad.data(), ad.size(), iv.data(), key.data()) != 0)
        return std::nullopt;
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::string to_hex(ByteView data) {
    std::string out(data.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
    out.resize(data.size() * 2);
    return out;
}

Bytes from_hex(std::string_view hex) {
    Bytes out(hex.size() / 2 + 1);
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
        end != hex.data() + hex.size())
        throw CryptoError("bad hex string");
    out.resize(len);
    return out;
}

std::string to_b64(ByteView data) {
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_ENCODED_LEN(data.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), variant);
    out.resize(std::strlen(out.c_str()));
    return out;
}

Bytes from_b64(std::string_view b64) {
    Bytes out(b64.size() / 4 * 3 + 3);
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64.data() + b64.size())
        throw CryptoError("bad base64 string");
    out.resize(len);
    return out;
}

Key32 to_key(ByteView data) {
    if (data.size() != 32) throw CryptoError("expected a 32-byte key");
    Key32 k;
    std::memcpy(k.data(), data.data(), 32);
    return k;
}

} // namespace sealscope::e2ee::crypto
