// libFuzzer target: the end-to-end message parsers of sealchat - envelopes (prekey / message / sealed
// sender), the Double Ratchet header and body, padding - and the ratchet's state machine.
//
// Input: byte 0 selects the mode, the rest is:
//   mode 0: one envelope delivered to Bob (raw bytes: type byte, X3DH header, ratchet message);
//   mode 1: one sealed-sender envelope opened by Bob, then its inner envelope decrypted;
//   mode 2: a script over a live Alice/Bob session: encrypt, deliver (in any order, duplicated, edited),
//           jump ahead (skipped keys, MAX_SKIP), with the invariant that whatever decrypts is exactly what
//           was sent and that failures are reported with a reason.
// Both accounts are made once with a deterministic RNG; every input starts from copies of them.
#include "fuzz_common.hpp"
#include "client/account.hpp"

#include <optional>

using namespace sealscope::e2ee;
using client::Account;
using e2ee_fuzz::Bytes;
using e2ee_fuzz::ByteView;
using nlohmann::json;

namespace {

constexpr std::uint64_t kSeed = 0xDA7C4E7;
std::optional<Account> g_alice, g_bob;

json bundle_of(const Account& a) {
    json reg = a.registration();
    json b = {{"identity", reg["identity"]}, {"spk_id", reg["spk_id"]}, {"spk", reg["spk"]}, {"spk_sig", reg["spk_sig"]}};
    b["otpk_id"] = reg["otpks"][0][0];
    b["otpk"] = reg["otpks"][0][1];
    return b;
}

void check_reported(const Account& a, const std::optional<Bytes>& pt) {
    if (!pt && a.last_decrypt_error().empty()) e2ee_fuzz::violated("a failed decrypt gave no reason");
    if (pt && !a.last_decrypt_error().empty()) e2ee_fuzz::violated("a successful decrypt kept an error");
}

void one_envelope(ByteView in) {
    Account bob = *g_bob;
    auto pt = bob.decrypt("alice", in);
    check_reported(bob, pt);
    (void)crypto::ratchet::unpad(in);
}

void sealed(ByteView in) {
    Account bob = *g_bob;
    auto opened = bob.unseal(in);
    if (!opened) return;
    auto pt = bob.decrypt(opened->first, opened->second);
    check_reported(bob, pt);
}

struct Sent {
    bool from_alice;
    Bytes plain;
    Bytes env;
};

void script(ByteView in) {
    Account alice = *g_alice, bob = *g_bob;
    std::vector<Sent> sent;
    std::size_t at = 0;
    auto byte = [&]() -> std::uint8_t { return at < in.size() ? in[at++] : 0; };
    std::size_t budget = 1500;  // ratchet steps per input: enough to cross MAX_SKIP (1000) once, fast enough to fuzz
    bool bob_can_send = false;
    while (at < in.size() && budget > 0) {
        const std::uint8_t op = byte();
        switch (op % 5) {
        case 0:
        case 1: {  // encrypt one message, or jump ahead by up to 1100 (beyond MAX_SKIP)
            const bool from_alice = op % 5 == 0 || !bob_can_send;
            std::size_t n = 1;
            if (op & 0x80) n = std::min<std::size_t>(budget, (std::size_t{byte()} << 8 | byte()) % 1100 + 1);
            budget -= n;
            for (std::size_t i = 0; i < n; ++i) {
                Bytes plain(byte() % 24, 0);
                for (auto& b : plain) b = byte();
                Account& w = from_alice ? alice : bob;
                sent.push_back({from_alice, plain, w.encrypt(from_alice ? "bob" : "alice", plain)});
            }
            break;
        }
        case 2:
        case 3: {  // deliver message k, maybe edited
            if (sent.empty()) break;
            const Sent& s = sent[(std::size_t{byte()} << 8 | byte()) % sent.size()];
            Bytes env = s.env;
            if (op & 0x80) {
                const std::size_t off = (std::size_t{byte()} << 8 | byte()) % env.size();
                env[off] ^= static_cast<std::uint8_t>(byte() | 1);
            }
            Account& r = s.from_alice ? bob : alice;
            auto pt = r.decrypt(s.from_alice ? "alice" : "bob", env);
            --budget;
            check_reported(r, pt);
            if (pt && *pt != s.plain) e2ee_fuzz::violated("decrypted plaintext differs from what was sent");
            if (pt && s.from_alice) bob_can_send = true;
            break;
        }
        default: {  // a sealed copy of message k
            if (sent.empty()) break;
            const Sent& s = sent[byte() % sent.size()];
            if (!s.from_alice) break;
            const Bytes wrapped = alice.seal("bob", s.env);
            auto opened = bob.unseal(wrapped);
            if (!opened || opened->first != "alice" || opened->second != s.env)
                e2ee_fuzz::violated("sealed sender did not round-trip");
            break;
        }
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    e2ee_fuzz::init();
    e2ee_fuzz::reseed(3);
    Account alice = Account::create("alice", 1);
    Account bob = Account::create("bob", 1);
    alice.start_session("bob", bundle_of(bob));
    g_alice = std::move(alice);
    g_bob = std::move(bob);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 100000) return 0;
    e2ee_fuzz::reseed(kSeed);
    const ByteView in(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: one_envelope(in); break;
    case 1: sealed(in); break;
    default: script(in); break;
    }
    return 0;
}

void e2ee_fuzz_write_seeds(const std::string& dir) {
    auto with = [](std::uint8_t mode, const Bytes& b) {
        Bytes out(1, static_cast<std::uint8_t>(mode));
        crypto::append(out, b);
        return out;
    };
    e2ee_fuzz::reseed(kSeed);
    Account alice = *g_alice, bob = *g_bob;
    const Bytes first = alice.encrypt("bob", crypto::view(R"({"k":"text","body":"hello"})"));
    e2ee_fuzz::write_seed(dir, "prekey-envelope", with(0, first));
    e2ee_fuzz::write_seed(dir, "sealed-envelope", with(1, alice.seal("bob", first)));
    (void)bob.decrypt("alice", first);
    const Bytes reply = bob.encrypt("alice", crypto::view(R"({"k":"receipt","state":"read"})"));
    (void)alice.decrypt("bob", reply);
    const Bytes second = alice.encrypt("bob", crypto::view(R"({"k":"typing","on":true})"));
    e2ee_fuzz::write_seed(dir, "message-envelope", with(0, second));  // needs a session: exercises the refusal
    // Scripts: in order with replies; out of order with an edit; a jump beyond MAX_SKIP.
    e2ee_fuzz::write_seed(dir, "script-basic", Bytes{2, 0, 3, 'h', 'i', '!', 2, 0, 0, 1, 2, 'o', 'k', 3, 0, 1, 4, 0});
    e2ee_fuzz::write_seed(dir, "script-reorder",
                          Bytes{2, 0, 1, 'a', 0, 1, 'b', 0, 1, 'c', 2, 0, 2, 2, 0, 0, 0x82, 0, 1, 0, 45, 0x40, 2, 0, 1});
    e2ee_fuzz::write_seed(dir, "script-maxskip", Bytes{2, 0x80, 0x03, 0xF0, 0, 0, 2, 0x03, 0xF0, 2, 0, 0, 2, 0, 5});
}
