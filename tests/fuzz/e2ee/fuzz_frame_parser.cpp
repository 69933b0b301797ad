// libFuzzer target: the TCP framing layer both sides of sealchat use (prologue check, 2-byte length
// prefixed frames with the handshake's exact sizes, the relay's frame-size limit, JSON control messages).
// Differential: wire::FrameParser (pure) and wire::read_frame (the socket path, over a socketpair) must
// split the same stream into the same frames and fail with the same reason.
//
// Input: byte 0 = options (bits 0-5: feed chunk size - 1; bit 6: client side reading the relay;
// bit 7: relay's smallest frame limit instead of 65535), then the byte stream.
#include "fuzz_common.hpp"
#include "relay/relay.hpp"

#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

using namespace sealscope::e2ee;
using e2ee_fuzz::Bytes;
using e2ee_fuzz::ByteView;

namespace {

struct Outcome {
    std::vector<Bytes> frames;
    std::string error;  ///< empty: the stream ended cleanly or mid-frame
};

// Expected exact length of frame `i`: relay side reads -> e (32) then -> s, se (64); the client reads <- e... (96).
std::size_t exact_for(bool client_side, std::size_t i) {
    if (client_side) return i == 0 ? wire::kHandshake2 : 0;
    if (i == 0) return wire::kHandshake1;
    if (i == 1) return wire::kHandshake3;
    return 0;
}

Outcome run_parser(ByteView stream, std::size_t chunk, bool client_side, std::size_t limit) {
    Outcome o;
    wire::FrameParser p(limit);
    try {
        for (std::size_t at = 0; at < stream.size(); at += chunk) {
            p.feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
            while (auto f = p.next(exact_for(client_side, o.frames.size()))) {
                if (f->size() < wire::kMinFrame || f->size() > limit) e2ee_fuzz::violated("frame size out of range");
                o.frames.push_back(std::move(*f));
            }
        }
    } catch (const wire::WireError& e) {
        o.error = e.what();
    }
    return o;
}

Outcome run_socket(ByteView stream, bool client_side, std::size_t limit) {
    Outcome o;
    auto [mine, peer] = e2ee_fuzz::socket_pair();
    wire::write_all(peer.get(), stream);
    ::shutdown(peer.get(), SHUT_WR);
    try {
        while (true) {
            auto f = wire::read_frame(mine.get(), 0, exact_for(client_side, o.frames.size()), limit);
            if (!f) e2ee_fuzz::violated("read_frame timed out on a closed stream");
            o.frames.push_back(std::move(*f));
        }
    } catch (const wire::WireError& e) {
        o.error = e.what();
    }
    // End of stream (cleanly or inside a frame) is "closed by peer" on a socket, "need more" in the parser.
    if (o.error == "connection closed by peer" || o.error == "timeout inside a frame") o.error.clear();
    return o;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    e2ee_fuzz::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 200000) return 0;
    const std::size_t chunk = (data[0] & 0x3F) + 1;
    const bool client_side = (data[0] & 0x40) != 0;
    const std::size_t limit = (data[0] & 0x80) ? relay::kMinFrameLimit : wire::kMaxFrame;
    ByteView stream(data + 1, size - 1);
    if (!client_side) {
        // The relay reads the 4-byte prologue first.
        if (stream.size() < 4) return 0;
        try {
            (void)wire::parse_prologue(stream.first(4));
        } catch (const wire::WireError&) {
            return 0;
        }
        stream = stream.subspan(4);
    }
    const Outcome a = run_parser(stream, chunk, client_side, limit);
    const Outcome b = run_socket(stream, client_side, limit);
    if (a.frames != b.frames) e2ee_fuzz::violated("FrameParser and read_frame disagree on frames");
    if (a.error != b.error) e2ee_fuzz::violated("FrameParser and read_frame disagree on the error");
    // Transport frames carry control messages once decrypted; the JSON gate must never crash.
    for (std::size_t i = client_side ? 1 : 2; i < a.frames.size(); ++i) {
        try {
            const auto j = wire::parse_json(a.frames[i]);
            if (!j.is_object() || !j.at("t").is_string()) e2ee_fuzz::violated("parse_json let a non-request through");
        } catch (const wire::WireError&) {
        }
    }
    return 0;
}

void e2ee_fuzz_write_seeds(const std::string& dir) {
    using e2ee_fuzz::frame;
    using e2ee_fuzz::write_seed;
    e2ee_fuzz::reseed(42);
    // A real handshake in memory, then real transport frames (JSON requests and a blob chunk).
    const auto relay_key = crypto::DhKeyPair::generate();
    const auto client_key = crypto::DhKeyPair::generate();
    for (const auto ch : {wire::Channel::chat, wire::Channel::blob}) {
        const auto pro = wire::prologue(ch);
        crypto::noise::HandshakeState ini(true, pro, client_key), res(false, pro, relay_key);
        const Bytes m1 = ini.write_message({});
        (void)res.read_message(m1);
        const Bytes m2 = res.write_message({});
        (void)ini.read_message(m2);
        const Bytes m3 = ini.write_message({});
        (void)res.read_message(m3);
        auto [c_send, c_recv] = ini.split();
        auto [r_send, r_recv] = res.split();
        Bytes up(1, static_cast<std::uint8_t>(0x3F));  // chunk 64, relay side, 65535 limit
        up.insert(up.end(), pro.begin(), pro.end());
        crypto::append(up, frame(m1));
        crypto::append(up, frame(m3));
        Bytes down(1, static_cast<std::uint8_t>(0x40 | 0x07));  // chunk 8, client side
        crypto::append(down, frame(m2));
        if (ch == wire::Channel::chat) {
            for (const char* j : {R"({"t":"login","id":1,"user":"alice"})", R"({"t":"ping","id":2})",
                                  R"({"t":"ack","env_id":7})"})
                crypto::append(up, frame(c_send.encrypt_with_ad({}, crypto::view(j))));
            crypto::append(down, frame(r_send.encrypt_with_ad({}, crypto::view(R"({"t":"ok","id":1,"otpks_left":20})"))));
        } else {
            crypto::append(up, frame(c_send.encrypt_with_ad({}, crypto::view(R"({"t":"blob_put","id":2,"size":40})"))));
            Bytes chunk(1, static_cast<std::uint8_t>(wire::kKindChunk));
            chunk.resize(41, 0xAB);
            crypto::append(up, frame(c_send.encrypt_with_ad({}, chunk)));
        }
        const std::string tag = ch == wire::Channel::chat ? "chat" : "blob";
        write_seed(dir, "client-stream-" + tag, up);
        write_seed(dir, "relay-stream-" + tag, down);
    }
    // Edge cases: plaintext JSON frames (the JSON gate), a frame over the small limit, undersized frames.
    Bytes json_frames(1, static_cast<std::uint8_t>(0x41));
    crypto::append(json_frames, frame(Bytes(wire::kHandshake2, 0)));
    for (const char* j : {R"({"t":"send","to":"bob","env":"AAAA"})", R"({"t":5})", "{}", "{\"t\":\"x\"}  "}) {
        Bytes body(j, j + std::strlen(j));
        body.resize(std::max<std::size_t>(body.size(), wire::kMinFrame), ' ');
        crypto::append(json_frames, frame(body));
    }
    Bytes big{0x80 | 0x3F, 0x53, 0x4C, 0x01, 0x00};
    crypto::append(big, frame(Bytes(32, 1)));
    crypto::append(big, frame(Bytes(64, 2)));
    crypto::append(big, frame(Bytes(relay::kMinFrameLimit + 1, 3)));
    write_seed(dir, "over-limit", big);
    write_seed(dir, "json-frames", json_frames);
    write_seed(dir, "undersized", Bytes{0x00, 0x53, 0x4C, 0x01, 0x01, 0x00, 0x03, 1, 2, 3});
}
