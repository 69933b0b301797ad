// The null-cipher debug mode (sealchat --null-cipher / sealrelay --allow-null-cipher), the positive control
// for traffic audits: refused by default, plaintext on the wire when allowed, refused by normal clients,
// and normal mode untouched.
#include "client/scenario.hpp"
#include "relay/relay.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opus/opus.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include "support.hpp"

using namespace sealscope::e2ee;
using namespace sealscope::e2ee::client;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path temp_dir(const std::string& tag) { return test::temp_dir("null", tag); }

relay::RelayConfig relay_config(const fs::path& dir, bool allow_null) {
    relay::RelayConfig c = test::relay_config(dir);
    c.allow_null_cipher = allow_null;
    return c;
}

ClientConfig client_config(std::uint16_t chat, std::uint16_t blob, bool null_cipher) {
    ClientConfig c = test::client_config(chat, blob);
    c.null_cipher = null_cipher;
    return c;
}

using test::slurp;

/// `needle` base64-encoded at any of the three alignments inside `hay` (what an observer would search).
bool contains_b64(const std::string& hay, const std::string& needle) {
    for (std::size_t k = 0; k < 3; ++k) {
        std::string shifted(k, '\0');
        shifted += needle;
        const std::string enc = crypto::to_b64(crypto::view(shifted));
        const std::size_t start = k == 0 ? 0 : k + 1;  // characters that mix in the filler bytes
        const std::size_t end = shifted.size() / 3 * 4;  // characters that mix in the '=' padding
        if (end > start + 8 && hay.find(enc.substr(start, end - start)) != std::string::npos) return true;
    }
    return false;
}

/// A TCP forwarder that keeps every byte each connection carried: what an on-path observer sees.
class TapProxy {
public:
    explicit TapProxy(std::uint16_t target) : target_(target), listen_(wire::tcp_listen("127.0.0.1", 0)) {
        port_ = wire::bound_port(listen_.get());
        thread_ = std::thread([this] { accept_loop(); });
    }
    ~TapProxy() {
        stop_ = true;
        thread_.join();
        for (auto& t : pumps_) t.join();
    }
    std::uint16_t port() const { return port_; }
    /// Client-to-relay bytes, one string per connection, in connection order.
    std::vector<std::string> upstream() const {
        std::lock_guard lock(mutex_);
        return up_;
    }
    /// Both directions of all connections.
    std::string all() const {
        std::lock_guard lock(mutex_);
        std::string s;
        for (std::size_t i = 0; i < up_.size(); ++i) s += up_[i] + down_[i];
        return s;
    }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{listen_.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            wire::Fd client(c);
            wire::Fd relay;
            try {
                relay = wire::tcp_connect("127.0.0.1", target_);
            } catch (const wire::WireError&) {
                continue;
            }
            std::size_t idx;
            {
                std::lock_guard lock(mutex_);
                idx = up_.size();
                up_.emplace_back();
                down_.emplace_back();
            }
            pumps_.emplace_back([this, idx, a = std::move(client), b = std::move(relay)]() mutable {
                pump(idx, std::move(a), std::move(b));
            });
        }
    }
    void pump(std::size_t idx, wire::Fd a, wire::Fd b) {
        std::array<char, 65536> buf{};
        while (!stop_) {
            pollfd p[2] = {{a.get(), POLLIN, 0}, {b.get(), POLLIN, 0}};
            if (::poll(p, 2, 100) <= 0) continue;
            for (int i = 0; i < 2; ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t n = ::recv(p[i].fd, buf.data(), buf.size(), 0);
                if (n <= 0) return;
                {
                    std::lock_guard lock(mutex_);
                    (i == 0 ? up_ : down_)[idx].append(buf.data(), static_cast<std::size_t>(n));
                }
                try {
                    wire::write_all(p[1 - i].fd, crypto::ByteView(reinterpret_cast<const std::uint8_t*>(buf.data()),
                                                                  static_cast<std::size_t>(n)));
                } catch (const wire::WireError&) {
                    return;
                }
            }
        }
    }

    std::uint16_t target_;
    wire::Fd listen_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<std::thread> pumps_;
    mutable std::mutex mutex_;
    std::vector<std::string> up_, down_;
};

/// What an observer reads from a null-cipher chat connection (client to relay): the message bodies inside
/// the envelopes of its "send" requests, decoded from frames, JSON and base64 alone (no key).
std::vector<json> observed_bodies(const std::string& up) {
    std::vector<json> out;
    if (up.size() < 4 || static_cast<std::uint8_t>(up[3]) != (wire::kNullCipherFlag | 0x00)) return out;
    wire::FrameParser fp;
    fp.feed(crypto::view(up).subspan(4));
    if (!fp.next(wire::kHandshake1) || !fp.next(wire::kHandshake3)) return out;
    while (auto f = fp.next()) {
        REQUIRE(f->size() >= 16);
        CHECK(std::all_of(f->end() - 16, f->end(), [](std::uint8_t b) { return b == 0; }));
        const auto req = json::parse(f->begin(), f->end() - 16, nullptr, false);
        if (req.is_discarded() || req.value("t", "") != "send") continue;
        crypto::Bytes env = crypto::from_b64(req.at("env").get<std::string>());
        if (env.at(0) == static_cast<std::uint8_t>(EnvelopeType::plain_sealed)) env = Account::unseal_null(env)->second;
        REQUIRE(env.at(0) == static_cast<std::uint8_t>(EnvelopeType::plain));
        const auto body = Account::decrypt_null(env);
        REQUIRE(body);
        out.push_back(json::parse(body->begin(), body->end()));
    }
    return out;
}

/// A stand-in media relay that forwards between the two legs of one call and keeps every datagram.
class UdpTap {
public:
    UdpTap() : sock_(wire::udp_bind("127.0.0.1", 0)) {
        port_ = wire::bound_port(sock_.get());
        thread_ = std::thread([this] { loop(); });
    }
    ~UdpTap() {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    std::vector<crypto::Bytes> datagrams() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    void loop() {
        std::array<std::uint8_t, 2048> buf{};
        std::array<std::optional<sockaddr_in>, 2> legs;
        while (!stop_) {
            pollfd p{sock_.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n = ::recvfrom(sock_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < static_cast<ssize_t>(wire::kMediaHeader) || buf[0] != wire::kMediaMagic || buf[2] > 1) continue;
            legs[buf[2]] = from;
            {
                std::lock_guard lock(mutex_);
                seen_.emplace_back(buf.begin(), buf.begin() + n);
            }
            const auto& to = legs[1 - buf[2]];
            if (buf[1] != static_cast<std::uint8_t>(wire::MediaType::bind) && to)
                ::sendto(sock_.get(), buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&*to),
                         sizeof *to);
        }
    }
    wire::Fd sock_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<crypto::Bytes> seen_;
};

/// Both legs of a call through a UdpTap; returns (caller stats, callee stats).
std::pair<CallStats, CallStats> call_through(const UdpTap& tap, bool null_cipher, double seconds) {
    CallParams p;
    p.relay = wire::resolve("127.0.0.1", 0).front();
    p.udp_port = tap.port();
    const auto token = crypto::random_bytes(16);
    std::copy(token.begin(), token.end(), p.token.begin());
    p.srtp_key = null_cipher ? crypto::Bytes{} : new_srtp_master();
    p.null_cipher = null_cipher;
    p.seconds = seconds;
    CallParams q = p;
    q.leg = 1;
    q.seed = 2;
    CallStats callee;
    std::thread t([&] { callee = run_call(q); });
    const CallStats caller = run_call(p);
    t.join();
    return {caller, callee};
}

/// Audio packets (type rtp, PT 111) whose payload after the 12-byte RTP header is one 20 ms Opus packet.
std::pair<std::size_t, std::size_t> opus_20ms(const std::vector<crypto::Bytes>& datagrams) {
    std::size_t audio = 0, clear = 0;
    for (const auto& d : datagrams) {
        if (d[1] != static_cast<std::uint8_t>(wire::MediaType::rtp) || d.size() < 20 + 13 || d[20] != 0x80 ||
            (d[21] & 0x7F) != 111)
            continue;
        ++audio;
        if (opus_packet_get_nb_samples(d.data() + 32, static_cast<opus_int32>(d.size() - 32), 48000) == 960) ++clear;
    }
    return {audio, clear};
}

/// Run a command through the shell; (exit status, stdout + stderr).
std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(f);
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    const int st = ::pclose(f);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

} // namespace

TEST_CASE("Null cipher: the prologue flag, the plaintext transport framing, and normal mode unchanged", "[null]") {
    // Normal prologues are what they always were; the flag is 0x80 in the channel byte.
    CHECK(wire::prologue(wire::Channel::chat) == std::array<std::uint8_t, 4>{0x53, 0x4C, 0x01, 0x00});
    CHECK(wire::prologue(wire::Channel::blob) == std::array<std::uint8_t, 4>{0x53, 0x4C, 0x01, 0x01});
    CHECK(wire::prologue(wire::Channel::chat, true) == std::array<std::uint8_t, 4>{0x53, 0x4C, 0x01, 0x80});
    CHECK(wire::prologue(wire::Channel::blob, true) == std::array<std::uint8_t, 4>{0x53, 0x4C, 0x01, 0x81});
    const auto pb = wire::parse_prologue(std::array<std::uint8_t, 4>{0x53, 0x4C, 0x01, 0x81});
    CHECK(pb.channel == wire::Channel::blob);
    CHECK(pb.null_cipher);
    CHECK_FALSE(wire::parse_prologue(wire::prologue(wire::Channel::chat)).null_cipher);
    CHECK_THROWS_AS(wire::parse_prologue(std::array<std::uint8_t, 4>{0x53, 0x4C, 0x01, 0x82}), wire::WireError);
    CHECK_THROWS_AS(wire::parse_prologue(std::array<std::uint8_t, 4>{0x53, 0x4C, 0x02, 0x80}), wire::WireError);

    const auto relay_key = crypto::DhKeyPair::generate();
    const auto client_key = crypto::DhKeyPair::generate();
    auto pair = [] {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        return std::make_pair(wire::Fd(sv[0]), wire::Fd(sv[1]));
    };

    SECTION("a responder that does not allow the mode refuses before the handshake") {
        auto [c, r] = pair();
        std::string why;
        std::thread t([&, fd = std::move(r)]() mutable {
            try {
                (void)wire::SecureChannel::accept(std::move(fd), relay_key, 2000);
            } catch (const wire::WireError& e) {
                why = e.what();
            }
        });
        CHECK_THROWS_WITH(wire::SecureChannel::connect(std::move(c), wire::Channel::chat, client_key, 2000, true),
                          Catch::Contains("--allow-null-cipher"));
        t.join();
        CHECK(why == wire::kNullCipherRefused);
    }
    SECTION("allowed: frames are the plaintext then 16 zero bytes, and a non-zero tag is refused") {
        auto [c, r] = pair();
        std::optional<wire::SecureChannel> server;
        std::thread t([&, fd = std::move(r)]() mutable {
            server.emplace(wire::SecureChannel::accept(std::move(fd), relay_key, 2000, true));
        });
        auto client = wire::SecureChannel::connect(std::move(c), wire::Channel::blob, client_key, 2000, true);
        t.join();
        REQUIRE(server);
        CHECK(server->null_cipher());
        CHECK(server->channel() == wire::Channel::blob);
        CHECK(server->remote_static() == client_key.pub);  // the handshake still authenticates
        client.send_json({{"t", "ping"}, {"canary", "plain-on-the-wire"}});
        const auto raw = wire::read_frame(server->fd().get(), 2000);  // the frame as it crossed the socket
        REQUIRE(raw);
        const std::string text = json{{"t", "ping"}, {"canary", "plain-on-the-wire"}}.dump();
        CHECK(std::string(raw->begin(), raw->end() - 16) == text);
        CHECK(std::all_of(raw->end() - 16, raw->end(), [](std::uint8_t b) { return b == 0; }));
        server->send(crypto::view("{\"t\":\"ok\"}"));
        CHECK(wire::parse_json(*client.recv(2000))["t"] == "ok");
        crypto::Bytes forged(crypto::view("{\"t\":\"ok\"}").begin(), crypto::view("{\"t\":\"ok\"}").end());
        forged.resize(forged.size() + 16, 0);
        forged.back() = 1;
        wire::write_frame(server->fd().get(), forged);
        CHECK_THROWS_WITH(client.recv(2000), Catch::Contains("non-zero tag"));
    }
    SECTION("normal mode: frames are ciphertext of plaintext + 16 bytes, as before") {
        auto [c, r] = pair();
        std::optional<wire::SecureChannel> server;
        std::thread t([&, fd = std::move(r)]() mutable {
            server.emplace(wire::SecureChannel::accept(std::move(fd), relay_key, 2000, true));
        });
        auto client = wire::SecureChannel::connect(std::move(c), wire::Channel::chat, client_key, 2000);
        t.join();
        REQUIRE(server);
        CHECK_FALSE(server->null_cipher());
        const std::string text = json{{"t", "ping"}, {"canary", "plain-on-the-wire"}}.dump();
        client.send(crypto::view(text));
        const auto raw = wire::read_frame(server->fd().get(), 2000);
        REQUIRE(raw);
        CHECK(raw->size() == text.size() + 16);
        CHECK(std::string(raw->begin(), raw->end()).find("canary") == std::string::npos);
    }
}

TEST_CASE("Null cipher: a normal relay refuses a null-cipher client with a logged reason and keeps serving",
          "[null][relay]") {
    const fs::path dir = temp_dir("refuse");
    relay::Relay r(relay_config(dir, false));
    r.start();
    Client plain(client_config(r.chat_port(), r.blob_port(), true), Account::create("mallory"));
    CHECK_THROWS_WITH(plain.connect(true), Catch::Contains("--allow-null-cipher"));
    // The normal mode on the same relay is unaffected.
    Client alice(client_config(r.chat_port(), r.blob_port(), false), Account::create("alice"));
    Client bob(client_config(r.chat_port(), r.blob_port(), false), Account::create("bob"));
    alice.connect(true);
    bob.connect(true);
    alice.send_text("bob", "hello");
    auto e = bob.wait_event(5000);
    REQUIRE(e);
    CHECK(e->body.at("body") == "hello");
    alice.disconnect();
    bob.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("reason=\"null-cipher client refused: relay not started with --allow-null-cipher\"") !=
          std::string::npos);
    CHECK(log.find("null_cipher_allowed") == std::string::npos);
    CHECK(log.find("mallory") == std::string::npos);  // refused before it could even log in
    fs::remove_all(dir);
}

TEST_CASE("Null cipher: an allowing relay delivers texts, sealed texts and a file, all readable on the wire",
          "[null][relay][e2e]") {
    const fs::path dir = temp_dir("allow");
    relay::Relay r(relay_config(dir, true));
    r.start();
    TapProxy chat_tap(r.chat_port());
    TapProxy blob_tap(r.blob_port());
    const auto cfg = client_config(chat_tap.port(), blob_tap.port(), true);
    Client alice(cfg, Account::create("alice"));
    Client bob(cfg, Account::create("bob"));
    alice.connect(true);
    bob.connect(true);

    const std::string text = "canary-null-text Grüße aus Köln – 7f3a";
    const std::string sealed_text = "canary-null-sealed-text-4411";
    alice.send_text("bob", text);
    alice.send_text("bob", sealed_text, true);
    auto e1 = bob.wait_event(5000);
    auto e2 = bob.wait_event(5000);
    REQUIRE(e1);
    REQUIRE(e2);
    CHECK(e1->body.at("body") == text);
    CHECK_FALSE(e1->sealed);
    CHECK(e2->body.at("body") == sealed_text);
    CHECK(e2->sealed);
    CHECK(e2->from == "alice");

    std::string content;
    while (content.size() < 70000) content += "canary-null-file-content ";
    const crypto::Bytes file(content.begin(), content.end());
    alice.send_file("bob", file, "canary-null-name.txt");
    auto fe = bob.wait_event(5000, [](const Event& e) { return e.body.value("k", "") == "file"; });
    REQUIRE(fe);
    CHECK(fe->body.at("cipher") == "null");
    CHECK(fe->body.at("name") == "canary-null-name.txt");
    CHECK(bob.fetch_file(fe->body) == file);
    CHECK(bob.undecryptable() == 0);
    alice.disconnect();
    bob.disconnect();

    // On the wire: texts and the file name in base64 in the chat connections, the content raw in the blob ones.
    const std::string chat_wire = chat_tap.all();
    const std::string blob_wire = blob_tap.all();
    CHECK(contains_b64(chat_wire, text));
    CHECK(contains_b64(chat_wire, sealed_text));
    CHECK(contains_b64(chat_wire, "canary-null-name.txt"));
    CHECK(blob_wire.find("canary-null-file-content canary-null-file-content") != std::string::npos);
    CHECK(chat_wire.find("\"t\":\"send\"") != std::string::npos);  // the control JSON is readable too
    // An observer decodes the bodies Alice sent without any key.
    std::vector<std::string> bodies;
    for (const auto& up : chat_tap.upstream())
        for (const auto& b : observed_bodies(up))
            if (b.value("k", "") == "text") bodies.push_back(b.at("body").get<std::string>());
    CHECK(bodies == std::vector<std::string>{text, sealed_text});
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("null_cipher_allowed") != std::string::npos);
    CHECK(log.find("null_cipher peer=") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Null cipher: the same exchange in normal mode shows none of the plaintext on the wire", "[null][relay]") {
    const fs::path dir = temp_dir("normal");
    relay::Relay r(relay_config(dir, true));  // allowing the mode changes nothing for normal clients
    r.start();
    TapProxy chat_tap(r.chat_port());
    TapProxy blob_tap(r.blob_port());
    const auto cfg = client_config(chat_tap.port(), blob_tap.port(), false);
    Client alice(cfg, Account::create("alice"));
    Client bob(cfg, Account::create("bob"));
    alice.connect(true);
    bob.connect(true);
    const std::string text = "canary-normal-text-93e1";
    alice.send_text("bob", text);
    std::string content;
    while (content.size() < 70000) content += "canary-normal-file-content ";
    const crypto::Bytes file(content.begin(), content.end());
    alice.send_file("bob", file, "canary-normal-name.txt");
    auto e = bob.wait_event(5000);
    REQUIRE(e);
    CHECK(e->body.at("body") == text);
    auto fe = bob.wait_event(5000, [](const Event& ev) { return ev.body.value("k", "") == "file"; });
    REQUIRE(fe);
    CHECK_FALSE(fe->body.contains("cipher"));
    CHECK(bob.fetch_file(fe->body) == file);
    alice.disconnect();
    bob.disconnect();
    const std::string wire_bytes = chat_tap.all() + blob_tap.all();
    for (const std::string& s : {text, std::string("canary-normal-name.txt"), std::string("canary-normal-file-content")}) {
        INFO(s);
        CHECK(wire_bytes.find(s) == std::string::npos);
        CHECK_FALSE(contains_b64(wire_bytes, s));
    }
    for (const auto& up : chat_tap.upstream()) CHECK(static_cast<std::uint8_t>(up.at(3)) <= 0x01);
    r.stop();
    CHECK(slurp(dir / "relay.log").find("null_cipher peer=") == std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Null cipher: a client not in the mode refuses plaintext envelopes, files and call offers",
          "[null][relay]") {
    const fs::path dir = temp_dir("downgrade");
    relay::Relay r(relay_config(dir, true));
    r.start();
    Client mallory(client_config(r.chat_port(), r.blob_port(), true), Account::create("mallory"));
    Client bob(client_config(r.chat_port(), r.blob_port(), false), Account::create("bob"));
    mallory.connect(true);
    bob.connect(true);
    mallory.send_text("bob", "forged plaintext");
    mallory.send_text("bob", "forged sealed plaintext", true);
    CHECK_FALSE(bob.wait_event(1500));
    CHECK(bob.undecryptable() == 2);
    CHECK_THAT(bob.last_undecryptable_reason(), Catch::Contains("not in --null-cipher mode"));

    const json file_msg = {{"k", "file"}, {"blob", "00"}, {"cipher", "null"}, {"digest", ""}, {"size", 1}, {"name", "x"}};
    CHECK_THROWS_WITH(bob.fetch_file(file_msg), Catch::Contains("not in --null-cipher mode"));
    const Event offer{"mallory",
                      {{"k", "call_offer"},
                       {"call", "c1"},
                       {"token", crypto::to_hex(crypto::random_bytes(16))},
                       {"udp_port", 9},
                       {"srtp_profile", kNullSrtpProfile},
                       {"seconds", 1}},
                      0,
                      false};
    CHECK_THROWS_WITH(answer_call(bob, offer), Catch::Contains("not in --null-cipher mode"));
    mallory.disconnect();
    bob.disconnect();
    r.stop();
    fs::remove_all(dir);
}

TEST_CASE("Null cipher: call media is plain RTP with the Opus frames in the clear, SRTP otherwise", "[null][call]") {
    SECTION("null cipher") {
        UdpTap tap;
        const auto [caller, callee] = call_through(tap, true, 2.0);
        CHECK(caller.rtp_sent > 40);
        CHECK(callee.rtp_received >= caller.rtp_sent * 9 / 10);
        CHECK(callee.audio_decoded == callee.rtp_received);
        CHECK(caller.auth_failures == 0);
        CHECK(callee.auth_failures == 0);
        const auto dgrams = tap.datagrams();
        const auto [audio, clear] = opus_20ms(dgrams);
        CHECK(audio > 40);
        CHECK(clear == audio);  // every payload is an Opus packet of one 20 ms frame, readable as it is
        // A fresh decoder (no key) decodes them.
        int err = 0;
        OpusDecoder* dec = opus_decoder_create(48000, 1, &err);
        REQUIRE(dec);
        std::array<float, 5760> pcm{};
        std::size_t decoded = 0;
        for (const auto& d : dgrams)
            if (d[1] == 0x02 && d[2] == 0 && (d[21] & 0x7F) == 111 &&  // the caller's audio stream
                opus_decode_float(dec, d.data() + 32, static_cast<opus_int32>(d.size() - 32), pcm.data(), 5760, 0) == 960)
                ++decoded;
        opus_decoder_destroy(dec);
        CHECK(decoded > 20);
    }
    SECTION("normal SRTP: the same check fails on ciphertext") {
        UdpTap tap;
        const auto [caller, callee] = call_through(tap, false, 2.0);
        CHECK(callee.rtp_received >= caller.rtp_sent * 9 / 10);
        CHECK(callee.auth_failures == 0);
        const auto [audio, clear] = opus_20ms(tap.datagrams());
        CHECK(audio > 40);
        CHECK(clear < audio / 2);
    }
}

TEST_CASE("Null cipher: a scenario sends its given texts in order and a named file with given content",
          "[null][scenario]") {
    const fs::path dir = temp_dir("scenario");
    relay::Relay r(relay_config(dir, true));
    r.start();
    TapProxy chat_tap(r.chat_port());
    TapProxy blob_tap(r.blob_port());
    const fs::path scn = dir / "s.yaml";
    std::ofstream(scn) << "seed: 5\ndrain_s: 15\nusers: [alice, bob]\nactions:\n"
                          "  - chat: {from: alice, to: bob, texts: [\"first canary-a1\", \"Grüße aus Köln – canary 7f3a\", "
                          "\"third canary-c3\"], gap_median_s: 0.05, gap_sigma: 0.1, reply_prob: 0, typing_s_per_char: 0}\n"
                          "  - file: {from: bob, to: alice, name: \"canary-scn-name.txt\", content: \"0123456789\", bytes: 25}\n"
                          "  - call: {from: alice, to: bob, seconds: 1}\n";
    ScenarioOptions o;
    o.relay = "127.0.0.1:" + std::to_string(chat_tap.port());
    o.blob_port = blob_tap.port();
    o.null_cipher = true;
    std::ostringstream log;
    REQUIRE_NOTHROW(run_scenario(scn.string(), log, o));
    std::vector<std::string> texts;
    json file;
    for (const auto& up : chat_tap.upstream())
        for (const auto& b : observed_bodies(up)) {
            if (b.value("k", "") == "text") texts.push_back(b.at("body").get<std::string>());
            if (b.value("k", "") == "file") file = b;
        }
    CHECK(texts == std::vector<std::string>{"first canary-a1", "Grüße aus Köln – canary 7f3a", "third canary-c3"});
    CHECK(file.value("name", "") == "canary-scn-name.txt");
    CHECK(file.value("size", 0) == 25);
    CHECK(blob_tap.all().find("0123456789012345678901234") != std::string::npos);
    CHECK(log.str().find("\"call_done\"") != std::string::npos);

    // `messages` must agree with `texts`.
    std::ofstream(dir / "bad.yaml") << "users: [carol, dave]\nactions:\n"
                                       "  - chat: {from: carol, to: dave, messages: 2, texts: [\"only one\"]}\n";
    std::ostringstream log2;
    CHECK_THROWS_WITH(run_scenario((dir / "bad.yaml").string(), log2, o), Catch::Contains("must equal the number of 'texts'"));
    r.stop();
    fs::remove_all(dir);
}

TEST_CASE("Null cipher: only explicit flags turn it on, each with a loud warning", "[null][cli]") {
    const fs::path dir = temp_dir("cli");
    // A relay config file cannot allow it.
    std::ofstream(dir / "relay.yaml") << "chat_port: 0\nallow_null_cipher: true\n";
    CHECK_THROWS_WITH(relay::load_config((dir / "relay.yaml").string()), Catch::Contains("--allow-null-cipher"));
    CHECK_FALSE(relay::RelayConfig{}.allow_null_cipher);
    CHECK_FALSE(ClientConfig{}.null_cipher);

    const auto [rs, rout] = run(std::string(SEALRELAY_BIN) + " --allow-null-cipher --max-connections 0");
    CHECK(rs == 1);
    CHECK_THAT(rout, Catch::Contains("WARNING: --allow-null-cipher") && Catch::Contains("PLAINTEXT"));
    const auto [cs, cout_] =
        run(std::string(SEALCHAT_BIN) + " --null-cipher -s " + (dir / "none.json").string() + " send bob hi");
    CHECK(cs == 1);
    CHECK_THAT(cout_, Catch::Contains(kNullCipherWarning));
    const auto [ns, nout] = run(std::string(SEALCHAT_BIN) + " -s " + (dir / "none.json").string() + " send bob hi");
    CHECK(ns == 1);
    CHECK_THAT(nout, !Catch::Contains("WARNING"));
    CHECK_THAT(run(std::string(SEALCHAT_BIN) + " --help").second, Catch::Contains("--null-cipher"));
    CHECK_THAT(run(std::string(SEALRELAY_BIN) + " --help").second, Catch::Contains("--allow-null-cipher"));
    fs::remove_all(dir);
}
