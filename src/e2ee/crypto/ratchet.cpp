#include "crypto/ratchet.hpp"

#include <bit>

namespace sealscope::e2ee::crypto::ratchet {

namespace {

constexpr std::string_view kRootInfo = "SealChat_Ratchet";
constexpr std::string_view kMsgInfo = "SealChat_MessageKeys";
constexpr std::string_view kX3dhInfo = "SealChat_X3DH";

std::pair<Key32, Key32> kdf_rk(const Key32& rk, const Key32& dh_out) {
    const Bytes out = hkdf(rk, dh_out, kRootInfo, 64);
    return {to_key(ByteView(out).first(32)), to_key(ByteView(out).subspan(32, 32))};
}

Bytes make_header(const Key32& dh, std::uint32_t pn, std::uint32_t n) {
    Bytes h(dh.begin(), dh.end());
    append_u32(h, pn);
    append_u32(h, n);
    return h;
}

Bytes seal(const Key32& mk, ByteView header, ByteView plaintext, ByteView ad) {
    const Bytes keys = hkdf({}, mk, kMsgInfo, 32);
    Bytes full_ad(ad.begin(), ad.end());
    append(full_ad, header);
    Bytes out(header.begin(), header.end());
    // Each message key encrypts exactly one message, so a fixed nonce is safe.
    append(out, aead_encrypt(to_key(keys), 0, full_ad, plaintext));
    return out;
}

std::string k2s(const Key32& k) { return to_b64(k); }
Key32 s2k(const nlohmann::json& j) { return to_key(from_b64(j.get<std::string>())); }

} // namespace

std::pair<Key32, Key32> kdf_ck(const Key32& ck) {
    const std::uint8_t one = 1;
    const std::uint8_t two = 2;
    return {hmac_sha256(ck, ByteView(&two, 1)), hmac_sha256(ck, ByteView(&one, 1))};
}

std::optional<Bytes> decrypt_with_message_key(const Key32& mk, ByteView message, ByteView ad) {
    if (message.size() < kHeaderLen + 16) return std::nullopt;
    const Bytes keys = hkdf({}, mk, kMsgInfo, 32);
    Bytes full_ad(ad.begin(), ad.end());
    append(full_ad, message.first(kHeaderLen));
    return aead_decrypt(to_key(keys), 0, full_ad, message.subspan(kHeaderLen));
}

DoubleRatchet DoubleRatchet::init_initiator(const Key32& sk, const Key32& remote_ratchet_pub) {
    DoubleRatchet r;
    r.dhs_ = DhKeyPair::generate();
    r.dhr_ = remote_ratchet_pub;
    auto dh = x25519(r.dhs_.priv, remote_ratchet_pub);
    if (!dh) throw CryptoError("ratchet: invalid remote key");
    auto [rk, ck] = kdf_rk(sk, *dh);
    r.rk_ = rk;
    r.cks_ = ck;
    return r;
}

DoubleRatchet DoubleRatchet::init_responder(const Key32& sk, const DhKeyPair& own_ratchet) {
    DoubleRatchet r;
    r.dhs_ = own_ratchet;
    r.rk_ = sk;
    return r;
}

Bytes DoubleRatchet::encrypt(ByteView plaintext, ByteView ad) {
    if (!cks_) throw CryptoError("ratchet: no sending chain yet");
    auto [next, mk] = kdf_ck(*cks_);
    cks_ = next;
    const Bytes header = make_header(dhs_.pub, pn_, ns_);
    ++ns_;
    return seal(mk, header, plaintext, ad);
}

const char* to_string(Failure f) {
    switch (f) {
    case Failure::none: return "none";
    case Failure::too_short: return "message too short";
    case Failure::skip_bound: return "more than MAX_SKIP skipped messages";
    case Failure::old_message: return "old or replayed message";
    case Failure::bad_key: return "invalid ratchet key";
    case Failure::authentication: return "authentication failed";
    }
    return "?";
}

Failure DoubleRatchet::skip_message_keys(std::uint32_t until) {
    if (!ckr_) return until == nr_ ? Failure::none : Failure::skip_bound;
    if (until < nr_) return Failure::old_message;
    if (until - nr_ > kMaxSkip) return Failure::skip_bound;
    while (nr_ < until) {
        auto [next, mk] = kdf_ck(*ckr_);
        ckr_ = next;
        SkipKey key{*dhr_, nr_};
        skipped_[key] = mk;
        skipped_order_.push_back(key);
        ++nr_;
        while (skipped_.size() > kMaxStoredSkipped && !skipped_order_.empty()) {
            skipped_.erase(skipped_order_.front());
            skipped_order_.pop_front();
            ++evicted_;
        }
    }
    return Failure::none;
}

bool DoubleRatchet::dh_ratchet(const Key32& remote_pub) {
    pn_ = ns_;
    ns_ = 0;
    nr_ = 0;
    dhr_ = remote_pub;
    auto dh1 = x25519(dhs_.priv, remote_pub);
    if (!dh1) return false;
    auto [rk1, ckr] = kdf_rk(rk_, *dh1);
    ckr_ = ckr;
    dhs_ = DhKeyPair::generate();
    auto dh2 = x25519(dhs_.priv, remote_pub);
    if (!dh2) return false;
    auto [rk2, cks] = kdf_rk(rk1, *dh2);
    rk_ = rk2;
    cks_ = cks;
    return true;
}

std::optional<Bytes> DoubleRatchet::decrypt(ByteView message, ByteView ad) {
    if (message.size() < kHeaderLen + 16) {
        last_failure_ = Failure::too_short;
        return std::nullopt;
    }
    const Key32 dh = to_key(message.first(32));
    const std::uint32_t pn = read_u32(message, 32);
    const std::uint32_t n = read_u32(message, 36);

    // A skipped key: use and forget it.
    if (auto it = skipped_.find({dh, n}); it != skipped_.end()) {
        auto pt = decrypt_with_message_key(it->second, message, ad);
        if (pt) {
            skipped_.erase(it);
            std::erase(skipped_order_, SkipKey{dh, n});
        }
        last_failure_ = pt ? Failure::none : Failure::authentication;
        return pt;
    }

    DoubleRatchet next = *this;  // work on a copy: commit only if the message authenticates
    auto fail = [this](Failure f) -> std::optional<Bytes> {
        last_failure_ = f;
        return std::nullopt;
    };
    if (!next.dhr_ || dh != *next.dhr_) {
        if (const Failure f = next.skip_message_keys(pn); f != Failure::none) return fail(f);
        if (!next.dh_ratchet(dh)) return fail(Failure::bad_key);
    }
    if (const Failure f = next.skip_message_keys(n); f != Failure::none) return fail(f);
    auto [ck, mk] = kdf_ck(*next.ckr_);
    next.ckr_ = ck;
    ++next.nr_;
    auto pt = decrypt_with_message_key(mk, message, ad);
    if (!pt) return fail(Failure::authentication);
    *this = std::move(next);
    last_failure_ = Failure::none;
    return pt;
}

nlohmann::json DoubleRatchet::to_json() const {
    nlohmann::json j;
    j["dhs_priv"] = k2s(dhs_.priv);
    j["dhr"] = dhr_ ? nlohmann::json(k2s(*dhr_)) : nlohmann::json();
    j["rk"] = k2s(rk_);
    j["cks"] = cks_ ? nlohmann::json(k2s(*cks_)) : nlohmann::json();
    j["ckr"] = ckr_ ? nlohmann::json(k2s(*ckr_)) : nlohmann::json();
    j["ns"] = ns_;
    j["nr"] = nr_;
    j["pn"] = pn_;
    auto& sk = j["skipped"] = nlohmann::json::array();
    for (const auto& key : skipped_order_) {
        sk.push_back({k2s(key.first), key.second, k2s(skipped_.at(key))});
    }
    return j;
}

DoubleRatchet DoubleRatchet::from_json(const nlohmann::json& j) {
    DoubleRatchet r;
    r.dhs_ = DhKeyPair::from_private(s2k(j.at("dhs_priv")));
    if (!j.at("dhr").is_null()) r.dhr_ = s2k(j.at("dhr"));
    r.rk_ = s2k(j.at("rk"));
    if (!j.at("cks").is_null()) r.cks_ = s2k(j.at("cks"));
    if (!j.at("ckr").is_null()) r.ckr_ = s2k(j.at("ckr"));
    r.ns_ = j.at("ns").get<std::uint32_t>();
    r.nr_ = j.at("nr").get<std::uint32_t>();
    r.pn_ = j.at("pn").get<std::uint32_t>();
    for (const auto& e : j.at("skipped")) {
        SkipKey key{s2k(e.at(0)), e.at(1).get<std::uint32_t>()};
        r.skipped_[key] = s2k(e.at(2));
        r.skipped_order_.push_back(key);
    }
    return r;
}

std::optional<X3dhInitiator> x3dh_initiate(const SignKeyPair& own_identity, const PrekeyBundle& bundle) {
    if (!verify(bundle.identity, bundle.signed_prekey, bundle.signature)) return std::nullopt;
    auto remote_ik = ed25519_pub_to_x25519(bundle.identity);
    if (!remote_ik) return std::nullopt;
    X3dhInitiator out;
    out.ephemeral = DhKeyPair::generate();
    const Key32 own_ik = own_identity.x25519_priv();
    auto dh1 = x25519(own_ik, bundle.signed_prekey);
    auto dh2 = x25519(out.ephemeral.priv, *remote_ik);
    auto dh3 = x25519(out.ephemeral.priv, bundle.signed_prekey);
    if (!dh1 || !dh2 || !dh3) return std::nullopt;
    Bytes ikm(32, 0xFF);
    append(ikm, *dh1);
    append(ikm, *dh2);
    append(ikm, *dh3);
    if (bundle.one_time_prekey) {
        auto dh4 = x25519(out.ephemeral.priv, bundle.one_time_prekey->second);
        if (!dh4) return std::nullopt;
        append(ikm, *dh4);
    }
    out.shared_secret = to_key(hkdf(Bytes(32, 0), ikm, kX3dhInfo, 32));
    append(out.associated_data, own_identity.pub);
    append(out.associated_data, bundle.identity);
    return out;
}

std::optional<Key32> x3dh_respond(const SignKeyPair& own_identity, const DhKeyPair& signed_prekey,
                                  const std::optional<DhKeyPair>& one_time, const Key32& remote_identity,
                                  const Key32& remote_ephemeral) {
    auto remote_ik = ed25519_pub_to_x25519(remote_identity);
    if (!remote_ik) return std::nullopt;
    auto dh1 = x25519(signed_prekey.priv, *remote_ik);
    auto dh2 = x25519(own_identity.x25519_priv(), remote_ephemeral);
    auto dh3 = x25519(signed_prekey.priv, remote_ephemeral);
    if (!dh1 || !dh2 || !dh3) return std::nullopt;
    Bytes ikm(32, 0xFF);
    append(ikm, *dh1);
    append(ikm, *dh2);
    append(ikm, *dh3);
    if (one_time) {
        auto dh4 = x25519(one_time->priv, remote_ephemeral);
        if (!dh4) return std::nullopt;
        append(ikm, *dh4);
    }
    return to_key(hkdf(Bytes(32, 0), ikm, kX3dhInfo, 32));
}

namespace {
Bytes pad_to(ByteView plaintext, std::size_t target) {
    Bytes out(plaintext.begin(), plaintext.end());
    out.push_back(0x80);
    out.resize(std::max(target, out.size()), 0);
    return out;
}
} // namespace

Bytes pad_bucket(ByteView plaintext) {
    std::size_t bucket = 160;
    while (bucket < plaintext.size() + 1) bucket *= 2;
    return pad_to(plaintext, bucket);
}

std::uint64_t padme_length(std::uint64_t length) {
    if (length < 2) return length;
    const int e = 63 - std::countl_zero(length);
    const int s = 64 - std::countl_zero(static_cast<std::uint64_t>(e));
    const int last_bits = e - s;
    const std::uint64_t mask = (std::uint64_t{1} << last_bits) - 1;
    return (length + mask) & ~mask;
}

Bytes pad_padme(ByteView plaintext) {
    return pad_to(plaintext, static_cast<std::size_t>(padme_length(plaintext.size() + 1)));
}

std::optional<Bytes> unpad(ByteView padded) {
    std::size_t i = padded.size();
    while (i > 0 && padded[i - 1] == 0) --i;
    if (i == 0 || padded[i - 1] != 0x80) return std::nullopt;
    return Bytes(padded.begin(), padded.begin() + static_cast<std::ptrdiff_t>(i - 1));
}

} // namespace sealscope::e2ee::crypto::ratchet
