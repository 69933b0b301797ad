// X3DH + Double Ratchet: agreement, out-of-order, loss, healing, tampering, padding.
#include "crypto/ratchet.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>

using namespace sealscope::e2ee::crypto;
using namespace sealscope::e2ee::crypto::ratchet;

namespace {

struct Pair {
    DoubleRatchet alice;
    DoubleRatchet bob;
    Bytes ad;
};

// Runs X3DH between fresh identities (with a one-time prekey) and starts both ratchets.
Pair make_pair() {
    const auto ika = SignKeyPair::generate();
    const auto ikb = SignKeyPair::generate();
    const auto spk = DhKeyPair::generate();
    const auto opk = DhKeyPair::generate();
    PrekeyBundle bundle;
    bundle.identity = ikb.pub;
    bundle.signed_prekey_id = 1;
    bundle.signed_prekey = spk.pub;
    bundle.signature = sign(ikb, spk.pub);
    bundle.one_time_prekey = std::make_pair(7u, opk.pub);
    auto x = x3dh_initiate(ika, bundle);
    REQUIRE(x);
    auto sk_b = x3dh_respond(ikb, spk, opk, ika.pub, x->ephemeral.pub);
    REQUIRE(sk_b);
    REQUIRE(*sk_b == x->shared_secret);
    return {DoubleRatchet::init_initiator(x->shared_secret, spk.pub), DoubleRatchet::init_responder(*sk_b, spk),
            x->associated_data};
}

std::string str(const std::optional<Bytes>& b) { return b ? std::string(b->begin(), b->end()) : "<none>"; }

} // namespace

TEST_CASE("X3DH rejects a bundle with a forged signed-prekey signature", "[ratchet]") {
    const auto ika = SignKeyPair::generate();
    const auto ikb = SignKeyPair::generate();
    const auto other = SignKeyPair::generate();
    const auto spk = DhKeyPair::generate();
    PrekeyBundle bundle;
    bundle.identity = ikb.pub;
    bundle.signed_prekey = spk.pub;
    bundle.signature = sign(other, spk.pub);
    CHECK_FALSE(x3dh_initiate(ika, bundle));
    bundle.signature = sign(ikb, spk.pub);
    CHECK(x3dh_initiate(ika, bundle));
}

TEST_CASE("Double ratchet: both sides agree over many turns", "[ratchet]") {
    auto p = make_pair();
    for (int round = 0; round < 20; ++round) {
        for (int k = 0; k < 3; ++k) {
            const std::string m = "a->b " + std::to_string(round) + "/" + std::to_string(k);
            CHECK(str(p.bob.decrypt(p.alice.encrypt(view(m), p.ad), p.ad)) == m);
        }
        const std::string r = "b->a " + std::to_string(round);
        CHECK(str(p.alice.decrypt(p.bob.encrypt(view(r), p.ad), p.ad)) == r);
    }
}

TEST_CASE("Double ratchet: out-of-order and lost messages", "[ratchet]") {
    auto p = make_pair();
    std::vector<Bytes> wire;
    for (int i = 0; i < 50; ++i) wire.push_back(p.alice.encrypt(view("m" + std::to_string(i)), p.ad));
    std::vector<int> order(50);
    for (int i = 0; i < 50; ++i) order[static_cast<std::size_t>(i)] = i;
    std::mt19937 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    // Lose ten of them altogether.
    int delivered = 0;
    for (int i : order) {
        if (i % 5 == 0) continue;
        CHECK(str(p.bob.decrypt(wire[static_cast<std::size_t>(i)], p.ad)) == "m" + std::to_string(i));
        ++delivered;
    }
    CHECK(delivered == 40);
    CHECK(p.bob.skipped_count() == 10);  // keys for the lost ones are still held, bounded
    // A replay of an already-decrypted message fails.
    CHECK_FALSE(p.bob.decrypt(wire[1], p.ad));
    // Messages across a DH step arriving before the end of the previous chain.
    const Bytes b1 = p.bob.encrypt(view("reply"), p.ad);
    CHECK(str(p.alice.decrypt(b1, p.ad)) == "reply");
    const Bytes late = p.alice.encrypt(view("new chain 0"), p.ad);
    const Bytes later = p.alice.encrypt(view("new chain 1"), p.ad);
    CHECK(str(p.bob.decrypt(later, p.ad)) == "new chain 1");
    CHECK(str(p.bob.decrypt(late, p.ad)) == "new chain 0");
}

TEST_CASE("Double ratchet: skipping more than MAX_SKIP is refused", "[ratchet]") {
    auto p = make_pair();
    for (std::uint32_t i = 0; i < kMaxSkip + 1; ++i) (void)p.alice.encrypt(view("x"), p.ad);
    const Bytes far = p.alice.encrypt(view("far"), p.ad);
    CHECK_FALSE(p.bob.decrypt(far, p.ad));
    CHECK(p.bob.skipped_count() == 0);
}

TEST_CASE("Double ratchet: a compromised old chain key cannot decrypt after a DH step", "[ratchet]") {
    auto p = make_pair();
    CHECK(str(p.bob.decrypt(p.alice.encrypt(view("hello"), p.ad), p.ad)) == "hello");
    const Key32 stolen = *p.alice.sending_chain_key();
    // The stolen key does decrypt the next message in the same chain (as expected).
    const Bytes same_chain = p.alice.encrypt(view("same chain"), p.ad);
    CHECK(str(decrypt_with_message_key(kdf_ck(stolen).second, same_chain, p.ad)) == "same chain");
    CHECK(str(p.bob.decrypt(same_chain, p.ad)) == "same chain");
    // Bob replies, Alice performs a DH ratchet step: her new chain is out of the attacker's reach.
    CHECK(str(p.alice.decrypt(p.bob.encrypt(view("reply"), p.ad), p.ad)) == "reply");
    const Bytes after = p.alice.encrypt(view("secret after healing"), p.ad);
    Key32 ck = stolen;
    int hits = 0;
    for (int i = 0; i < 200; ++i) {
        auto [next, mk] = kdf_ck(ck);
        if (decrypt_with_message_key(mk, after, p.ad)) ++hits;
        ck = next;
    }
    CHECK(hits == 0);
    CHECK(*p.alice.sending_chain_key() != stolen);
    CHECK(str(p.bob.decrypt(after, p.ad)) == "secret after healing");
}

TEST_CASE("Double ratchet: tampered ciphertext, header or AD is rejected without state change", "[ratchet]") {
    auto p = make_pair();
    const Bytes good = p.alice.encrypt(view("intact"), p.ad);
    for (std::size_t pos : {std::size_t{0}, std::size_t{35}, std::size_t{39}, std::size_t{45}, good.size() - 1}) {
        Bytes bad = good;
        bad[pos] ^= 0x01;
        CHECK_FALSE(p.bob.decrypt(bad, p.ad));
    }
    Bytes other_ad = p.ad;
    other_ad[0] ^= 1;
    CHECK_FALSE(p.bob.decrypt(good, other_ad));
    CHECK_FALSE(p.bob.decrypt(Bytes(10, 0), p.ad));
    CHECK(str(p.bob.decrypt(good, p.ad)) == "intact");
}

TEST_CASE("Double ratchet state survives a JSON round trip", "[ratchet]") {
    auto p = make_pair();
    (void)p.alice.encrypt(view("lost"), p.ad);
    const Bytes m = p.alice.encrypt(view("kept"), p.ad);
    CHECK(str(p.bob.decrypt(m, p.ad)) == "kept");
    auto bob2 = DoubleRatchet::from_json(nlohmann::json::parse(p.bob.to_json().dump()));
    CHECK(bob2.skipped_count() == 1);
    CHECK(str(p.alice.decrypt(bob2.encrypt(view("from restored"), p.ad), p.ad)) == "from restored");
}

TEST_CASE("Padding hides lengths inside buckets and round-trips", "[ratchet]") {
    CHECK(pad_bucket(view("hi")).size() == 160);
    CHECK(pad_bucket(Bytes(159, 'a')).size() == 160);
    CHECK(pad_bucket(Bytes(160, 'a')).size() == 320);
    CHECK(pad_bucket(Bytes(1000, 'a')).size() == 1280);
    CHECK(str(unpad(pad_bucket(view("hi")))) == "hi");
    CHECK(padme_length(1000) == 1024);
    CHECK(padme_length(100000) == 100352);
    const Bytes f(123457, 0);
    const Bytes padded = pad_padme(f);
    CHECK(padded.size() >= f.size() + 1);
    CHECK(padded.size() <= f.size() + f.size() / 8);
    CHECK(unpad(padded) == f);
    CHECK_FALSE(unpad(Bytes(10, 0)));
}
