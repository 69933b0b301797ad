// libFuzzer target: the Noise_XX handshake and transport as the relay and the client run them on a
// socket (wire::SecureChannel::accept / connect over a socketpair, with the relay's frame limit and the
// relay's request parser behind it), plus an in-memory property check of HandshakeState.
//
// Input: byte 0 selects the mode, the rest is:
//   mode 0: bytes a client sends to the relay (prologue, -> e, -> s se, transport frames);
//   mode 1: bytes the relay sends to a client (<- e ee s es, transport frames);
//   mode 2: a tamper script for an in-memory handshake: payload lengths and (message, offset, xor) edits.
// The RNG is deterministic per input, so seeds made by e2ee_fuzz_write_seeds complete the handshake.
#include "fuzz_common.hpp"
#include "relay/request.hpp"

#include <sys/socket.h>

using namespace sealscope::e2ee;
using e2ee_fuzz::Bytes;
using e2ee_fuzz::ByteView;

namespace {

constexpr std::uint64_t kSeed = 0x5EA1C4A7;
crypto::DhKeyPair g_relay_key, g_client_key, g_fixed_e;

void drain_transport(wire::SecureChannel& ch, bool relay_side) {
    for (int i = 0; i < 64; ++i) {
        auto pt = ch.recv(0);
        if (!pt) return;
        try {
            if (relay_side) (void)relay::parse_request(*pt, ch.channel());
            else (void)wire::parse_json(*pt);
        } catch (const wire::WireError&) {
        }
    }
}

void relay_side(ByteView in) {
    auto [mine, peer] = e2ee_fuzz::socket_pair();
    wire::write_all(peer.get(), in);
    ::shutdown(peer.get(), SHUT_WR);
    try {
        auto ch = wire::SecureChannel::accept(std::move(mine), g_relay_key, 0);
        ch.set_max_frame(wire::kMaxFrame);
        drain_transport(ch, true);
    } catch (const wire::WireError&) {
    }
}

void client_side(ByteView in) {
    auto [mine, peer] = e2ee_fuzz::socket_pair();
    wire::write_all(peer.get(), in);
    ::shutdown(peer.get(), SHUT_WR);
    try {
        auto ch = wire::SecureChannel::connect(std::move(mine), wire::Channel::chat, g_client_key, 0);
        drain_transport(ch, false);
    } catch (const wire::WireError&) {
    }
}

// In memory: three messages with fuzzer-chosen payloads and byte edits; without an edit both sides must
// complete with matching keys, with any effective edit they must not both complete.
void tamper(ByteView in) {
    std::size_t at = 0;
    auto byte = [&]() -> std::uint8_t { return at < in.size() ? in[at++] : 0; };
    const auto pro = wire::prologue(wire::Channel::chat);
    crypto::noise::HandshakeState ini(true, pro, g_client_key), res(false, pro, g_relay_key);
    bool edited = false;
    bool ok = true;
    for (int m = 0; m < 3 && ok; ++m) {
        auto& w = (m % 2 == 0) ? ini : res;
        auto& r = (m % 2 == 0) ? res : ini;
        Bytes payload(byte() % 48, 0);
        for (auto& b : payload) b = byte();
        Bytes msg;
        try {
            msg = w.write_message(payload);
        } catch (const crypto::CryptoError&) {
            // Writing fails only on a peer key that was edited into a low-order point.
            if (!edited) e2ee_fuzz::violated("write_message failed without an edit");
            ok = false;
            break;
        }
        const Bytes original = msg;
        const std::uint8_t edits = byte() % 4;
        for (std::uint8_t e = 0; e < edits && !msg.empty(); ++e) {
            const std::size_t off = (std::size_t{byte()} << 8 | byte()) % msg.size();
            const std::uint8_t x = byte();
            msg[off] ^= x;
        }
        if (byte() & 1) {  // truncate or extend
            const std::uint8_t n = byte();
            if (n & 0x80) msg.resize(msg.size() - std::min<std::size_t>(msg.size(), n & 0x7F));
            else msg.resize(msg.size() + n, 0);
        }
        edited |= msg != original;
        auto got = r.read_message(msg);
        if (!got) ok = false;
        else if (!edited && *got != payload) e2ee_fuzz::violated("handshake payload changed in transit");
    }
    const bool both = ini.complete() && res.complete();
    if (!edited && !both) e2ee_fuzz::violated("untouched handshake did not complete");
    if (edited && both) e2ee_fuzz::violated("tampered handshake completed");
    if (both) {
        auto [is, ir] = ini.split();
        auto [rs, rr] = res.split();
        const Bytes ct = is.encrypt_with_ad({}, crypto::view("{\"t\":\"ping\"}"));
        auto pt = rr.decrypt_with_ad({}, ct);
        if (!pt || ini.handshake_hash() != res.handshake_hash()) e2ee_fuzz::violated("split keys disagree");
        if (ini.remote_static() != g_relay_key.pub || res.remote_static() != g_client_key.pub)
            e2ee_fuzz::violated("wrong remote static key");
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    e2ee_fuzz::init();
    e2ee_fuzz::reseed(7);
    g_relay_key = crypto::DhKeyPair::generate();
    g_client_key = crypto::DhKeyPair::generate();
    g_fixed_e = crypto::DhKeyPair::generate();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 200000) return 0;
    e2ee_fuzz::reseed(kSeed);
    const ByteView in(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: relay_side(in); break;
    case 1: client_side(in); break;
    default: tamper(in); break;
    }
    return 0;
}

void e2ee_fuzz_write_seeds(const std::string& dir) {
    using e2ee_fuzz::frame;
    // Mode 0: a genuine client, replaying exactly the relay's deterministic ephemeral key.
    for (const auto ch : {wire::Channel::chat, wire::Channel::blob}) {
        e2ee_fuzz::reseed(kSeed);
        const auto pro = wire::prologue(ch);
        crypto::noise::HandshakeState res(false, pro, g_relay_key);  // consumes the RNG as accept() does
        crypto::noise::HandshakeState ini(true, pro, g_client_key, g_fixed_e);
        const Bytes m1 = ini.write_message({});
        (void)res.read_message(m1);
        (void)ini.read_message(res.write_message({}));
        const Bytes m3 = ini.write_message({});
        auto [send, recv] = ini.split();
        Bytes s(1, static_cast<std::uint8_t>(0));
        s.insert(s.end(), pro.begin(), pro.end());
        crypto::append(s, frame(m1));
        crypto::append(s, frame(m3));
        if (ch == wire::Channel::chat) {
            for (const char* j : {R"({"t":"login","id":1,"user":"alice"})", R"({"t":"ping","id":2})",
                                  R"({"t":"send","id":3,"to":"bob","sealed":true,"env":"AgAB"})",
                                  R"({"t":"prekeys","id":4,"user":"bob"})", R"({"t":"ack","env_id":9})"})
                crypto::append(s, frame(send.encrypt_with_ad({}, crypto::view(j))));
        } else {
            for (const char* j : {R"({"t":"login","id":1,"user":"alice"})", R"({"t":"blob_put","id":2,"size":3})",
                                  R"({"t":"blob_get","id":3,"blob_id":"0123456789abcdef0123456789abcdef"})"})
                crypto::append(s, frame(send.encrypt_with_ad({}, crypto::view(j))));
        }
        e2ee_fuzz::write_seed(dir, std::string("relay-side-") + (ch == wire::Channel::chat ? "chat" : "blob"), s);
    }
    // Mode 1: a genuine relay answering the client's deterministic ephemeral key.
    {
        e2ee_fuzz::reseed(kSeed);
        const auto pro = wire::prologue(wire::Channel::chat);
        crypto::noise::HandshakeState ini(true, pro, g_client_key);
        const Bytes m1 = ini.write_message({});  // consumes the RNG as connect() does
        crypto::noise::HandshakeState res(false, pro, g_relay_key, g_fixed_e);
        (void)res.read_message(m1);
        const Bytes m2 = res.write_message({});
        (void)ini.read_message(m2);
        (void)res.read_message(ini.write_message({}));
        auto [send, recv] = res.split();
        Bytes s(1, static_cast<std::uint8_t>(1));
        crypto::append(s, frame(m2));
        for (const char* j : {R"({"t":"ok","id":1,"otpks_left":20})", R"({"t":"deliver","env_id":5,"env":"AQ==","from":"bob"})"})
            crypto::append(s, frame(send.encrypt_with_ad({}, crypto::view(j))));
        e2ee_fuzz::write_seed(dir, "client-side", s);
    }
    // Mode 2: no edits; a payload plus one edit; a truncation.
    e2ee_fuzz::write_seed(dir, "tamper-none", Bytes{2, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    e2ee_fuzz::write_seed(dir, "tamper-edit", Bytes{2, 4, 'a', 'b', 'c', 'd', 1, 0, 40, 0x10, 0, 0, 0, 0, 0});
    e2ee_fuzz::write_seed(dir, "tamper-trunc", Bytes{2, 0, 0, 0, 0, 0, 1, 0x85, 0, 0});
}
