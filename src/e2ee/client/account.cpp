#include "client/account.hpp"

#include "wire/json_int.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace sealscope::e2ee::client {

using crypto::from_b64;
using crypto::to_b64;
using crypto::to_key;
using nlohmann::json;
namespace rt = crypto::ratchet;

namespace {
constexpr std::uint32_t kNoOneTime = 0xFFFFFFFF;
constexpr std::size_t kPrekeyHeader = 1 + 32 + 32 + 4 + 4;
constexpr std::size_t kProcessedMemory = 20000;
constexpr std::string_view kSealInfo = "SealChat_SealedSender";

Key32 k(const json& j) { return to_key(from_b64(j.get<std::string>())); }
} // namespace

Account Account::create(const std::string& user, std::size_t one_time) {
    crypto::init();
    Account a;
    a.user_ = user;
    a.noise_ = crypto::DhKeyPair::generate();
    a.identity_ = crypto::SignKeyPair::generate();
    a.spk_ = crypto::DhKeyPair::generate();
    (void)a.make_one_time_prekeys(one_time);
    return a;
}

json Account::make_one_time_prekeys(std::size_t n) {
    json out = json::array();
    for (std::size_t i = 0; i < n; ++i) {
        const auto id = next_one_time_++;
        one_time_[id] = crypto::DhKeyPair::generate();
        out.push_back({id, to_b64(one_time_[id].pub)});
    }
    return out;
}

json Account::registration() const {
    json otpks = json::array();
    for (const auto& [id, kp] : one_time_) otpks.push_back({id, to_b64(kp.pub)});
    return {{"t", "register"},
            {"user", user_},
            {"identity", to_b64(identity_.pub)},
            {"spk_id", spk_id_},
            {"spk", to_b64(spk_.pub)},
            {"spk_sig", to_b64(crypto::sign(identity_, spk_.pub))},
            {"otpks", otpks}};
}

json Account::to_json() const {
    json j;
    j["user"] = user_;
    j["noise_priv"] = to_b64(noise_.priv);
    j["identity_priv"] = to_b64(identity_.priv);
    j["spk_priv"] = to_b64(spk_.priv);
    j["spk_id"] = spk_id_;
    j["next_otpk"] = next_one_time_;
    auto& ot = j["otpks"] = json::array();
    for (const auto& [id, kp] : one_time_) ot.push_back({id, to_b64(kp.priv)});
    auto& ss = j["sessions"] = json::object();
    for (const auto& [peer, s] : sessions_) {
        json e;
        e["ratchet"] = s.ratchet.to_json();
        e["ad"] = to_b64(s.ad);
        e["remote_identity"] = to_b64(s.remote_identity);
        e["prekey_header"] = s.prekey_header ? json(to_b64(*s.prekey_header)) : json();
        e["base_key"] = s.base_key ? json(to_b64(*s.base_key)) : json();
        ss[peer] = e;
    }
    j["processed"] = processed_order_;
    json held = json::array();
    for (const auto& [id, m] : held_) held.push_back({{"env_id", id}, {"from", m.from}, {"body", m.body}, {"sealed", m.sealed}});
    j["held"] = held;
    return j;
}

Account Account::from_json(const json& j) {
    crypto::init();
    Account a;
    a.user_ = j.at("user").get<std::string>();
    a.noise_ = crypto::DhKeyPair::from_private(k(j.at("noise_priv")));
    const Bytes idp = from_b64(j.at("identity_priv").get<std::string>());
    if (idp.size() != 64) throw crypto::CryptoError("bad identity key in state");
    std::copy(idp.begin(), idp.end(), a.identity_.priv.begin());
    std::copy(idp.begin() + 32, idp.end(), a.identity_.pub.begin());  // libsodium sk = seed || pk
    a.spk_ = crypto::DhKeyPair::from_private(k(j.at("spk_priv")));
    a.spk_id_ = j.at("spk_id").get<std::uint32_t>();
    a.next_one_time_ = j.at("next_otpk").get<std::uint32_t>();
    for (const auto& e : j.at("otpks"))
        a.one_time_[e.at(0).get<std::uint32_t>()] = crypto::DhKeyPair::from_private(k(e.at(1)));
    for (const auto& [peer, e] : j.at("sessions").items()) {
        PeerSession s{rt::DoubleRatchet::from_json(e.at("ratchet")), from_b64(e.at("ad").get<std::string>()),
                      k(e.at("remote_identity")), std::nullopt, std::nullopt};
        if (!e.at("prekey_header").is_null()) s.prekey_header = from_b64(e.at("prekey_header").get<std::string>());
        if (!e.at("base_key").is_null()) s.base_key = k(e.at("base_key"));
        a.sessions_.emplace(peer, std::move(s));
    }
    for (const auto& id : j.at("processed")) (void)a.mark_processed(id.get<std::int64_t>());
    if (j.contains("held"))  // absent in state files written before messages were held
        for (const auto& h : j.at("held"))
            a.held_[h.at("env_id").get<std::int64_t>()] =
                HeldMessage{h.at("from").get<std::string>(), h.at("body"), h.at("sealed").get<bool>()};
    return a;
}

Account Account::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read state file " + path + ": " + std::strerror(errno));
    try {
        return from_json(json::parse(in));
    } catch (const std::exception& e) {
        throw std::runtime_error("state file " + path + " is not a sealchat account: " + e.what());
    }
}

void Account::save(const std::string& path) const {
    const std::string tmp = path + ".tmp";
    {
        const mode_t old = ::umask(077);
        std::ofstream out(tmp);
        ::umask(old);
        out << to_json().dump();
        if (!out) throw std::runtime_error("cannot write state file " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot replace " + path);
}

void Account::start_session(const std::string& peer, const json& b) {
    rt::PrekeyBundle bundle;
    bundle.identity = k(b.at("identity"));
    bundle.signed_prekey_id = wire::json_int<std::uint32_t>(b.at("spk_id"));
    bundle.signed_prekey = k(b.at("spk"));
    const Bytes sig = from_b64(b.at("spk_sig").get<std::string>());
    if (sig.size() != 64) throw crypto::CryptoError("bad prekey signature length");
    std::copy(sig.begin(), sig.end(), bundle.signature.begin());
    std::uint32_t otpk_id = kNoOneTime;
    if (b.contains("otpk")) {
        otpk_id = wire::json_int<std::uint32_t>(b.at("otpk_id"));
        bundle.one_time_prekey = std::make_pair(otpk_id, k(b.at("otpk")));
    }
    auto x = rt::x3dh_initiate(identity_, bundle);
    if (!x) throw crypto::CryptoError("prekey bundle of " + peer + " does not verify");
    PeerSession s{rt::DoubleRatchet::init_initiator(x->shared_secret, bundle.signed_prekey), x->associated_data,
                  bundle.identity, std::nullopt, x->ephemeral.pub};
    Bytes hdr{static_cast<std::uint8_t>(EnvelopeType::prekey)};
    crypto::append(hdr, identity_.pub);
    crypto::append(hdr, x->ephemeral.pub);
    crypto::append_u32(hdr, bundle.signed_prekey_id);
    crypto::append_u32(hdr, otpk_id);
    s.prekey_header = hdr;
    sessions_.insert_or_assign(peer, std::move(s));
}

Bytes Account::encrypt(const std::string& peer, ByteView plaintext) {
    auto it = sessions_.find(peer);
    if (it == sessions_.end()) throw crypto::CryptoError("no session with " + peer);
    PeerSession& s = it->second;
    const Bytes body = s.ratchet.encrypt(rt::pad_bucket(plaintext), s.ad);
    Bytes env;
    if (s.prekey_header) env = *s.prekey_header;
    else env.push_back(static_cast<std::uint8_t>(EnvelopeType::message));
    crypto::append(env, body);
    return env;
}

std::optional<Bytes> Account::decrypt(const std::string& peer, ByteView env) {
    last_error_.clear();
    last_evicted_ = 0;
    auto fail = [this](std::string why) -> std::optional<Bytes> {
        last_error_ = std::move(why);
        return std::nullopt;
    };
    // Runs the ratchet, recording why it failed and how many skipped keys it had to drop.
    auto run = [this](rt::DoubleRatchet& r, ByteView body, ByteView ad) {
        const std::uint64_t evicted = r.evicted_skipped();
        auto out = r.decrypt(body, ad);
        if (!out) last_error_ = std::string("ratchet: ") + rt::to_string(r.last_failure());
        else last_evicted_ = r.evicted_skipped() - evicted;
        return out;
    };
    if (env.empty()) return fail("empty envelope");
    const auto type = static_cast<EnvelopeType>(env[0]);
    std::optional<Bytes> padded;
    if (type == EnvelopeType::message) {
        auto it = sessions_.find(peer);
        if (it == sessions_.end()) return fail("no session with the sender");
        padded = run(it->second.ratchet, env.subspan(1), it->second.ad);
        if (padded) it->second.prekey_header.reset();
    } else if (type == EnvelopeType::prekey) {
        if (env.size() < kPrekeyHeader) return fail("truncated prekey header");
        const Key32 ika = to_key(env.subspan(1, 32));
        const Key32 eka = to_key(env.subspan(33, 32));
        const std::uint32_t spk_id = crypto::read_u32(env, 65);
        const std::uint32_t otpk_id = crypto::read_u32(env, 69);
        const ByteView body = env.subspan(kPrekeyHeader);
        auto it = sessions_.find(peer);
        if (it != sessions_.end() && it->second.base_key == eka) {
            padded = run(it->second.ratchet, body, it->second.ad);
        } else {
            if (spk_id != spk_id_) return fail("unknown signed prekey");
            std::optional<crypto::DhKeyPair> otpk;
            if (otpk_id != kNoOneTime) {
                auto o = one_time_.find(otpk_id);
                if (o == one_time_.end()) return fail("unknown or used one-time prekey");
                otpk = o->second;
            }
            auto sk = rt::x3dh_respond(identity_, spk_, otpk, ika, eka);
            if (!sk) return fail("x3dh: invalid keys");
            PeerSession s{rt::DoubleRatchet::init_responder(*sk, spk_), {}, ika, std::nullopt, eka};
            crypto::append(s.ad, ika);
            crypto::append(s.ad, identity_.pub);
            padded = run(s.ratchet, body, s.ad);
            if (padded) {
                if (otpk_id != kNoOneTime) one_time_.erase(otpk_id);
                sessions_.insert_or_assign(peer, std::move(s));
            }
        }
    } else {
        return fail("unknown envelope type");
    }
    if (!padded) return std::nullopt;
    auto out = rt::unpad(*padded);
    if (!out) return fail("bad padding");
    return out;
}

Bytes Account::seal(const std::string& peer, ByteView envelope) const {
    auto it = sessions_.find(peer);
    if (it == sessions_.end()) throw crypto::CryptoError("no session with " + peer);
    auto rik = crypto::ed25519_pub_to_x25519(it->second.remote_identity);
    if (!rik) throw crypto::CryptoError("bad identity key for " + peer);
    const auto eph = crypto::DhKeyPair::generate();
    auto dh = crypto::x25519(eph.priv, *rik);
    if (!dh) throw crypto::CryptoError("bad identity key for " + peer);
    Bytes salt(eph.pub.begin(), eph.pub.end());
    crypto::append(salt, it->second.remote_identity);
    const Key32 key = to_key(crypto::hkdf(salt, *dh, kSealInfo, 32));
    Bytes inner{static_cast<std::uint8_t>(user_.size())};
    crypto::append(inner, crypto::view(user_));
    crypto::append(inner, envelope);
    Bytes out{static_cast<std::uint8_t>(EnvelopeType::sealed)};
    crypto::append(out, eph.pub);
    crypto::append(out, crypto::aead_encrypt(key, 0, salt, inner));
    return out;
}

std::optional<std::pair<std::string, Bytes>> Account::unseal(ByteView sealed) const {
    if (sealed.size() < 1 + 32 + 16 + 1 || sealed[0] != static_cast<std::uint8_t>(EnvelopeType::sealed))
        return std::nullopt;
    const Key32 eph = to_key(sealed.subspan(1, 32));
    auto dh = crypto::x25519(identity_.x25519_priv(), eph);
    if (!dh) return std::nullopt;
    Bytes salt(eph.begin(), eph.end());
    crypto::append(salt, identity_.pub);
    const Key32 key = to_key(crypto::hkdf(salt, *dh, kSealInfo, 32));
    auto inner = crypto::aead_decrypt(key, 0, salt, sealed.subspan(33));
    if (!inner || inner->empty() || inner->size() < 1u + (*inner)[0]) return std::nullopt;
    const std::size_t n = (*inner)[0];
    return std::make_pair(std::string(inner->begin() + 1, inner->begin() + 1 + static_cast<std::ptrdiff_t>(n)),
                          Bytes(inner->begin() + 1 + static_cast<std::ptrdiff_t>(n), inner->end()));
}

Bytes Account::encrypt_null(ByteView plaintext) {
    Bytes env{static_cast<std::uint8_t>(EnvelopeType::plain)};
    crypto::append(env, rt::pad_bucket(plaintext));
    return env;
}

std::optional<Bytes> Account::decrypt_null(ByteView env) {
    if (env.empty() || env[0] != static_cast<std::uint8_t>(EnvelopeType::plain)) return std::nullopt;
    return rt::unpad(env.subspan(1));
}

Bytes Account::seal_null(ByteView envelope) const {
    Bytes out;
    out.reserve(2 + user_.size() + envelope.size());
    out.push_back(static_cast<std::uint8_t>(EnvelopeType::plain_sealed));
    out.push_back(static_cast<std::uint8_t>(user_.size()));
    out.insert(out.end(), user_.begin(), user_.end());
    out.insert(out.end(), envelope.begin(), envelope.end());
    return out;
}

std::optional<std::pair<std::string, Bytes>> Account::unseal_null(ByteView sealed) {
    if (sealed.size() < 2 || sealed[0] != static_cast<std::uint8_t>(EnvelopeType::plain_sealed)) return std::nullopt;
    const std::size_t n = sealed[1];
    if (n == 0 || sealed.size() < 2 + n) return std::nullopt;
    return std::make_pair(std::string(sealed.begin() + 2, sealed.begin() + 2 + static_cast<std::ptrdiff_t>(n)),
                          Bytes(sealed.begin() + 2 + static_cast<std::ptrdiff_t>(n), sealed.end()));
}

std::optional<HeldMessage> Account::held(std::int64_t env_id) const {
    auto it = held_.find(env_id);
    if (it == held_.end()) return std::nullopt;
    return it->second;
}

bool Account::mark_processed(std::int64_t env_id) {
    if (!processed_.insert(env_id).second) return false;
    processed_order_.push_back(env_id);
    while (processed_order_.size() > kProcessedMemory) {
        processed_.erase(processed_order_.front());
        processed_order_.pop_front();
    }
    return true;
}

} // namespace sealscope::e2ee::client
