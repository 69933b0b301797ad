#pragma once

#include "relay/store.hpp"
#include "wire/socket.hpp"

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

namespace sealscope::e2ee::relay {

/// One logged-in chat connection, as other connections' threads see it: they look it up in the relay's
/// online map and push envelopes to it. The channel it pushes on belongs to the connection's own thread
/// (it lives on that thread's stack), so that thread calls close() before the channel goes away; a sender
/// that looked the session up just before can still call push() afterwards, and push() then leaves the
/// channel alone. Pushes are deduplicated per connection.
class ChatSession {
public:
    /// What push() did.
    enum class Push {
        sent,       ///< delivered on this connection
        duplicate,  ///< already pushed on this connection; nothing sent
        closed,     ///< the connection has ended (close()); the envelope stays queued for the next login
        failed,     ///< the socket failed (a recipient that stopped reading, or is gone); it was shut down
    };

    ChatSession(wire::SecureChannel& ch, std::string user) : ch_(ch), user_(std::move(user)) {}
    ChatSession(const ChatSession&) = delete;
    ChatSession& operator=(const ChatSession&) = delete;

    /// Push an envelope (any thread). On failure the socket is shut down so the connection's own thread
    /// ends too; the envelope stays queued until the recipient logs in again and acks it.
    Push push(const Envelope& e);
    /// The connection is ending (its own thread, before the channel is destroyed): waits for a push in
    /// progress, and no later push touches the channel.
    void close();
    const std::string& user() const { return user_; }

private:
    wire::SecureChannel& ch_;
    const std::string user_;
    std::mutex mutex_;  ///< guards pushed_, closed_ and every use of ch_ by push()
    std::set<std::int64_t> pushed_;
    bool closed_ = false;
};

} // namespace sealscope::e2ee::relay
