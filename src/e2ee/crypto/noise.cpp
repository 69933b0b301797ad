#include "crypto/noise.hpp"

#include <algorithm>

namespace sealscope::e2ee::crypto::noise {

void CipherState::initialize_key(const Key32& k) {
    k_ = k;
    has_key_ = true;
    n_ = 0;
}

Bytes CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext) {
    if (!has_key_) return Bytes(plaintext.begin(), plaintext.end());
    if (n_ == UINT64_MAX) throw CryptoError("noise: nonce space exhausted");
    return aead_encrypt(k_, n_++, ad, plaintext);
}

std::optional<Bytes> CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext) {
    if (!has_key_) return Bytes(ciphertext.begin(), ciphertext.end());
    if (n_ == UINT64_MAX) return std::nullopt;
    auto out = aead_decrypt(k_, n_, ad, ciphertext);
    if (out) ++n_;
    return out;
}

HandshakeState::HandshakeState(bool initiator, ByteView prologue, const DhKeyPair& s,
                               std::optional<DhKeyPair> fixed_ephemeral)
    : initiator_(initiator), s_(s), fixed_e_(std::move(fixed_ephemeral)) {
    init();
    // The protocol name is exactly HASHLEN bytes, so h is the name itself (spec 5.2).
    static_assert(kProtocolName.size() == 32);
    std::copy(kProtocolName.begin(), kProtocolName.end(), h_.begin());
    ck_ = h_;
    mix_hash(prologue);
}

void HandshakeState::mix_hash(ByteView data) {
    Bytes buf(h_.begin(), h_.end());
    append(buf, data);
    h_ = sha256(buf);
}

void HandshakeState::mix_key(const Key32& ikm) {
    const Key32 temp = hmac_sha256(ck_, ikm);
    const std::uint8_t one = 1;
    ck_ = hmac_sha256(temp, ByteView(&one, 1));
    Bytes second(ck_.begin(), ck_.end());
    second.push_back(2);
    cs_.initialize_key(hmac_sha256(temp, second));
}

Bytes HandshakeState::encrypt_and_hash(ByteView plaintext) {
    Bytes ct = cs_.encrypt_with_ad(h_, plaintext);
    mix_hash(ct);
    return ct;
}

std::optional<Bytes> HandshakeState::decrypt_and_hash(ByteView ciphertext) {
    auto pt = cs_.decrypt_with_ad(h_, ciphertext);
    if (pt) mix_hash(ciphertext);
    return pt;
}

std::optional<Key32> HandshakeState::dh(const Key32& priv, const Key32& pub) { return x25519(priv, pub); }

Bytes HandshakeState::write_message(ByteView payload) {
    if (!my_turn()) throw CryptoError("noise: not this side's turn to write");
    Bytes out;
    auto need = [](std::optional<Key32> k) {
        if (!k) throw CryptoError("noise: invalid public key");
        return *k;
    };
    switch (step_) {
    case 0: // -> e
        e_ = fixed_e_ ? *fixed_e_ : DhKeyPair::generate();
        append(out, e_.pub);
        mix_hash(e_.pub);
        break;
    case 1: // <- e, ee, s, es
        e_ = fixed_e_ ? *fixed_e_ : DhKeyPair::generate();
        append(out, e_.pub);
        mix_hash(e_.pub);
        mix_key(need(dh(e_.priv, re_)));
        append(out, encrypt_and_hash(s_.pub));
        mix_key(need(dh(s_.priv, re_)));
        break;
    case 2: // -> s, se
        append(out, encrypt_and_hash(s_.pub));
        mix_key(need(dh(s_.priv, re_)));
        break;
    default:
        break;
    }
    append(out, encrypt_and_hash(payload));
    if (out.size() > kMaxMessage) throw CryptoError("noise: handshake message too large");
    ++step_;
    return out;
}

std::optional<Bytes> HandshakeState::read_message(ByteView message) {
    if (failed_ || step_ >= 3 || my_turn() || message.size() > kMaxMessage) {
        failed_ = true;
        return std::nullopt;
    }
    auto fail = [this]() -> std::optional<Bytes> {
        failed_ = true;
        return std::nullopt;
    };
    std::size_t at = 0;
    auto take = [&](std::size_t n) -> std::optional<ByteView> {
        if (message.size() - at < n) return std::nullopt;
        ByteView v = message.subspan(at, n);
        at += n;
        return v;
    };
    switch (step_) {
    case 0: { // -> e
        auto e = take(32);
        if (!e) return fail();
        re_ = to_key(*e);
        mix_hash(re_);
        break;
    }
    case 1: { // <- e, ee, s, es
        auto e = take(32);
        if (!e) return fail();
        re_ = to_key(*e);
        mix_hash(re_);
        auto ee = dh(e_.priv, re_);
        if (!ee) return fail();
        mix_key(*ee);
        auto s = take(32 + kTagLen);
        if (!s) return fail();
        auto rs = decrypt_and_hash(*s);
        if (!rs) return fail();
        rs_ = to_key(*rs);
        auto es = dh(e_.priv, rs_);
        if (!es) return fail();
        mix_key(*es);
        break;
    }
    case 2: { // -> s, se
        auto s = take(32 + kTagLen);
        if (!s) return fail();
        auto rs = decrypt_and_hash(*s);
        if (!rs) return fail();
        rs_ = to_key(*rs);
        auto se = dh(e_.priv, rs_);
        if (!se) return fail();
        mix_key(*se);
        break;
    }
    default:
        return fail();
    }
    auto rest = message.subspan(at);
    if (cs_.has_key() && rest.size() < kTagLen) return fail();
    auto payload = decrypt_and_hash(rest);
    if (!payload) return fail();
    ++step_;
    return payload;
}

std::pair<CipherState, CipherState> HandshakeState::split() const {
    if (!complete()) throw CryptoError("noise: split before the handshake completed");
    const Bytes empty;
    const Key32 temp = hmac_sha256(ck_, empty);
    const std::uint8_t one = 1;
    const Key32 k1 = hmac_sha256(temp, ByteView(&one, 1));
    Bytes second(k1.begin(), k1.end());
    second.push_back(2);
    const Key32 k2 = hmac_sha256(temp, second);
    CipherState c1;
    CipherState c2;
    c1.initialize_key(k1);
    c2.initialize_key(k2);
    if (initiator_) return {c1, c2};
    return {c2, c1};
}

} // namespace sealscope::e2ee::crypto::noise
