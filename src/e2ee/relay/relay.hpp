#pragma once

#include "relay/log.hpp"
#include "relay/request.hpp"
#include "relay/store.hpp"
#include "wire/socket.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace sealscope::e2ee::relay {

/// Relay settings (YAML file, then command-line flags).
struct RelayConfig {
    std::string listen = "127.0.0.1";
    std::uint16_t chat_port = wire::kDefaultChatPort;
    std::uint16_t blob_port = wire::kDefaultBlobPort;
    std::uint16_t media_port = wire::kDefaultMediaPort;
    std::string data_dir = "sealrelay-data";  ///< relay.db, blobs/, relay_static.key
    std::string log_file;                     ///< empty: stderr
    int max_connections = 256;
    int idle_timeout_s = 90;        ///< clients ping every ~25 s
    int handshake_timeout_s = 10;
    int send_timeout_s = 10;        ///< a write to a peer that does not read fails after this
    std::uint64_t max_blob_bytes = 64ull << 20;  ///< larger uploads are refused with an error reply
    int call_idle_timeout_s = 60;
    std::size_t max_frame_bytes = wire::kMaxFrame;  ///< larger frames close the connection
    std::size_t max_queued_envelopes = 10000;      ///< per recipient; further sends are refused
    std::size_t max_prekeys_per_account = 1000;    ///< one-time prekeys held per account
    std::int64_t blob_ttl_s = 30LL * 24 * 3600;    ///< blobs older than this are deleted; 0 = keep forever
    std::size_t max_accounts = 100000;             ///< registrations of new names beyond it are refused
    std::size_t max_calls_per_user = 16;           ///< call allocations held at once per user
    std::uint64_t max_blob_storage_per_user = 1ull << 30;  ///< bytes of blobs a user's uploads hold at once
    /// Accept clients in the null-cipher debug mode (plaintext after the handshake). Only the
    /// --allow-null-cipher flag sets it (a config file cannot); otherwise such clients are refused.
    bool allow_null_cipher = false;
};

/// Smallest max_frame_bytes: a full blob chunk (kind byte + 32 KiB) plus the AEAD tag must fit.
inline constexpr std::size_t kMinFrameLimit = wire::kChunk + 1 + crypto::noise::kTagLen;

/// Largest timeout (idle, handshake, call idle, send): one day.
inline constexpr int kMaxTimeoutS = 86400;
/// Largest blob_ttl_s: ten years (0 still means never).
inline constexpr std::int64_t kMaxBlobTtlS = 3650LL * 24 * 3600;
/// Largest max_connections: each connection is a thread and a descriptor.
inline constexpr int kMaxConnections = 65536;

/// Load a YAML config file over defaults; throws std::runtime_error with the file name on errors (also for an
/// allow_null_cipher key: that mode must be asked for on the command line).
RelayConfig load_config(const std::string& path, RelayConfig base = {});
/// Check ranges; throws std::runtime_error naming `where` (a file, or empty for flags).
void validate(const RelayConfig& c, const std::string& where = "");

class ChatSession;

/// The relay: accounts and prekeys, store-and-forward, blob store, UDP media forwarder.
class Relay {
public:
    explicit Relay(RelayConfig cfg);
    ~Relay();
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    /// Bind sockets and start serving in background threads.
    void start();
    /// Stop accepting, close all connections and join threads.
    void stop();
    /// Actually bound ports (useful with port 0).
    std::uint16_t chat_port() const { return chat_port_; }
    std::uint16_t blob_port() const { return blob_port_; }
    std::uint16_t media_port() const { return media_port_; }
    /// The relay's Noise static public key.
    const crypto::Key32& static_public() const { return static_key_.pub; }

private:
    struct Call {
        std::string user;  ///< who allocated it (max_calls_per_user)
        std::array<std::uint8_t, 16> token{};
        std::array<std::optional<wire::Endpoint>, 2> legs;  ///< where each leg's media comes from
        std::int64_t last_ms = 0;
        std::uint64_t forwarded = 0;
    };

    void accept_loop(int listen_fd, wire::Channel expected);
    void serve(wire::Fd fd, wire::Channel expected);
    void serve_chat(wire::SecureChannel& ch, const std::string& peer);
    void serve_blob(wire::SecureChannel& ch, const std::string& peer);
    void media_loop();
    void maintenance_loop();
    void sweep_blobs();
    void limit_reached(std::string_view what, const std::string& fields);
    void push_failed(const std::string& user, std::int64_t env_id);
    void push_pending(const std::shared_ptr<ChatSession>& s);
    /// A new call token, or nothing when `user` holds max_calls_per_user calls already.
    std::optional<std::string> allocate_call(const std::string& user);

    RelayConfig cfg_;
    Log log_;
    std::unique_ptr<Store> store_;
    crypto::DhKeyPair static_key_;
    wire::Fd chat_listen_, blob_listen_, media_sock_;
    std::uint16_t chat_port_ = 0, blob_port_ = 0, media_port_ = 0;
    std::atomic<bool> stopping_{false};
    bool started_ = false;  ///< start() bound the sockets and logged "start"
    std::vector<std::thread> threads_;

    std::mutex conn_mutex_;
    std::condition_variable conn_cv_;
    int active_ = 0;
    std::multiset<int> open_fds_;  ///< one entry per served connection (see serve())

    std::mutex online_mutex_;
    std::map<std::string, std::shared_ptr<ChatSession>> online_;

    std::mutex calls_mutex_;
    std::map<std::array<std::uint8_t, 16>, Call> calls_;
};

} // namespace sealscope::e2ee::relay
