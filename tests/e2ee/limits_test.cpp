// Resource bounds (issue 7): each relay limit is configurable, enforced, reported to the client where
// there is one and logged as limit_reached; the ratchet's skipped-key bounds are reported, not silent.
#include "client/client.hpp"
#include "crypto/ratchet.hpp"
#include "relay/relay.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include "support.hpp"

using namespace sealscope::e2ee;
using namespace sealscope::e2ee::client;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path limits_dir(const std::string& tag) { return test::temp_dir("limits", tag); }
using test::relay_config;

ClientConfig to(const relay::Relay& r) { return test::patient_client(r); }

using test::slurp;

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
}

using test::eventually;

/// True if the relay closes `fd` within `ms` (EOF or reset).
bool closed_by_relay(int fd, int ms) {
    std::uint8_t b[128];
    for (int i = 0; i < ms / 50; ++i) {
        try {
            if (wire::read_exact(fd, b, 1, 50)) continue;
        } catch (const wire::WireError&) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST_CASE("Relay limit: queued envelopes per recipient, the sender is refused, nothing is dropped", "[relay][limits]") {
    const fs::path dir = limits_dir("queue");
    auto cfg = relay_config(dir);
    cfg.max_queued_envelopes = 5;
    relay::Relay r(cfg);
    r.start();
    Client alice(to(r), Account::create("alice"));
    Client bob(to(r), Account::create("bob"));
    alice.connect(true);
    bob.connect(true);
    bob.disconnect();
    for (int i = 0; i < 5; ++i) alice.send_text("bob", "m" + std::to_string(i));
    try {
        alice.send_text("bob", "one too many");
        FAIL("the sixth envelope was accepted");
    } catch (const ClientError& e) {
        CHECK(std::string(e.what()).find("recipient queue full") != std::string::npos);
    }
    CHECK(alice.connected());  // refused, not disconnected
    bob.connect(false);
    int got = 0;
    while (auto e = bob.wait_event(1500)) {
        CHECK(e->body.at("body").get<std::string>() != "one too many");
        ++got;
    }
    CHECK(got == 5);
    bob.ping();  // acks processed: the queue has room again
    alice.send_text("bob", "after drain");
    auto e = bob.wait_event(3000);
    REQUIRE(e);
    CHECK(e->body.at("body") == "after drain");
    alice.disconnect();
    bob.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(count(log, "limit_reached limit=max_queued_envelopes") == 1);
    CHECK(log.find("queued=5 max=5") != std::string::npos);
    CHECK(log.find("send_refused user=alice reason=queue_full") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Relay limit: blob size is refused with a reason and the store stays usable", "[relay][limits]") {
    const fs::path dir = limits_dir("blob");
    auto cfg = relay_config(dir);
    cfg.max_blob_bytes = 4096;
    relay::Relay r(cfg);
    r.start();
    Client alice(to(r), Account::create("alice"));
    alice.connect(true);
    try {
        (void)alice.upload_blob(crypto::Bytes(4097, 1));
        FAIL("an oversized blob was accepted");
    } catch (const ClientError& e) {
        CHECK(std::string(e.what()).find("blob too large") != std::string::npos);
    }
    const std::string id = alice.upload_blob(crypto::Bytes(4096, 2));
    CHECK(alice.download_blob(id) == crypto::Bytes(4096, 2));
    alice.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("limit_reached limit=max_blob_bytes") != std::string::npos);
    CHECK(log.find("bytes=4097 max=4096") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Relay limit: frame size closes the connection with a logged reason", "[relay][limits]") {
    const fs::path dir = limits_dir("frame");
    auto cfg = relay_config(dir);
    cfg.max_frame_bytes = relay::kMinFrameLimit;
    relay::Relay r(cfg);
    r.start();
    {
        auto fd = wire::tcp_connect("127.0.0.1", r.chat_port());
        auto ch = wire::SecureChannel::connect(std::move(fd), wire::Channel::chat, crypto::DhKeyPair::generate());
        crypto::Bytes big(relay::kMinFrameLimit - crypto::noise::kTagLen + 1, '{');
        ch.send(big);  // one byte over the limit once encrypted
        CHECK(closed_by_relay(ch.fd().get(), 3000));
    }
    // At the smallest limit, whole 32 KiB blob chunks still fit.
    Client alice(to(r), Account::create("alice"));
    alice.connect(true);
    crypto::Bytes blob(100000);
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<std::uint8_t>(i * 7);
    CHECK(alice.download_blob(alice.upload_blob(blob)) == blob);
    alice.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("limit_reached limit=max_frame_bytes") != std::string::npos);
    CHECK(log.find("above limit " + std::to_string(relay::kMinFrameLimit)) != std::string::npos);
    CHECK_THROWS(relay::validate([] {
        relay::RelayConfig c;
        c.max_frame_bytes = 1000;
        return c;
    }()));
    fs::remove_all(dir);
}

TEST_CASE("Relay limit: connections beyond max_connections are refused and logged", "[relay][limits]") {
    const fs::path dir = limits_dir("conns");
    auto cfg = relay_config(dir);
    cfg.max_connections = 2;
    cfg.handshake_timeout_s = 5;
    relay::Relay r(cfg);
    r.start();
    {
        auto a = wire::tcp_connect("127.0.0.1", r.chat_port());
        auto b = wire::tcp_connect("127.0.0.1", r.blob_port());
        REQUIRE(eventually(3000, [&] { return count(slurp(dir / "relay.log"), "conn_open") == 2; }));
        auto c = wire::tcp_connect("127.0.0.1", r.chat_port());
        CHECK(closed_by_relay(c.get(), 2000));
        CHECK_FALSE(closed_by_relay(a.get(), 200));  // the first two are still being served
    }
    // Once they are gone, new clients get in again.
    REQUIRE(eventually(3000, [&] { return count(slurp(dir / "relay.log"), "conn_close") == 2; }));
    Client alice(to(r), Account::create("alice"));
    alice.connect(true);
    alice.ping();
    alice.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("conn_refused") != std::string::npos);
    CHECK(log.find("reason=too_many_connections") != std::string::npos);
    CHECK(log.find("limit_reached limit=max_connections") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Relay limit: blobs expire after blob_ttl_s and the expiry is logged", "[relay][limits]") {
    const fs::path dir = limits_dir("ttl");
    auto cfg = relay_config(dir);
    cfg.blob_ttl_s = 1;
    relay::Relay r(cfg);
    r.start();
    Client alice(to(r), Account::create("alice"));
    alice.connect(true);
    const std::string id = alice.upload_blob(crypto::Bytes(1000, 3));
    CHECK(fs::exists(dir / "relay" / "blobs" / id));
    REQUIRE(eventually(5000, [&] { return !fs::exists(dir / "relay" / "blobs" / id); }));
    CHECK_THROWS_WITH(alice.download_blob(id), Catch::Contains("no such blob"));
    alice.disconnect();
    r.stop();
    const std::string log = slurp(dir / "relay.log");
    CHECK(log.find("blob_expired blob=" + id) != std::string::npos);
    CHECK(log.find("limit_reached limit=blob_ttl_s") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Relay limit: one-time prekeys per account", "[relay][limits]") {
    const fs::path dir = limits_dir("prekeys");
    auto cfg = relay_config(dir);
    cfg.max_prekeys_per_account = 25;
    relay::Relay r(cfg);
    r.start();
    Account acct = Account::create("alice");  // 20 one-time prekeys
    Client alice(to(r), acct);
    alice.connect(true);
    CHECK_THROWS_WITH(alice.request({{"t", "replenish"}, {"otpks", acct.make_one_time_prekeys(6)}}),
                      Catch::Contains("too many one-time prekeys"));
    alice.request({{"t", "replenish"}, {"otpks", acct.make_one_time_prekeys(5)}});
    alice.disconnect();
    r.stop();
    CHECK(slurp(dir / "relay.log").find("limit_reached limit=max_prekeys_per_account") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Relay limits are read from YAML and flags and range-checked", "[relay][limits]") {
    const fs::path dir = limits_dir("cfg");
    {
        std::ofstream y(dir / "relay.yaml");
        y << "max_connections: 7\nmax_frame_bytes: 40000\nmax_queued_envelopes: 9\nmax_blob_bytes: 1234\n"
             "max_prekeys_per_account: 50\nblob_ttl_s: 60\nhandshake_timeout_s: 3\n";
    }
    const auto c = relay::load_config((dir / "relay.yaml").string());
    CHECK(c.max_connections == 7);
    CHECK(c.max_frame_bytes == 40000);
    CHECK(c.max_queued_envelopes == 9);
    CHECK(c.max_blob_bytes == 1234);
    CHECK(c.max_prekeys_per_account == 50);
    CHECK(c.blob_ttl_s == 60);
    CHECK(c.handshake_timeout_s == 3);
    {
        std::ofstream y(dir / "bad.yaml");
        y << "max_queued_envelopes: 0\n";
    }
    CHECK_THROWS_WITH(relay::load_config((dir / "bad.yaml").string()), Catch::Contains("max_queued_envelopes"));
    // Flags: an out-of-range value stops sealrelay with the reason.
    const std::string cmd = std::string(SEALRELAY_BIN) + " --max-frame-bytes 100 -d " + (dir / "d").string() +
                            " 2>" + (dir / "err").string();
    const int st = std::system(cmd.c_str());
    CHECK(WEXITSTATUS(st) == 1);
    CHECK(slurp(dir / "err").find("max_frame_bytes must be between") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Ratchet bounds are reported: MAX_SKIP refusal and skipped-key eviction", "[ratchet][limits]") {
    using namespace sealscope::e2ee::crypto::ratchet;
    Account alice = Account::create("alice", 2), bob = Account::create("bob", 2);
    const json reg = bob.registration();
    alice.start_session("bob", {{"identity", reg["identity"]}, {"spk_id", reg["spk_id"]}, {"spk", reg["spk"]},
                                {"spk_sig", reg["spk_sig"]}, {"otpk_id", reg["otpks"][0][0]},
                                {"otpk", reg["otpks"][0][1]}});
    const auto hi = crypto::view("hi");
    REQUIRE(bob.decrypt("alice", alice.encrypt("bob", hi)));
    REQUIRE(alice.decrypt("bob", bob.encrypt("alice", hi)));

    // More than MAX_SKIP ahead in one chain: refused with that reason, state untouched.
    std::vector<crypto::Bytes> chain;
    for (std::uint32_t i = 0; i < kMaxSkip + 2; ++i) chain.push_back(alice.encrypt("bob", hi));
    CHECK_FALSE(bob.decrypt("alice", chain.back()));
    CHECK(bob.last_decrypt_error() == "ratchet: more than MAX_SKIP skipped messages");
    CHECK(bob.decrypt("alice", chain.front()));
    CHECK(bob.last_decrypt_error().empty());
    // Exactly MAX_SKIP skipped is fine.
    CHECK(bob.decrypt("alice", chain[kMaxSkip + 1]));
    CHECK(bob.last_evicted_skipped() == 0);
    // A replay of a consumed message is reported as such.
    CHECK_FALSE(bob.decrypt("alice", chain.front()));
    CHECK(bob.last_decrypt_error() == "ratchet: old or replayed message");

    // Fill the skipped-key store (2000) over several chains: the oldest keys are dropped and counted.
    std::uint64_t evicted = 0;
    crypto::Bytes oldest_skipped = chain[1];
    for (int round = 0; round < 2; ++round) {
        REQUIRE(alice.decrypt("bob", bob.encrypt("alice", hi)));  // new DH step for alice's next chain
        std::vector<crypto::Bytes> c;
        for (std::uint32_t i = 0; i < kMaxSkip; ++i) c.push_back(alice.encrypt("bob", hi));
        REQUIRE(bob.decrypt("alice", c.back()));
        evicted += bob.last_evicted_skipped();
    }
    CHECK(evicted > 0);
    CHECK_FALSE(bob.decrypt("alice", oldest_skipped));  // its key was among the dropped ones
    CHECK(bob.last_decrypt_error() == "ratchet: old or replayed message");
}

TEST_CASE("Relay limit: a recipient that stops reading cannot block senders (send timeout)", "[relay][limits]") {
    const fs::path dir = limits_dir("stuck");
    auto cfg = relay_config(dir);
    cfg.send_timeout_s = 1;
    relay::Relay r(cfg);
    r.start();
    // Bob registers over a raw channel, then never reads again.
    Account bob_acct = Account::create("bob");
    auto stuck_fd = wire::tcp_connect("127.0.0.1", r.chat_port());
    const int small = 4096;
    ::setsockopt(stuck_fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    auto stuck = wire::SecureChannel::connect(std::move(stuck_fd), wire::Channel::chat, bob_acct.noise_key());
    json reg = bob_acct.registration();
    reg["id"] = 1;
    stuck.send_json(reg);
    REQUIRE(eventually(3000, [&] { return slurp(dir / "relay.log").find("login peer=") != std::string::npos; }));

    Client alice(to(r), Account::create("alice"));
    alice.connect(true);
    const std::string big(40000, 'x');
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 90; ++i) alice.send_text("bob", big + std::to_string(i));  // ~5 MB towards Bob
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60));
    REQUIRE(eventually(3000, [&] { return slurp(dir / "relay.log").find("push_failed user=bob") != std::string::npos; }));

    // Nothing was lost: a well-behaved Bob gets every envelope from the queue.
    Client bob(to(r), bob_acct);
    bob.connect(false);
    int got = 0;
    while (auto e = bob.wait_event(3000)) got += e->body.at("body").get<std::string>().size() > 40000 ? 1 : 0;
    CHECK(got == 90);
    CHECK(bob.undecryptable() == 0);
    alice.disconnect();
    bob.disconnect();
    r.stop();
    CHECK(slurp(dir / "relay.log").find("limit_reached limit=send_timeout_s") != std::string::npos);
    fs::remove_all(dir);
}
