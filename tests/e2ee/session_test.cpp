// The relay's ChatSession lifetime contract: another connection's thread may push to a session whose own
// connection is ending. close() (called by the connection's thread before its channel is destroyed) waits
// for a push in progress, and later pushes leave the channel alone. CI's sanitizer build once caught a
// sender pushing on a channel whose thread had already returned (a stack use after return).
#include "relay/session.hpp"

#include <catch2/catch.hpp>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

using namespace sealscope::e2ee;
using relay::ChatSession;

namespace {

/// A handshaken client/relay channel pair over a socketpair.
struct Pair {
    std::optional<wire::SecureChannel> client;
    std::unique_ptr<wire::SecureChannel> server;  // on the heap: its destruction is visible to ASan
};

Pair handshaken_pair(int sndbuf = 0) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    if (sndbuf > 0) {
        ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        ::setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
    }
    const auto relay_key = crypto::DhKeyPair::generate();
    const auto client_key = crypto::DhKeyPair::generate();
    Pair p;
    std::thread t([&, fd = wire::Fd(sv[1])]() mutable {
        p.server = std::make_unique<wire::SecureChannel>(wire::SecureChannel::accept(std::move(fd), relay_key, 3000));
    });
    p.client.emplace(wire::SecureChannel::connect(wire::Fd(sv[0]), wire::Channel::chat, client_key, 3000));
    t.join();
    REQUIRE(p.server);
    return p;
}

relay::Envelope envelope(std::int64_t id, std::size_t size = 64) {
    relay::Envelope e;
    e.id = id;
    e.recipient = "bob";
    e.sender = "alice";
    e.body.assign(size, 0x5a);
    return e;
}

} // namespace

TEST_CASE("ChatSession: push delivers once per connection, and not at all after close", "[relay][session]") {
    crypto::init();
    auto p = handshaken_pair();
    auto s = std::make_shared<ChatSession>(*p.server, "bob");
    CHECK(s->user() == "bob");

    CHECK(s->push(envelope(7)) == ChatSession::Push::sent);
    auto got = p.client->recv(2000);
    REQUIRE(got);
    const auto j = wire::parse_json(*got);
    CHECK(j["t"] == "deliver");
    CHECK(j["env_id"] == 7);
    CHECK(j["from"] == "alice");
    CHECK(s->push(envelope(7)) == ChatSession::Push::duplicate);
    CHECK_FALSE(p.client->recv(200));  // the duplicate sent nothing

    // The connection's thread ends: close, then its channel goes away while a sender still holds the session.
    s->close();
    p.server.reset();
    CHECK(s->push(envelope(8)) == ChatSession::Push::closed);  // must not touch the destroyed channel
    CHECK(s->push(envelope(7)) == ChatSession::Push::closed);
}

TEST_CASE("ChatSession: close waits for a push in progress, a stuck recipient's push fails and shuts it down",
          "[relay][session]") {
    crypto::init();
    auto p = handshaken_pair(4096);
    const timeval tv{3, 0};  // a send timeout long enough that the push is surely still blocked below
    REQUIRE(::setsockopt(p.server->fd().get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
    auto s = std::make_shared<ChatSession>(*p.server, "bob");

    // The client never reads: one push larger than both socket buffers blocks until the send timeout.
    std::atomic<bool> pushed{false};
    ChatSession::Push result = ChatSession::Push::sent;
    std::thread sender([&] {
        result = s->push(envelope(1, 40000));  // one frame (base64 ~53 KB), far above the buffers
        pushed = true;
    });
    struct Join {  // the push ends by itself (send timeout), so a failed REQUIRE below still joins
        std::thread& t;
        ~Join() {
            if (t.joinable()) t.join();
        }
    } join{sender};
    // Wait (no fixed sleep) until the frame's first bytes reach the client: the sender is then inside
    // push(), holding the session, and blocked on the full socket.
    int queued = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((::ioctl(p.client->fd().get(), FIONREAD, &queued) != 0 || queued == 0) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(queued > 0);
    CHECK_FALSE(pushed);
    s->close();
    // close() returned only after the push had failed and shut the socket down (both under the session's
    // lock; `pushed` itself is set after the lock is released, so it cannot tell): a write now sees a
    // closed socket (EPIPE), not a full one (EAGAIN).
    const std::uint8_t byte = 0;
    const auto sent = ::send(p.server->fd().get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    const int err = errno;
    CHECK(sent == -1);
    CHECK(err == EPIPE);
    sender.join();
    CHECK(result == ChatSession::Push::failed);
    // The failed push shut the socket down, so the client sees the end of the stream, not a hang.
    CHECK_THROWS_AS(([&] {
                        for (;;) p.client->recv(2000);
                    }()),
                    wire::WireError);
    p.server.reset();
    CHECK(s->push(envelope(2)) == ChatSession::Push::closed);
}
