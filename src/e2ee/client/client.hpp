#pragma once

#include "client/account.hpp"
#include "wire/socket.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace sealscope::e2ee::client {

/// A decrypted end-to-end message.
struct Event {
    std::string from;
    nlohmann::json body;  ///< {"k": "text"|"receipt"|"typing"|"file"|"call_offer"|"call_answer"|"call_end", ...}
    std::int64_t env_id = 0;
    bool sealed = false;
};

/// Where the relay is and where the account state lives.
struct ClientConfig {
    std::string relay_host = "127.0.0.1";
    std::uint16_t chat_port = wire::kDefaultChatPort;
    std::uint16_t blob_port = wire::kDefaultBlobPort;
    std::string state_path;  ///< empty: keep state in memory only
    int request_timeout_ms = 15000;
    /// DEBUG ONLY (sealchat --null-cipher): plaintext transport, envelopes, attachments and call media, as a
    /// positive control for traffic audits. Needs a relay started with --allow-null-cipher.
    bool null_cipher = false;
    /// Which delivered messages this client takes: a taken message is marked processed in the state,
    /// queued for wait_event() and acknowledged (the relay deletes it). Empty: every message (and
    /// undecryptable envelopes are acknowledged and dropped with a report). Otherwise any other envelope
    /// is neither marked processed nor acknowledged, so the relay delivers it again on the next connection:
    /// an undecryptable one as it is, a decrypted one (the ratchet cannot decrypt it twice) from the plaintext
    /// the account state holds for it (Account::hold) until a client takes it.
    std::function<bool(const Event&)> take;
};

/// The warning sealchat prints on standard error when started with --null-cipher.
inline constexpr const char* kNullCipherWarning =
    "WARNING: --null-cipher: messages, files and calls are sent in PLAINTEXT; debugging/audit positive control only";

/// A client connection failure or refused request (control plane).
class ClientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A sealchat client: one chat connection to the relay, blob connections on demand.
class Client {
public:
    Client(ClientConfig cfg, Account account);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Connect and register (first time) or log in; starts the receive thread.
    void connect(bool do_register);
    /// Close the chat connection and stop the receive thread.
    void disconnect();
    /// True while the chat connection is up.
    bool connected() const { return running_; }
    /// Throws ClientError naming the relay address and the reason if the chat connection was lost.
    void check_connected() const;
    /// "host:port" (or "[ipv6]:port") of the relay's chat service, for messages.
    std::string relay_address() const;
    /// The relay's address the chat connection reached (a call's media goes there); throws ClientError
    /// when there has been no connection.
    wire::Endpoint relay_endpoint() const;

    /// Encrypt `body` for `peer` (starting a session if needed) and wait until the relay stored it.
    std::int64_t send(const std::string& peer, const nlohmann::json& body, bool sealed = false);
    /// Send a text message.
    std::int64_t send_text(const std::string& peer, const std::string& text, bool sealed = false);
    /// Next event matching `pred` (others stay queued); nullopt after `timeout_ms`, or at once when no such
    /// event is queued and the connection is down.
    std::optional<Event> wait_event(int timeout_ms, const std::function<bool(const Event&)>& pred = {});
    /// Decrypted events not yet taken by wait_event().
    std::size_t queued_events() const;
    /// Keepalive round trip; returns the RTT in ms.
    double ping();
    /// A relay request with a matching reply; throws ClientError on "error" or timeout.
    nlohmann::json request(nlohmann::json req);

    /// Encrypt, pad and upload a file, then send the file message to `peer`; returns the message body.
    /// Null-cipher mode: the padded content is uploaded as it is (file message with "cipher": "null").
    nlohmann::json send_file(const std::string& peer, ByteView content, const std::string& name);
    /// Download and decrypt the attachment a file message points to; throws on integrity failure.
    Bytes fetch_file(const nlohmann::json& file_message);

    /// Upload raw bytes to the blob store; returns the blob id.
    std::string upload_blob(ByteView data);
    /// Download a blob.
    Bytes download_blob(const std::string& blob_id);

    /// Persist the account state (if a state path is configured).
    void save();
    const Account& account() const { return account_; }
    const ClientConfig& config() const { return cfg_; }
    /// Events that failed to decrypt (logged, acked, dropped).
    std::uint64_t undecryptable() const { return undecryptable_; }
    /// Why the last undecryptable envelope failed.
    std::string last_undecryptable_reason() const;
    /// End-to-end messages stored by the relay, per (peer, body kind "text", "file", "receipt", ...).
    std::map<std::pair<std::string, std::string>, std::uint64_t> sent_counts() const;
    /// Decrypted events received, per (sender, body kind).
    std::map<std::pair<std::string, std::string>, std::uint64_t> received_counts() const;

private:
    void reader_loop();
    void handle_deliver(const nlohmann::json& j);
    void save_locked();  ///< save() with account_mutex_ held
    wire::SecureChannel open_blob_channel();

    ClientConfig cfg_;
    Account account_;
    std::mutex account_mutex_;
    std::unique_ptr<wire::SecureChannel> chat_;
    std::optional<wire::Endpoint> relay_endpoint_;  ///< guarded by mutex_
    std::thread reader_;
    std::atomic<bool> running_{false};
    std::atomic<std::int64_t> next_id_{1};
    std::atomic<std::uint64_t> undecryptable_{0};

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::int64_t, nlohmann::json> replies_;
    std::deque<Event> events_;
    std::string disconnect_reason_;
    std::string last_undecryptable_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> sent_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> received_;
};

} // namespace sealscope::e2ee::client
