#include "client/client.hpp"

#include "wire/json_int.hpp"

#include "common/display_text.hpp"

#include <sodium.h>

#include <chrono>
#include <iostream>

namespace sealscope::e2ee::client {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Client::Client(ClientConfig cfg, Account account) : cfg_(std::move(cfg)), account_(std::move(account)) {}

Client::~Client() { disconnect(); }

void Client::connect(bool do_register) {
    disconnect();
    try {
        auto fd = wire::tcp_connect(cfg_.relay_host, cfg_.chat_port);
        {
            const wire::Endpoint reached = wire::peer_endpoint(fd.get());
            std::lock_guard lock(mutex_);
            relay_endpoint_ = reached;
        }
        chat_ = std::make_unique<wire::SecureChannel>(wire::SecureChannel::connect(
            std::move(fd), wire::Channel::chat, account_.noise_key(), 10000, cfg_.null_cipher));
    } catch (const wire::WireError& e) {
        throw ClientError("relay " + relay_address() + ": " + e.what());
    }
    {
        std::lock_guard lock(mutex_);
        disconnect_reason_.clear();
    }
    running_ = true;
    reader_ = std::thread([this] { reader_loop(); });
    json req;
    {
        std::lock_guard lock(account_mutex_);
        req = do_register ? account_.registration() : json{{"t", "login"}, {"user", account_.user()}};
    }
    const json r = request(req);
    if (do_register) save();
    if (r.value("otpks_left", 100) < 5) {
        json more;
        {
            std::lock_guard lock(account_mutex_);
            more = account_.make_one_time_prekeys(20);
        }
        save();
        request({{"t", "replenish"}, {"otpks", more}});
    }
}

void Client::disconnect() {
    running_ = false;
    if (chat_) chat_->fd().shutdown();
    if (reader_.joinable()) reader_.join();
    chat_.reset();
}

json Client::request(json req) {
    if (!chat_ || !running_) {
        if (chat_) check_connected();  // lost: names the relay and why
        throw ClientError("not connected to the relay " + relay_address());
    }
    const std::int64_t id = next_id_++;
    req["id"] = id;
    chat_->send_json(req);
    std::unique_lock lock(mutex_);
    const bool got = cv_.wait_for(lock, std::chrono::milliseconds(cfg_.request_timeout_ms),
                                  [&] { return replies_.count(id) != 0 || !running_; });
    if (!got || !replies_.count(id)) {
        throw ClientError("no reply from the relay " + relay_address() + " to " + req["t"].get<std::string>() +
                          (disconnect_reason_.empty() ? std::string(" (timeout)") : " (" + disconnect_reason_ + ")"));
    }
    json r = std::move(replies_[id]);
    replies_.erase(id);
    if (r.value("t", "") == "error") throw ClientError("relay refused " + req["t"].get<std::string>() + ": " +
                                                      r.value("reason", "?"));
    return r;
}

void Client::reader_loop() {
    try {
        while (running_) {
            auto msg = chat_->recv(500);
            if (!msg) continue;
            const json j = wire::parse_json(*msg);
            if (j["t"] == "deliver") {
                handle_deliver(j);
            } else if (j.contains("id")) {
                std::lock_guard lock(mutex_);
                replies_[wire::json_int<std::int64_t>(j["id"])] = j;
                cv_.notify_all();
            }
        }
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        if (running_) disconnect_reason_ = e.what();
    }
    std::lock_guard lock(mutex_);
    running_ = false;
    cv_.notify_all();
}

void Client::handle_deliver(const json& j) {
    const std::int64_t env_id = wire::json_int<std::int64_t>(j.at("env_id"));
    const Bytes env = crypto::from_b64(j.at("env").get<std::string>());
    std::optional<Event> ev;
    bool fresh = true;
    std::string why;
    std::uint64_t evicted = 0;
    bool leave = false;  // not taken: no ack, not marked processed
    {
        std::lock_guard lock(account_mutex_);
        const auto held = account_.held(env_id);
        fresh = !account_.processed(env_id);
        if (held) {
            ev = Event{held->from, held->body, env_id, held->sealed};  // decrypted before, not shown yet
        } else if (fresh) {
            std::string from = j["from"].is_string() ? j["from"].get<std::string>() : "";
            Bytes inner = env;
            bool sealed = false;
            auto is = [](const Bytes& e, EnvelopeType t) { return !e.empty() && e[0] == static_cast<std::uint8_t>(t); };
            const char* refused = "plaintext (null-cipher) envelope refused: this client is not in --null-cipher mode";
            if (is(env, EnvelopeType::plain_sealed)) {
                auto opened = cfg_.null_cipher ? Account::unseal_null(env) : std::nullopt;
                if (opened) {
                    from = opened->first;
                    inner = std::move(opened->second);
                    sealed = true;
                } else {
                    inner.clear();
                    why = cfg_.null_cipher ? "malformed plaintext sealed envelope" : refused;
                }
            } else if (!env.empty() && env[0] == static_cast<std::uint8_t>(EnvelopeType::sealed)) {
                auto opened = account_.unseal(env);
                if (opened) {
                    from = opened->first;
                    inner = std::move(opened->second);
                    sealed = true;
                } else {
                    inner.clear();
                    why = "sealed sender did not open";
                }
            }
            std::optional<Bytes> pt;
            if (from.empty()) {
                if (why.empty()) why = "no sender";
            } else if (is(inner, EnvelopeType::plain)) {
                // Never accepted outside the debug mode: it would let anyone inject unauthenticated messages.
                if (cfg_.null_cipher) pt = Account::decrypt_null(inner);
                if (!pt && why.empty()) why = cfg_.null_cipher ? "malformed plaintext envelope" : refused;
            } else {
                pt = account_.decrypt(from, inner);
                if (!pt && why.empty()) why = account_.last_decrypt_error();
                evicted = account_.last_evicted_skipped();
            }
            if (pt) {
                auto body = json::parse(pt->begin(), pt->end(), nullptr, false);
                if (!body.is_discarded() && body.is_object()) ev = Event{from, body, env_id, sealed};
                else why = "plaintext is not a JSON object";
            }
        }
        if (fresh && cfg_.take) {
            // Undecryptable (no state changed): left at the relay for a client that shows it. Not ours to show:
            // it stays at the relay, unacknowledged, and its plaintext waits in the state.
            leave = !ev || !cfg_.take(*ev);
            if (ev && leave && !held) {
                account_.hold(env_id, HeldMessage{ev->from, ev->body, ev->sealed});
                save_locked();
            }
        }
        if (fresh && !leave) {
            account_.release(env_id);
            account_.mark_processed(env_id);
        }
    }
    if (evicted > 0) {
        std::cerr << "sealchat: skipped-message key store full (" << crypto::ratchet::kMaxStoredSkipped
                  << "): dropped the " << evicted << " oldest skipped key(s) (env " << env_id << ")\n";
    }
    if (leave) return;
    if (fresh && !ev) {
        ++undecryptable_;
        {
            std::lock_guard lock(mutex_);
            last_undecryptable_ = why;
        }
        // Why it did not decrypt may quote what the peer sent: display text, as every name on a terminal.
        std::cerr << "sealchat: dropped an envelope that did not decrypt (env " << env_id << "): "
                  << display_text(why) << "\n";
    }
    save();
    // Queued before the ack: if the connection goes down in between, the message is still shown (and the
    // relay's copy is acknowledged as already processed when it comes again).
    if (ev) {
        std::lock_guard lock(mutex_);
        ++received_[{ev->from, ev->body.value("k", "")}];
        events_.push_back(std::move(*ev));
        cv_.notify_all();
    }
    chat_->send_json({{"t", "ack"}, {"env_id", env_id}});
}

std::int64_t Client::send(const std::string& peer, const json& body, bool sealed) {
    if (cfg_.null_cipher) {
        // Debug mode: no session, the envelope is the padded plaintext (sealed: with the sender's name in it).
        Bytes env = Account::encrypt_null(crypto::view(body.dump()));
        if (sealed) env = account_.seal_null(env);
        const json r = request({{"t", "send"}, {"to", peer}, {"sealed", sealed}, {"env", crypto::to_b64(env)}});
        {
            std::lock_guard lock(mutex_);
            ++sent_[{peer, body.value("k", "")}];
        }
        return wire::json_int<std::int64_t>(r.at("env_id"));
    }
    bool need_session;
    {
        std::lock_guard lock(account_mutex_);
        need_session = !account_.has_session(peer);
    }
    if (need_session) {
        const json bundle = request({{"t", "prekeys"}, {"user", peer}});
        std::lock_guard lock(account_mutex_);
        if (!account_.has_session(peer)) account_.start_session(peer, bundle);
    }
    Bytes env;
    {
        std::lock_guard lock(account_mutex_);
        env = account_.encrypt(peer, crypto::view(body.dump()));
        if (sealed) env = account_.seal(peer, env);
    }
    save();
    const json r = request({{"t", "send"}, {"to", peer}, {"sealed", sealed}, {"env", crypto::to_b64(env)}});
    {
        std::lock_guard lock(mutex_);
        ++sent_[{peer, body.value("k", "")}];
    }
    return wire::json_int<std::int64_t>(r.at("env_id"));
}

std::int64_t Client::send_text(const std::string& peer, const std::string& text, bool sealed) {
    const auto ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    return send(peer, {{"k", "text"}, {"body", text}, {"ts", ts}, {"mid", crypto::to_hex(crypto::random_bytes(8))}},
                sealed);
}

std::optional<Event> Client::wait_event(int timeout_ms, const std::function<bool(const Event&)>& pred) {
    std::unique_lock lock(mutex_);
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
        for (auto it = events_.begin(); it != events_.end(); ++it) {
            if (!pred || pred(*it)) {
                Event e = std::move(*it);
                events_.erase(it);
                return e;
            }
        }
        // Nothing more can arrive once the reader stopped (it queues before it stops).
        if (!running_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
            for (auto it = events_.begin(); it != events_.end(); ++it) {
                if (!pred || pred(*it)) {
                    Event e = std::move(*it);
                    events_.erase(it);
                    return e;
                }
            }
            return std::nullopt;
        }
    }
}

std::string Client::relay_address() const { return wire::host_port(cfg_.relay_host, cfg_.chat_port); }

wire::Endpoint Client::relay_endpoint() const {
    std::lock_guard lock(mutex_);
    if (!relay_endpoint_) throw ClientError("relay " + relay_address() + ": not connected");
    return *relay_endpoint_;
}

void Client::check_connected() const {
    if (running_) return;
    std::lock_guard lock(mutex_);
    throw ClientError("lost the connection to the relay " + relay_address() +
                      (disconnect_reason_.empty() ? std::string() : ": " + disconnect_reason_));
}

std::map<std::pair<std::string, std::string>, std::uint64_t> Client::sent_counts() const {
    std::lock_guard lock(mutex_);
    return sent_;
}

std::map<std::pair<std::string, std::string>, std::uint64_t> Client::received_counts() const {
    std::lock_guard lock(mutex_);
    return received_;
}

std::size_t Client::queued_events() const {
    std::lock_guard lock(mutex_);
    return events_.size();
}

std::string Client::last_undecryptable_reason() const {
    std::lock_guard lock(mutex_);
    return last_undecryptable_;
}

double Client::ping() {
    const auto t0 = Clock::now();
    request({{"t", "ping"}});
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void Client::save() {
    std::lock_guard lock(account_mutex_);
    save_locked();
}

void Client::save_locked() {
    if (!cfg_.state_path.empty()) account_.save(cfg_.state_path);
}

wire::SecureChannel Client::open_blob_channel() {
    auto ch = [&] {
        try {
            auto fd = wire::tcp_connect(cfg_.relay_host, cfg_.blob_port);
            return wire::SecureChannel::connect(std::move(fd), wire::Channel::blob, account_.noise_key(), 10000,
                                                cfg_.null_cipher);
        } catch (const wire::WireError& e) {
            throw ClientError("blob store " + wire::host_port(cfg_.relay_host, cfg_.blob_port) + ": " + e.what());
        }
    }();
    ch.send_json({{"t", "login"}, {"id", 1}, {"user", account_.user()}});
    auto r = ch.recv(cfg_.request_timeout_ms);
    if (!r || wire::parse_json(*r).value("t", "") != "ok") throw ClientError("blob store login failed");
    return ch;
}

std::string Client::upload_blob(ByteView data) {
    auto ch = open_blob_channel();
    ch.send_json({{"t", "blob_put"}, {"id", 2}, {"size", data.size()}});
    auto r = ch.recv(cfg_.request_timeout_ms);
    if (!r) throw ClientError("blob store: no reply to the upload request");
    const json ready = wire::parse_json(*r);
    if (ready.value("t", "") != "ready")
        throw ClientError("blob store refused the upload: " + ready.value("reason", std::string("?")));
    Bytes chunk;
    for (std::size_t at = 0; at < data.size(); at += wire::kChunk) {
        const std::size_t n = std::min(wire::kChunk, data.size() - at);
        chunk.assign(1, wire::kKindChunk);
        crypto::append(chunk, data.subspan(at, n));
        ch.send(chunk);
    }
    r = ch.recv(cfg_.request_timeout_ms * 4);
    if (!r) throw ClientError("blob upload: no confirmation");
    const json ok = wire::parse_json(*r);
    if (ok.value("t", "") != "blob_ok") throw ClientError("blob upload refused: " + ok.value("reason", "?"));
    return ok.at("blob_id").get<std::string>();
}

Bytes Client::download_blob(const std::string& blob_id) {
    auto ch = open_blob_channel();
    ch.send_json({{"t", "blob_get"}, {"id", 2}, {"blob_id", blob_id}});
    auto r = ch.recv(cfg_.request_timeout_ms);
    if (!r) throw ClientError("blob download: no reply");
    const json head = wire::parse_json(*r);
    if (head.value("t", "") != "blob") throw ClientError("blob download refused: " + head.value("reason", "?"));
    const auto size = wire::json_int<std::uint64_t>(head.at("size"));
    Bytes out;
    out.reserve(size);
    while (out.size() < size) {
        auto c = ch.recv(cfg_.request_timeout_ms);
        if (!c || c->empty() || (*c)[0] != wire::kKindChunk) throw ClientError("blob download: bad chunk");
        out.insert(out.end(), c->begin() + 1, c->end());
    }
    if (out.size() != size) throw ClientError("blob download: size mismatch");
    return out;
}

json Client::send_file(const std::string& peer, ByteView content, const std::string& name) {
    if (cfg_.null_cipher) {
        // Debug mode: Padmé padding only; the blob store receives (and the network carries) the content itself.
        const Bytes padded = crypto::ratchet::pad_padme(content);
        const std::string blob = upload_blob(padded);
        const json msg = {{"k", "file"},
                          {"blob", blob},
                          {"cipher", "null"},
                          {"digest", crypto::to_b64(crypto::sha256(padded))},
                          {"size", content.size()},
                          {"name", name}};
        send(peer, msg);
        return msg;
    }
    // Fresh key per attachment; Padmé padding then one secretstream chunk per 64 KiB.
    const Bytes padded = crypto::ratchet::pad_padme(content);
    std::array<std::uint8_t, crypto_secretstream_xchacha20poly1305_KEYBYTES> key;
    crypto_secretstream_xchacha20poly1305_keygen(key.data());
    crypto_secretstream_xchacha20poly1305_state st;
    Bytes out(crypto_secretstream_xchacha20poly1305_HEADERBYTES);
    crypto_secretstream_xchacha20poly1305_init_push(&st, out.data(), key.data());
    constexpr std::size_t kPart = 64 * 1024;
    for (std::size_t at = 0; at < padded.size(); at += kPart) {
        const std::size_t n = std::min(kPart, padded.size() - at);
        const bool last = at + n == padded.size();
        const std::size_t base = out.size();
        out.resize(base + n + crypto_secretstream_xchacha20poly1305_ABYTES);
        crypto_secretstream_xchacha20poly1305_push(&st, out.data() + base, nullptr, padded.data() + at, n, nullptr, 0,
                                                   last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    }
    const std::string blob = upload_blob(out);
    const json msg = {{"k", "file"},
                      {"blob", blob},
                      {"key", crypto::to_b64(key)},
                      {"digest", crypto::to_b64(crypto::sha256(out))},
                      {"size", content.size()},
                      {"name", name}};
    send(peer, msg);
    return msg;
}

Bytes Client::fetch_file(const json& m) {
    const bool plain = m.contains("cipher");
    if (plain && (m["cipher"] != "null" || !cfg_.null_cipher))
        throw ClientError("plaintext (null-cipher) attachment refused: this client is not in --null-cipher mode");
    const Bytes data = download_blob(m.at("blob").get<std::string>());
    if (crypto::to_b64(crypto::sha256(data)) != m.at("digest").get<std::string>())
        throw ClientError("attachment digest mismatch");
    if (plain) {
        auto content = crypto::ratchet::unpad(data);
        if (!content || content->size() != wire::json_int<std::size_t>(m.at("size")))
            throw ClientError("attachment padding");
        return *content;
    }
    const Bytes key = crypto::from_b64(m.at("key").get<std::string>());
    if (key.size() != crypto_secretstream_xchacha20poly1305_KEYBYTES ||
        data.size() < crypto_secretstream_xchacha20poly1305_HEADERBYTES)
        throw ClientError("attachment malformed");
    crypto_secretstream_xchacha20poly1305_state st;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, data.data(), key.data()) != 0)
        throw ClientError("attachment header invalid");
    constexpr std::size_t kPart = 64 * 1024 + crypto_secretstream_xchacha20poly1305_ABYTES;
    Bytes padded;
    bool final_seen = false;
    for (std::size_t at = crypto_secretstream_xchacha20poly1305_HEADERBYTES; at < data.size(); at += kPart) {
        const std::size_t n = std::min(kPart, data.size() - at);
        const std::size_t base = padded.size();
        padded.resize(base + n);
        unsigned long long len = 0;
        unsigned char tag = 0;
        if (final_seen || crypto_secretstream_xchacha20poly1305_pull(&st, padded.data() + base, &len, &tag,
                                                                     data.data() + at, n, nullptr, 0) != 0)
            throw ClientError("attachment failed authentication");
        padded.resize(base + static_cast<std::size_t>(len));
        final_seen = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    }
    if (!final_seen) throw ClientError("attachment truncated");
    auto content = crypto::ratchet::unpad(padded);
    if (!content || content->size() != wire::json_int<std::size_t>(m.at("size"))) throw ClientError("attachment padding");
    return *content;
}

} // namespace sealscope::e2ee::client
