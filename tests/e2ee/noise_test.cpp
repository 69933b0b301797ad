// Noise_XX_25519_ChaChaPoly_SHA256 against published test vectors.
#include "crypto/noise.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace sealscope::e2ee::crypto;

namespace {

struct Vector {
    const char* source;
    std::string prologue, init_static, init_ephemeral, resp_static, resp_ephemeral, handshake_hash;
    std::vector<std::pair<std::string, std::string>> messages;  // payload, ciphertext
};

// Vector values copied from the public test-vector files (data, not code):
//  - cacophony: https://github.com/haskell-cryptography/cacophony/blob/master/vectors/cacophony.txt
//    entry "Noise_XX_25519_ChaChaPoly_SHA256"
//  - snow: https://github.com/mcginty/snow/blob/main/tests/vectors/snow.txt
//    entry "Noise_XX_25519_ChaChaPoly_SHA256" (no psks)
const std::vector<Vector> kVectors = {
    {"cacophony",
     "4a6f686e2047616c74",
     "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
     "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
     "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
     "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
     "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
     {{"4c756477696720766f6e204d69736573",
       "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573"},
      {"4d757272617920526f746862617264",
       "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65285e08d6b68aa"
       "a3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d"
       "162c9326ad"},
      {"462e20412e20486179656b",
       "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b57f58c9fea0d4"
       "ec82a286427402f113e4b6ae769a1d95941d49b25030"},
      {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
      {"4a65616e2d426170746973746520536179", "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
      {"457567656e2042f6686d20766f6e2042617765726b",
       "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"}}},
    {"snow",
     "5468657265206973206e6f20726967687420616e642077726f6e672e2054686572652773206f6e6c792066756e20616e6420626f7269"
     "6e672e",
     "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
     "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
     "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
     "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
     "",
     {{"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
       "f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818d03c489139e645d0711a3c9e810d776b46a849124"
       "63fafa87b884eebf242dc34"},
      {"d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
       "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47b81c6c5f43b025692c24391eefee725c17d8cb0fb"
       "e3e4abb8aedf42c4fd2592d4ea48ac08989d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e930612336bd43eaea04d3c670a0"
       "a146691aa9cc9d357872320dc735dbc48580cffb553db"},
      {"77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
       "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f83f72b42837b18e3572f2fdc2b74c331e2368a545c"
       "ef54bdca081678ab0e9dd5348122459e0c034c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0"},
      {"d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
       "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb69ab2577f3bda0cbf72f879685f6ed25f"},
      {"dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce",
       "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63e1daebefe8a62a334facc8048ab4ad66"}}},
};

DhKeyPair kp(const std::string& hex) { return DhKeyPair::from_private(to_key(from_hex(hex))); }

} // namespace

TEST_CASE("Noise XX reproduces published test vectors byte for byte", "[noise]") {
    for (const auto& v : kVectors) {
        INFO("vector source: " << v.source);
        const Bytes prologue = from_hex(v.prologue);
        noise::HandshakeState init(true, prologue, kp(v.init_static), kp(v.init_ephemeral));
        noise::HandshakeState resp(false, prologue, kp(v.resp_static), kp(v.resp_ephemeral));
        for (std::size_t i = 0; i < 3; ++i) {
            auto& sender = i % 2 == 0 ? init : resp;
            auto& receiver = i % 2 == 0 ? resp : init;
            const Bytes payload = from_hex(v.messages[i].first);
            const Bytes wire = sender.write_message(payload);
            CHECK(to_hex(wire) == v.messages[i].second);
            auto got = receiver.read_message(wire);
            REQUIRE(got);
            CHECK(*got == payload);
        }
        REQUIRE(init.complete());
        REQUIRE(resp.complete());
        CHECK(init.handshake_hash() == resp.handshake_hash());
        if (!v.handshake_hash.empty()) CHECK(to_hex(init.handshake_hash()) == v.handshake_hash);
        CHECK(init.remote_static() == kp(v.resp_static).pub);
        CHECK(resp.remote_static() == kp(v.init_static).pub);
        auto [is, ir] = init.split();
        auto [rs, rr] = resp.split();
        for (std::size_t i = 3; i < v.messages.size(); ++i) {
            auto& send = i % 2 == 0 ? is : rs;
            auto& recv = i % 2 == 0 ? rr : ir;
            const Bytes payload = from_hex(v.messages[i].first);
            const Bytes wire = send.encrypt_with_ad({}, payload);
            CHECK(to_hex(wire) == v.messages[i].second);
            auto got = recv.decrypt_with_ad({}, wire);
            REQUIRE(got);
            CHECK(*got == payload);
        }
    }
}

TEST_CASE("Noise XX rejects tampered, reordered and replayed handshake messages", "[noise]") {
    const Bytes prologue = {0x53, 0x4C, 0x01, 0x00};
    const auto is = DhKeyPair::generate();
    const auto rs = DhKeyPair::generate();

    SECTION("tampered message 2") {
        noise::HandshakeState i(true, prologue, is);
        noise::HandshakeState r(false, prologue, rs);
        REQUIRE(r.read_message(i.write_message({})));
        Bytes m2 = r.write_message({});
        m2[40] ^= 1;
        CHECK_FALSE(i.read_message(m2));
        CHECK(i.failed());
        CHECK_THROWS(i.write_message({}));
    }
    SECTION("a message-3-sized message where message 2 is due is rejected") {
        noise::HandshakeState i(true, prologue, is);
        (void)i.write_message({});
        CHECK_FALSE(i.read_message(Bytes(64, 7)));
        CHECK(i.failed());
    }
    SECTION("reading out of turn is rejected") {
        noise::HandshakeState i(true, prologue, is);
        CHECK_FALSE(i.read_message(Bytes(32, 7)));
        CHECK(i.failed());
    }
    SECTION("replayed message 3 from an earlier session fails authentication") {
        noise::HandshakeState i1(true, prologue, is);
        noise::HandshakeState r1(false, prologue, rs);
        const Bytes m1 = i1.write_message({});
        REQUIRE(r1.read_message(m1));
        REQUIRE(i1.read_message(r1.write_message({})));
        const Bytes m3 = i1.write_message({});
        REQUIRE(r1.read_message(m3));
        // Attacker replays m1 and m3 to a fresh responder: the responder's new ephemeral breaks m3.
        noise::HandshakeState r2(false, prologue, rs);
        REQUIRE(r2.read_message(m1));
        (void)r2.write_message({});
        CHECK_FALSE(r2.read_message(m3));
    }
    SECTION("different prologues do not agree") {
        noise::HandshakeState i(true, prologue, is);
        noise::HandshakeState r(false, Bytes{0x57, 0x41, 0x06, 0x02}, rs);
        REQUIRE(r.read_message(i.write_message({})));
        CHECK_FALSE(i.read_message(r.write_message({})));
    }
    SECTION("transport rejects tampering and out-of-order nonces") {
        noise::HandshakeState i(true, prologue, is);
        noise::HandshakeState r(false, prologue, rs);
        REQUIRE(r.read_message(i.write_message({})));
        REQUIRE(i.read_message(r.write_message({})));
        REQUIRE(r.read_message(i.write_message({})));
        auto [isend, irecv] = i.split();
        auto [rsend, rrecv] = r.split();
        const Bytes a = isend.encrypt_with_ad({}, view("first"));
        const Bytes b = isend.encrypt_with_ad({}, view("second"));
        CHECK_FALSE(rrecv.decrypt_with_ad({}, b));
        Bytes bad = a;
        bad.back() ^= 0x80;
        CHECK_FALSE(rrecv.decrypt_with_ad({}, bad));
        CHECK(rrecv.decrypt_with_ad({}, a));
        CHECK(rrecv.decrypt_with_ad({}, b));
        CHECK_FALSE(rrecv.decrypt_with_ad({}, a));
    }
}
