#include "relay/relay.hpp"
#include "relay/session.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/nearest_word.hpp"
#include "common/text_input.hpp"

namespace sealscope::e2ee::relay {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// Short, non-reversible tag for a peer name in logs of sealed-sender traffic.
std::string short_id(std::int64_t id) { return std::to_string(id); }

/// Seconds as the milliseconds SecureChannel takes, computed wide (validate() bounds every timeout to
/// kMaxTimeoutS, so the result fits an int).
int timeout_ms(int s) { return static_cast<int>(std::min<std::int64_t>(std::int64_t{s} * 1000, INT_MAX)); }

} // namespace

ChatSession::Push ChatSession::push(const Envelope& e) {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::closed;
    if (!pushed_.insert(e.id).second) return Push::duplicate;
    json j = {{"t", "deliver"}, {"env_id", e.id}, {"env", crypto::to_b64(e.body)}};
    j["from"] = e.sender ? json(*e.sender) : json();
    try {
        ch_.send_json(j);
        return Push::sent;
    } catch (const std::exception&) {
        ch_.fd().shutdown();
        return Push::failed;
    }
}

void ChatSession::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

RelayConfig load_config(const std::string& path, RelayConfig c) {
    const std::string source = read_text_input(path, "config file", "cannot read the config file");
    // Columns in characters, as an editor shows them (yaml-cpp counts bytes).
    auto at = [&](const YAML::Mark& m) {
        const int line = m.is_null() ? 1 : m.line + 1;
        return fmt::format("{}:{}:{}", path, line, character_column(source, line, m.is_null() ? 1 : m.column + 1));
    };
    YAML::Node y;
    try {
        y = YAML::Load(source);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(fmt::format("{}: {}", at(e.mark), e.msg));
    }
    if (y.IsNull()) return c;  // an empty file: the defaults
    if (!y.IsMap())
        throw std::runtime_error(fmt::format("{}: expected a mapping of settings (key: value)", at(y.Mark())));
    // A value of the key's type, or an error naming where and what was expected.
    auto get = [&]<class T>(const YAML::Node& v, const std::string& key, const char* expected, T& into) {
        try {
            if (!v.IsScalar()) throw YAML::BadConversion(v.Mark());
            into = v.as<T>();
        } catch (const YAML::BadConversion&) {
            throw std::runtime_error(fmt::format("{}: {}: expected {}", at(v.Mark()), key, expected));
        }
    };
    const char* const count = "a whole number";
    const char* const port = "a port number (0..65535)";
    const char* const text = "a string";
    using Set = std::function<void(const YAML::Node&, const std::string&)>;
    const std::vector<std::pair<std::string, Set>> keys = {
        {"listen", [&](const auto& v, const auto& k) { get(v, k, text, c.listen); }},
        {"chat_port", [&](const auto& v, const auto& k) { get(v, k, port, c.chat_port); }},
        {"blob_port", [&](const auto& v, const auto& k) { get(v, k, port, c.blob_port); }},
        {"media_port", [&](const auto& v, const auto& k) { get(v, k, port, c.media_port); }},
        {"data_dir", [&](const auto& v, const auto& k) { get(v, k, text, c.data_dir); }},
        {"log_file", [&](const auto& v, const auto& k) { get(v, k, text, c.log_file); }},
        {"idle_timeout_s", [&](const auto& v, const auto& k) { get(v, k, count, c.idle_timeout_s); }},
        {"handshake_timeout_s", [&](const auto& v, const auto& k) { get(v, k, count, c.handshake_timeout_s); }},
        {"call_idle_timeout_s", [&](const auto& v, const auto& k) { get(v, k, count, c.call_idle_timeout_s); }},
        {"send_timeout_s", [&](const auto& v, const auto& k) { get(v, k, count, c.send_timeout_s); }},
        {"max_connections", [&](const auto& v, const auto& k) { get(v, k, count, c.max_connections); }},
        {"max_frame_bytes", [&](const auto& v, const auto& k) { get(v, k, count, c.max_frame_bytes); }},
        {"max_queued_envelopes", [&](const auto& v, const auto& k) { get(v, k, count, c.max_queued_envelopes); }},
        {"max_blob_bytes", [&](const auto& v, const auto& k) { get(v, k, count, c.max_blob_bytes); }},
        {"max_prekeys_per_account",
         [&](const auto& v, const auto& k) { get(v, k, count, c.max_prekeys_per_account); }},
        {"blob_ttl_s", [&](const auto& v, const auto& k) { get(v, k, count, c.blob_ttl_s); }},
        {"max_accounts", [&](const auto& v, const auto& k) { get(v, k, count, c.max_accounts); }},
        {"max_calls_per_user", [&](const auto& v, const auto& k) { get(v, k, count, c.max_calls_per_user); }},
        {"max_blob_storage_per_user",
         [&](const auto& v, const auto& k) { get(v, k, count, c.max_blob_storage_per_user); }},
    };
    std::map<std::string, YAML::Mark> where;  // of each value, for range errors
    for (const auto& kv : y) {
        const std::string key = kv.first.Scalar();
        if (key == "allow_null_cipher")
            throw std::runtime_error(fmt::format("{}: allow_null_cipher cannot be set in a config file; "
                                                 "use the --allow-null-cipher flag",
                                                 at(kv.first.Mark())));
        const auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == key; });
        if (it != keys.end()) {
            it->second(kv.second, key);
            where[key] = kv.second.Mark();
            continue;
        }
        std::vector<std::string> names;
        std::string all;
        for (const auto& k : keys) {
            names.push_back(k.first);
            all += (all.empty() ? "" : ", ") + k.first;
        }
        const std::string best = nearest_word(key, names);  // a near miss only: chat-port, max_conections
        throw std::runtime_error(
            best.empty() ? fmt::format("{}: unknown key '{}'; expected one of: {}", at(kv.first.Mark()), key, all)
                         : fmt::format("{}: unknown key '{}' (did you mean '{}'?)", at(kv.first.Mark()), key, best));
    }
    try {
        validate(c);
    } catch (const std::runtime_error& e) {
        // validate() starts each message with the key's name: point at its value in the file.
        const std::string msg = e.what();
        const auto w = where.find(msg.substr(0, msg.find(' ')));
        throw std::runtime_error(fmt::format("{}: {}", w != where.end() ? at(w->second) : path, msg));
    }
    return c;
}

void validate(const RelayConfig& c, const std::string& where) {
    auto bad = [&](const std::string& what) {
        return std::runtime_error((where.empty() ? std::string() : where + ": ") + what);
    };
    if (c.max_connections < 1 || c.max_connections > kMaxConnections)
        throw bad(fmt::format("max_connections must be between 1 and {} (got {})", kMaxConnections, c.max_connections));
    for (const auto& [name, v] : {std::pair{"idle_timeout_s", c.idle_timeout_s},
                                  {"handshake_timeout_s", c.handshake_timeout_s},
                                  {"call_idle_timeout_s", c.call_idle_timeout_s}, {"send_timeout_s", c.send_timeout_s}})
        if (v < 1 || v > kMaxTimeoutS)
            throw bad(fmt::format("{} must be between 1 and {} seconds (got {})", name, kMaxTimeoutS, v));
    if (c.max_frame_bytes < kMinFrameLimit || c.max_frame_bytes > wire::kMaxFrame)
        throw bad(fmt::format("max_frame_bytes must be between {} and {}", kMinFrameLimit, wire::kMaxFrame));
    if (c.max_queued_envelopes < 1) throw bad("max_queued_envelopes must be at least 1");
    if (c.max_blob_bytes < 1) throw bad("max_blob_bytes must be at least 1");
    if (c.max_accounts < 1) throw bad("max_accounts must be at least 1");
    if (c.max_calls_per_user < 1) throw bad("max_calls_per_user must be at least 1");
    if (c.max_blob_storage_per_user < 1) throw bad("max_blob_storage_per_user must be at least 1");
    if (c.blob_ttl_s < 0 || c.blob_ttl_s > kMaxBlobTtlS)
        throw bad(fmt::format("blob_ttl_s must be 0 (never expire) or up to {} seconds (got {})", kMaxBlobTtlS,
                              c.blob_ttl_s));
}

namespace {

/// The relay's Noise static key from `path`, made (mode 0600 from its creation) when there is none.
crypto::DhKeyPair load_or_create_key(const fs::path& path) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
        std::ifstream in(path);
        std::string hex;
        if (!(in >> hex)) throw std::runtime_error(fmt::format("relay key {}: cannot read it", path.string()));
        try {
            return crypto::DhKeyPair::from_private(crypto::to_key(crypto::from_hex(hex)));
        } catch (const std::exception& e) {
            throw std::runtime_error(
                fmt::format("relay key {}: {} (expected 64 hex digits)", path.string(), e.what()));
        }
    }
    auto key = crypto::DhKeyPair::generate();
    const std::string text = crypto::to_hex(key.priv) + "\n";
    // O_EXCL with mode 0600: the private key is never readable by others, not even for a moment.
    wire::Fd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    bool ok = out.get() >= 0 && ::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(out.get()) == 0;
    if (ok && ::close(out.release()) != 0) ok = false;
    if (!ok) {
        const int e = errno;
        if (out.get() >= 0) fs::remove(path, ec);
        throw std::runtime_error(fmt::format("relay key {}: cannot write it: {}", path.string(), std::strerror(e)));
    }
    return key;
}

} // namespace

Relay::Relay(RelayConfig cfg) : cfg_(std::move(cfg)), log_(cfg_.log_file) {
    validate(cfg_);
    crypto::init();
    fs::create_directories(fs::path(cfg_.data_dir) / "blobs");
    store_ = std::make_unique<Store>((fs::path(cfg_.data_dir) / "relay.db").string());
    static_key_ = load_or_create_key(fs::path(cfg_.data_dir) / "relay_static.key");
}

Relay::~Relay() { stop(); }

void Relay::start() {
    // Which service could not bind, with the address the socket layer names.
    auto bind = [&](const char* service, auto open, std::uint16_t port) {
        try {
            return open(cfg_.listen, port);
        } catch (const wire::WireError& e) {
            throw wire::WireError(fmt::format("{} port: {}", service, e.what()));
        }
    };
    chat_listen_ = bind("chat", wire::tcp_listen, cfg_.chat_port);
    blob_listen_ = bind("blob", wire::tcp_listen, cfg_.blob_port);
    media_sock_ = bind("media", wire::udp_bind, cfg_.media_port);
    chat_port_ = wire::bound_port(chat_listen_.get());
    blob_port_ = wire::bound_port(blob_listen_.get());
    media_port_ = wire::bound_port(media_sock_.get());
    log_.event("start", fmt::format("listen={} chat_port={} blob_port={} media_port={} pending={}", cfg_.listen,
                                    chat_port_, blob_port_, media_port_, store_->envelope_count()));
    started_ = true;
    if (cfg_.allow_null_cipher) log_.event("null_cipher_allowed", "warning=\"plaintext clients accepted\"");
    threads_.emplace_back([this] { accept_loop(chat_listen_.get(), wire::Channel::chat); });
    threads_.emplace_back([this] { accept_loop(blob_listen_.get(), wire::Channel::blob); });
    threads_.emplace_back([this] { media_loop(); });
    threads_.emplace_back([this] { maintenance_loop(); });
}

void Relay::stop() {
    if (stopping_.exchange(true)) return;
    chat_listen_.shutdown();
    blob_listen_.shutdown();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    std::unique_lock lock(conn_mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    conn_cv_.wait(lock, [this] { return active_ == 0; });
    if (started_) log_.event("stop");  // a relay that never started (a port taken) did not stop either
}

void Relay::accept_loop(int listen_fd, wire::Channel expected) {
    while (!stopping_) {
        pollfd p{listen_fd, POLLIN, 0};
        if (::poll(&p, 1, 250) <= 0) continue;
        const int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        wire::Fd fd(c);
        std::unique_lock lock(conn_mutex_);
        if (active_ >= cfg_.max_connections) {
            lock.unlock();
            log_.event("conn_refused", fmt::format("peer={} reason=too_many_connections", wire::peer_name(c)));
            limit_reached("max_connections", fmt::format("peer={} max={}", wire::peer_name(c), cfg_.max_connections));
            continue;
        }
        ++active_;
        open_fds_.insert(c);
        lock.unlock();
        std::thread([this, f = std::move(fd), expected]() mutable { serve(std::move(f), expected); }).detach();
    }
}

void Relay::serve(wire::Fd fd, wire::Channel expected) {
    const int raw = fd.get();
    const std::string peer = wire::peer_name(raw);
    log_.event("conn_open", fmt::format("peer={} service={}", peer, expected == wire::Channel::chat ? "chat" : "blob"));
    std::string reason = "closed";
    // Writes to a peer that does not read fail after send_timeout_s instead of blocking a thread forever.
    const timeval tv{cfg_.send_timeout_s, 0};
    ::setsockopt(raw, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    // This connection's entry leaves open_fds_ before its socket is closed: a connection accepted after the
    // close may get the same number, and stop() must still find that one. (When the handshake fails, accept()
    // has closed the socket already; open_fds_ is a multiset, so the late erase takes this entry, not the
    // new connection's.)
    bool tracked = true;
    auto untrack = [&] {
        if (!std::exchange(tracked, false)) return;
        std::lock_guard lock(conn_mutex_);
        if (const auto it = open_fds_.find(raw); it != open_fds_.end()) open_fds_.erase(it);
    };
    try {
        auto ch = wire::SecureChannel::accept(std::move(fd), static_key_, timeout_ms(cfg_.handshake_timeout_s),
                                              cfg_.allow_null_cipher);
        struct Untrack {
            decltype(untrack)& f;
            ~Untrack() { f(); }
        } untrack_before_close{untrack};  // destroyed before `ch`
        if (ch.channel() != expected) throw wire::WireError("prologue names the wrong service");
        if (ch.null_cipher()) log_.event("null_cipher", fmt::format("peer={} warning=\"plaintext connection\"", peer));
        ch.set_max_frame(cfg_.max_frame_bytes);
        if (expected == wire::Channel::chat) serve_chat(ch, peer);
        else serve_blob(ch, peer);
    } catch (const wire::FrameTooLarge& e) {
        reason = e.what();
        limit_reached("max_frame_bytes", fmt::format("peer={} bytes={} max={}", peer, e.length, e.limit));
    } catch (const std::exception& e) {
        reason = e.what();
    }
    untrack();
    // stop() shuts the connections down, which their threads see as the peer closing: say who did.
    if (stopping_) reason = "relay stopping";
    log_.event("conn_close", fmt::format("peer={} reason=\"{}\"", peer, reason));
    std::lock_guard lock(conn_mutex_);
    --active_;
    conn_cv_.notify_all();
}

void Relay::push_pending(const std::shared_ptr<ChatSession>& s) {
    for (const auto& e : store_->pending(s->user())) {
        // Only the session's own thread gets here, and it closes the session only when it ends: never `closed`.
        if (s->push(e) == ChatSession::Push::failed) {
            push_failed(s->user(), e.id);
            break;
        }
    }
}

void Relay::push_failed(const std::string& user, std::int64_t env_id) {
    log_.event("push_failed", fmt::format("user={} env={} reason=recipient_not_reading", user, short_id(env_id)));
    limit_reached("send_timeout_s", fmt::format("user={} max={}", user, cfg_.send_timeout_s));
}

std::optional<std::string> Relay::allocate_call(const std::string& user) {
    Call call;
    call.user = user;
    const auto t = crypto::random_bytes(wire::kTokenLen);
    std::copy(t.begin(), t.end(), call.token.begin());
    call.last_ms = now_ms();
    std::lock_guard lock(calls_mutex_);
    const auto held = static_cast<std::size_t>(
        std::count_if(calls_.begin(), calls_.end(), [&](const auto& c) { return c.second.user == user; }));
    if (held >= cfg_.max_calls_per_user) return std::nullopt;
    calls_[call.token] = call;
    log_.event("call_alloc", fmt::format("user={} calls={}", user, calls_.size()));
    return crypto::to_hex(call.token);
}

void Relay::limit_reached(std::string_view what, const std::string& fields) {
    log_.event("limit_reached", fmt::format("limit={} {}", what, fields));
}

void Relay::serve_chat(wire::SecureChannel& ch, const std::string& peer) {
    std::shared_ptr<ChatSession> session;
    auto reply = [&ch](const Request& req, json r) {
        if (!req.id.is_null()) r["id"] = req.id;
        ch.send_json(r);
    };
    struct Unregister {
        Relay* self;
        std::shared_ptr<ChatSession>* s;
        ~Unregister() {
            if (!*s) return;
            {
                std::lock_guard lock(self->online_mutex_);
                auto it = self->online_.find((*s)->user());
                if (it != self->online_.end() && it->second == *s) self->online_.erase(it);
            }
            // Another connection's thread may hold the session from a lookup just before the erase; after
            // close() its push leaves `ch` (about to be destroyed with this thread's frame) alone.
            (*s)->close();
        }
    } unregister{this, &session};

    auto go_online = [&](const std::string& user) {
        session = std::make_shared<ChatSession>(ch, user);
        {
            std::lock_guard lock(online_mutex_);
            online_[user] = session;
        }
        log_.event("login", fmt::format("peer={} user={} pending={}", peer, user, store_->pending_count(user)));
    };
    // One-time prekeys a client may publish, bounded per account; false (reported) when over the limit.
    auto prekeys_fit = [&](const Request& req, const std::string& user, std::size_t adding) {
        const std::size_t have = store_->one_time_prekey_count(user);
        if (have + adding <= cfg_.max_prekeys_per_account) return true;
        reply(req, {{"t", "error"}, {"reason", "too many one-time prekeys"}, {"max", cfg_.max_prekeys_per_account}});
        limit_reached("max_prekeys_per_account",
                      fmt::format("peer={} user={} have={} adding={} max={}", peer, user, have, adding,
                                  cfg_.max_prekeys_per_account));
        return false;
    };

    while (!stopping_) {
        auto msg = ch.recv(timeout_ms(cfg_.idle_timeout_s));
        if (!msg) throw wire::WireError("idle timeout");
        const Request req = parse_request(*msg, wire::Channel::chat);
        const std::string& t = req.type;
        if (const auto* g = std::get_if<req::Register>(&req.body)) {
            if (session) throw wire::WireError("second login on one connection");
            Account a;
            a.user = g->user;
            a.noise_static = ch.remote_static();
            a.identity = g->identity;
            a.signed_prekey_id = g->spk_id;
            a.signed_prekey = g->spk;
            a.signature = g->spk_sig;
            if (!crypto::verify(a.identity, a.signed_prekey, a.signature))
                throw wire::WireError("register: bad signed-prekey signature");
            if (g->otpks.size() > cfg_.max_prekeys_per_account) {
                reply(req, {{"t", "error"}, {"reason", "too many one-time prekeys"},
                            {"max", cfg_.max_prekeys_per_account}});
                limit_reached("max_prekeys_per_account",
                              fmt::format("peer={} user={} have=0 adding={} max={}", peer, g->user, g->otpks.size(),
                                          cfg_.max_prekeys_per_account));
                throw wire::WireError("register: too many one-time prekeys");
            }
            switch (store_->create_account(a, cfg_.max_accounts)) {
            case Store::Created::ok:
                break;
            case Store::Created::name_taken:
                reply(req, {{"t", "error"}, {"reason", "name taken"}});
                throw wire::WireError("register: name taken by another key");
            case Store::Created::full:
                reply(req, {{"t", "error"}, {"reason", "too many accounts"}, {"max", cfg_.max_accounts}});
                limit_reached("max_accounts", fmt::format("peer={} user={} max={}", peer, g->user, cfg_.max_accounts));
                throw wire::WireError("register: too many accounts");
            }
            store_->add_one_time_prekeys(g->user, g->otpks);
            log_.event("register", fmt::format("peer={} user={} otpks={}", peer, g->user, g->otpks.size()));
            go_online(g->user);
            reply(req, {{"t", "ok"}, {"otpks_left", store_->one_time_prekey_count(g->user)}});
            push_pending(session);
            continue;
        }
        if (const auto* l = std::get_if<req::Login>(&req.body)) {
            if (session) throw wire::WireError("second login on one connection");
            auto a = store_->account(l->user);
            if (!a) {
                reply(req, {{"t", "error"}, {"reason", "unknown account"}});
                throw wire::WireError("login: unknown account");
            }
            if (a->noise_static != ch.remote_static()) {
                reply(req, {{"t", "error"}, {"reason", "key mismatch"}});
                throw wire::WireError("login: transport key does not match the account");
            }
            go_online(l->user);
            reply(req, {{"t", "ok"}, {"otpks_left", store_->one_time_prekey_count(l->user)}});
            push_pending(session);
            continue;
        }
        if (!session) throw wire::WireError("request before login: " + t);
        const std::string& me = session->user();
        if (std::holds_alternative<req::Ping>(req.body)) {
            reply(req, {{"t", "pong"}});
        } else if (const auto* p = std::get_if<req::Prekeys>(&req.body)) {
            const std::string& who = p->user;
            auto a = store_->account(who);
            if (!a) {
                reply(req, {{"t", "error"}, {"reason", "unknown user"}});
                continue;
            }
            json r = {{"t", "bundle"},
                      {"user", who},
                      {"identity", crypto::to_b64(a->identity)},
                      {"spk_id", a->signed_prekey_id},
                      {"spk", crypto::to_b64(a->signed_prekey)},
                      {"spk_sig", crypto::to_b64(a->signature)}};
            if (auto otp = store_->take_one_time_prekey(who)) {
                r["otpk_id"] = otp->first;
                r["otpk"] = crypto::to_b64(otp->second);
            }
            log_.event("prekeys", fmt::format("user={} target={} otpk={}", me, who, r.contains("otpk")));
            reply(req, r);
        } else if (const auto* rp = std::get_if<req::Replenish>(&req.body)) {
            if (!prekeys_fit(req, me, rp->otpks.size())) continue;
            store_->add_one_time_prekeys(me, rp->otpks);
            reply(req, {{"t", "ok"}});
        } else if (const auto* s = std::get_if<req::Send>(&req.body)) {
            const std::string& to = s->to;
            if (!store_->account(to)) {
                reply(req, {{"t", "error"}, {"reason", "unknown recipient"}});
                log_.event("send_refused", fmt::format("user={} reason=unknown_recipient", me));
                continue;
            }
            const std::size_t queued = store_->pending_count(to);
            if (queued >= cfg_.max_queued_envelopes) {
                // Refused, never dropped: the sender is told and can retry once the recipient drains its queue.
                reply(req, {{"t", "error"}, {"reason", "recipient queue full"}, {"max", cfg_.max_queued_envelopes}});
                log_.event("send_refused", fmt::format("user={} reason=queue_full", me));
                limit_reached("max_queued_envelopes",
                              fmt::format("user={} to={} queued={} max={}", me, to, queued, cfg_.max_queued_envelopes));
                continue;
            }
            Envelope e;
            e.recipient = to;
            if (!s->sealed) e.sender = me;
            e.body = s->env;
            e.id = store_->store_envelope(to, e.sender, e.body);
            reply(req, {{"t", "stored"}, {"env_id", e.id}});
            log_.event("stored", fmt::format("env={} to={} from={} bytes={}", short_id(e.id), to,
                                             s->sealed ? "sealed" : me, e.body.size()));
            std::shared_ptr<ChatSession> target;
            {
                std::lock_guard lock(online_mutex_);
                if (auto it = online_.find(to); it != online_.end()) target = it->second;
            }
            if (target && target->push(e) == ChatSession::Push::failed) push_failed(to, e.id);
        } else if (const auto* a = std::get_if<req::Ack>(&req.body)) {
            const bool ok = store_->delete_envelope(me, a->env_id);
            log_.event("acked", fmt::format("env={} user={} found={}", short_id(a->env_id), me, ok));
        } else if (std::holds_alternative<req::CallAlloc>(req.body)) {
            const auto token = allocate_call(me);
            if (!token) {
                // Refused with a reply; the calls held expire after call_idle_timeout_s without media.
                reply(req, {{"t", "error"}, {"reason", "too many calls"}, {"max", cfg_.max_calls_per_user}});
                limit_reached("max_calls_per_user",
                              fmt::format("peer={} user={} max={}", peer, me, cfg_.max_calls_per_user));
                continue;
            }
            reply(req, {{"t", "call_token"}, {"token", *token}, {"udp_port", media_port_}});
        } else {
            throw wire::WireError("unknown request type");
        }
    }
}

void Relay::serve_blob(wire::SecureChannel& ch, const std::string& peer) {
    std::string user;
    const fs::path dir = fs::path(cfg_.data_dir) / "blobs";
    while (!stopping_) {
        auto msg = ch.recv(timeout_ms(cfg_.idle_timeout_s));
        if (!msg) throw wire::WireError("idle timeout");
        const Request req = parse_request(*msg, wire::Channel::blob);
        json r = {{"id", req.id}};
        if (const auto* l = std::get_if<req::Login>(&req.body)) {
            auto a = store_->account(l->user);
            if (!a) throw wire::WireError("login: unknown account");
            if (a->noise_static != ch.remote_static()) throw wire::WireError("login: key mismatch");
            user = l->user;
            r["t"] = "ok";
            ch.send_json(r);
            continue;
        }
        if (user.empty()) throw wire::WireError("blob request before login");
        if (const auto* put = std::get_if<req::BlobPut>(&req.body)) {
            const std::uint64_t size = put->size;
            if (size > cfg_.max_blob_bytes) {
                // Refused with a reply; the connection stays usable.
                r["t"] = "error";
                r["reason"] = "blob too large";
                r["max"] = cfg_.max_blob_bytes;
                ch.send_json(r);
                limit_reached("max_blob_bytes",
                              fmt::format("peer={} user={} bytes={} max={}", peer, user, size, cfg_.max_blob_bytes));
                continue;
            }
            const std::string id = crypto::to_hex(crypto::random_bytes(16));
            if (!store_->reserve_blob(id, user, size, cfg_.max_blob_storage_per_user)) {
                r["t"] = "error";
                r["reason"] = "blob storage full";
                r["max"] = cfg_.max_blob_storage_per_user;
                ch.send_json(r);
                limit_reached("max_blob_storage_per_user",
                              fmt::format("peer={} user={} bytes={} used={} max={}", peer, user, size,
                                          store_->blob_bytes(user), cfg_.max_blob_storage_per_user));
                continue;
            }
            // The reservation is released if the upload does not end in blob_ok.
            bool stored = false;
            struct Release {
                Store& store;
                const std::string& id;
                const bool& stored;
                ~Release() {
                    if (stored) return;
                    try {
                        store.remove_blob(id);
                    } catch (const std::exception&) {  // the sweep forgets it with the file's expiry
                    }
                }
            } release{*store_, id, stored};
            const fs::path tmp = dir / (id + ".part");
            // Every step is checked: an upload is confirmed only once it is written, fsync'ed and renamed.
            // On the first failure the partial file goes, the rest of the upload is read and dropped (so the
            // connection stays in step) and the client gets an error reply instead of blob_ok.
            std::string failed;
            auto fail = [&](const char* step) {
                if (failed.empty()) failed = fmt::format("{}: {}", step, std::strerror(errno));
            };
            wire::Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            if (out.get() < 0) fail("create");
            r["t"] = "ready";
            ch.send_json(r);
            std::uint64_t got = 0;
            while (got < size) {
                auto chunk = ch.recv(timeout_ms(cfg_.idle_timeout_s));
                if (!chunk || chunk->empty() || (*chunk)[0] != wire::kKindChunk || got + chunk->size() - 1 > size) {
                    out = wire::Fd();
                    std::error_code ec;
                    fs::remove(tmp, ec);
                    throw wire::WireError("blob_put: bad chunk");
                }
                got += chunk->size() - 1;
                for (std::size_t at = 1; failed.empty() && at < chunk->size();) {
                    const ssize_t n = ::write(out.get(), chunk->data() + at, chunk->size() - at);
                    if (n < 0 && errno == EINTR) continue;
                    if (n <= 0) {
                        if (n == 0) errno = EIO;
                        fail("write");
                        break;
                    }
                    at += static_cast<std::size_t>(n);
                }
            }
            // fsync before the rename so an acknowledged blob survives a crash.
            if (failed.empty() && ::fsync(out.get()) != 0) fail("fsync");
            if (failed.empty() && ::close(out.release()) != 0) fail("close");
            if (failed.empty() && ::rename(tmp.c_str(), (dir / id).c_str()) != 0) fail("rename");
            if (!failed.empty()) {
                out = wire::Fd();
                std::error_code ec;
                fs::remove(tmp, ec);
                r["t"] = "error";
                r["reason"] = "blob not stored: " + failed;
                ch.send_json(r);
                log_.event("blob_put_failed", fmt::format("peer={} user={} bytes={} reason=\"{}\"", peer, user,
                                                          size, failed));
                continue;
            }
            stored = true;
            r["t"] = "blob_ok";
            r["blob_id"] = id;
            ch.send_json(r);
            log_.event("blob_put", fmt::format("peer={} user={} blob={} bytes={}", peer, user, id, size));
        } else if (const auto* get = std::get_if<req::BlobGet>(&req.body)) {
            const std::string& id = get->blob_id;
            const fs::path p = dir / id;
            std::ifstream in(p, std::ios::binary);
            if (!in) {
                r["t"] = "error";
                r["reason"] = "no such blob";
                ch.send_json(r);
                continue;
            }
            std::error_code ec;
            const auto size = fs::file_size(p, ec);
            if (ec) throw wire::WireError("blob_get: " + ec.message());
            r["t"] = "blob";
            r["size"] = size;
            ch.send_json(r);
            crypto::Bytes buf(wire::kChunk + 1);
            buf[0] = wire::kKindChunk;
            std::uint64_t sent = 0;
            while (sent < size) {
                in.read(reinterpret_cast<char*>(buf.data() + 1), static_cast<std::streamsize>(wire::kChunk));
                const auto n = static_cast<std::size_t>(in.gcount());
                if (n == 0) throw wire::WireError("blob_get: short file");
                ch.send(crypto::ByteView(buf).first(n + 1));
                sent += n;
            }
            log_.event("blob_get", fmt::format("peer={} user={} blob={} bytes={}", peer, user, id, size));
        } else {
            throw wire::WireError("unknown blob request");
        }
    }
}

void Relay::sweep_blobs() {
    if (cfg_.blob_ttl_s <= 0) return;
    const fs::path dir = fs::path(cfg_.data_dir) / "blobs";
    const auto now = fs::file_time_type::clock::now();
    std::size_t removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        const auto mtime = it->last_write_time(e2);
        if (e2) continue;
        const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - mtime).count();
        if (age < cfg_.blob_ttl_s) continue;
        const std::string name = it->path().filename().string();
        if (fs::remove(it->path(), e2)) {
            ++removed;
            store_->remove_blob(name.ends_with(".part") ? name.substr(0, name.size() - 5) : name);
            log_.event("blob_expired", fmt::format("blob={} age_s={} ttl_s={}", name, age, cfg_.blob_ttl_s));
        }
    }
    if (removed > 0) limit_reached("blob_ttl_s", fmt::format("expired={} ttl_s={}", removed, cfg_.blob_ttl_s));
}

void Relay::maintenance_loop() {
    // Blob expiry: sweep every ttl/2, between 1 s and 5 min.
    const std::int64_t period_ms = std::clamp<std::int64_t>(cfg_.blob_ttl_s * 500LL, 1000, 300000);
    std::int64_t last = 0;
    while (!stopping_) {
        const std::int64_t now = now_ms();
        if (now - last >= period_ms) {
            last = now;
            try {
                sweep_blobs();
            } catch (const std::exception& e) {
                log_.event("blob_sweep_error", fmt::format("reason=\"{}\"", e.what()));
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void Relay::media_loop() {
    const int fd = media_sock_.get();
    std::array<std::uint8_t, 2048> buf{};
    std::int64_t last_sweep = now_ms();
    std::uint64_t dropped = 0;
    while (!stopping_) {
        pollfd p{fd, POLLIN, 0};
        const int pr = ::poll(&p, 1, 250);
        const std::int64_t now = now_ms();
        if (now - last_sweep > 5000) {
            last_sweep = now;
            std::lock_guard lock(calls_mutex_);
            for (auto it = calls_.begin(); it != calls_.end();) {
                if (now - it->second.last_ms > cfg_.call_idle_timeout_s * 1000LL) {
                    log_.event("call_end", fmt::format("forwarded={}", it->second.forwarded));
                    it = calls_.erase(it);
                } else {
                    ++it;
                }
            }
        }
        if (pr <= 0) continue;
        wire::Endpoint from;
        from.len = sizeof from.addr;
        const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, from.sa(), &from.len);
        // Data plane: malformed or unauthenticated packets are counted and dropped, never thrown.
        if (n < static_cast<ssize_t>(wire::kMediaHeader) || buf[0] != wire::kMediaMagic || buf[2] > 1) {
            ++dropped;
            continue;
        }
        std::array<std::uint8_t, 16> token{};
        std::copy(buf.begin() + 4, buf.begin() + 20, token.begin());
        const int leg = buf[2];
        std::optional<wire::Endpoint> target;
        {
            std::lock_guard lock(calls_mutex_);
            auto it = calls_.find(token);
            if (it == calls_.end()) {
                ++dropped;
                continue;
            }
            Call& c = it->second;
            if (!c.legs[static_cast<std::size_t>(leg)]) c.legs[static_cast<std::size_t>(leg)] = from;
            else if (!(*c.legs[static_cast<std::size_t>(leg)] == from)) {
                ++dropped;
                continue;
            }
            c.last_ms = now;
            if (buf[1] == static_cast<std::uint8_t>(wire::MediaType::bind)) continue;
            target = c.legs[static_cast<std::size_t>(1 - leg)];
            if (target) ++c.forwarded;
        }
        if (!target) continue;
        ::sendto(fd, buf.data(), static_cast<std::size_t>(n), 0, target->sa(), target->len);
    }
    log_.event("media_stop", fmt::format("dropped={}", dropped));
}

} // namespace sealscope::e2ee::relay
