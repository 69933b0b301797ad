#include "client/scenario.hpp"

#include "relay/request.hpp"
#include "wire/json_int.hpp"
#include "common/display_text.hpp"
#include "common/text_input.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace sealscope::e2ee::client {

namespace {
/// YAML reads an unquoted [::1]:5443 as the start of a list: what the errors then say to write instead.
constexpr const char* kQuoteIpv6Relay = "; an IPv6 relay address must be quoted, e.g. relay: \"[::1]:5443\"";
} // namespace

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

CallStats place_call(Client& c, const std::string& peer, double seconds, bool video) {
    if (!valid_call_seconds(seconds))
        throw ClientError(fmt::format("a call lasts more than 0 and at most {} seconds, not {}", kMaxCallSeconds,
                                      seconds));
    const wire::Endpoint relay = c.relay_endpoint();  // the media goes there: fail before the offer if unknown
    const json tok = c.request({{"t", "call_alloc"}});
    const std::string call_id = crypto::to_hex(crypto::random_bytes(8));
    CallParams p;
    p.relay = relay;
    p.udp_port = wire::json_int<std::uint16_t>(tok.at("udp_port"));
    const crypto::Bytes token = crypto::from_hex(tok.at("token").get<std::string>());
    if (token.size() != p.token.size()) throw ClientError("relay sent a malformed call token");
    std::copy(token.begin(), token.end(), p.token.begin());
    p.leg = 0;
    p.srtp_key = new_srtp_master();
    p.seconds = seconds;
    p.video = video;
    p.seed = crypto::random_uniform(1u << 30);
    p.null_cipher = c.config().null_cipher;
    json offer = {{"k", "call_offer"},
                  {"call", call_id},
                  {"token", tok.at("token")},
                  {"udp_port", p.udp_port},
                  {"srtp", crypto::to_b64(p.srtp_key)},
                  {"seconds", seconds},
                  {"video", video}};
    if (p.null_cipher) {
        // Debug mode: plain RTP; no key is exchanged.
        offer.erase("srtp");
        offer["srtp_profile"] = kNullSrtpProfile;
    }
    c.send(peer, offer);
    auto ans = c.wait_event(kAnswerWaitSeconds * 1000, [&](const Event& e) {
        return e.from == peer && e.body.value("k", "") == "call_answer" && e.body.value("call", "") == call_id;
    });
    if (!ans) c.check_connected();
    if (!ans) throw ClientError(fmt::format("call to {} was not answered within {} s", peer, kAnswerWaitSeconds));
    if (!ans->body.value("accept", false)) throw ClientError("call to " + peer + " was refused");
    CallStats st = run_call(p);
    c.send(peer, {{"k", "call_end"}, {"call", call_id}});
    return st;
}

CallStats answer_call(Client& c, const Event& offer) {
    const json& o = offer.body;
    CallParams p;
    p.relay = c.relay_endpoint();
    p.udp_port = wire::json_int<std::uint16_t>(o.at("udp_port"));
    const crypto::Bytes token = crypto::from_hex(o.at("token").get<std::string>());
    if (token.size() != p.token.size()) throw ClientError("malformed call offer");
    std::copy(token.begin(), token.end(), p.token.begin());
    p.leg = 1;
    if (o.contains("srtp_profile")) {
        // Only a client in the debug mode takes a call without SRTP protection.
        if (o["srtp_profile"] != kNullSrtpProfile || !c.config().null_cipher)
            throw ClientError("call offer without SRTP protection refused: this client is not in --null-cipher mode");
        p.null_cipher = true;
    } else {
        p.srtp_key = crypto::from_b64(o.at("srtp").get<std::string>());
    }
    p.seconds = o.at("seconds").get<double>();
    // The length comes from the peer: bound it so a hostile offer cannot keep the callee busy forever.
    if (!valid_call_seconds(p.seconds)) {
        c.send(offer.from, {{"k", "call_answer"}, {"call", o.at("call")}, {"accept", false}});
        throw ClientError(fmt::format("call offer from {} refused: its length {} s is not more than 0 and at most {}",
                                      offer.from, p.seconds, kMaxCallSeconds));
    }
    p.video = o.value("video", false);
    p.seed = crypto::random_uniform(1u << 30);
    c.send(offer.from, {{"k", "call_answer"}, {"call", o.at("call")}, {"accept", true}});
    return run_call(p);
}

namespace {

/// One simulated user: a client plus an agent thread that reacts like an app would.
class Agent {
public:
    Agent(ClientConfig cfg, const std::string& user, std::ostream& log, std::mutex& log_mutex, std::uint32_t seed,
          double keepalive_s)
        : client_(cfg, Account::create(user)), log_(log), log_mutex_(log_mutex), rng_(seed),
          keepalive_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(keepalive_s))) {}
    ~Agent() { stop(); }
    void start() {
        client_.connect(true);
        last_activity_ = Clock::now();
        thread_ = std::thread([this] { loop(); });
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        client_.disconnect();
    }
    Client& client() { return client_; }
    void touch() { last_activity_ = Clock::now(); }
    /// True while an event is being handled or waits in the queue.
    bool busy() const { return busy_ || client_.queued_events() > 0; }
    /// Failures while reacting to events (receipts not sent, files not fetched, calls not answered).
    std::uint64_t errors() const { return errors_; }
    /// Calls answered whose media never arrived.
    std::uint64_t silent_calls() const { return silent_calls_; }
    void record(const std::string& action, const std::string& peer, const json& extra = json::object()) {
        json j = extra;
        j["ts"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        j["user"] = client_.account().user();
        j["action"] = action;
        j["peer"] = peer;
        std::lock_guard lock(log_mutex_);
        log_ << json_for_terminal(j.dump(-1, ' ', false, json::error_handler_t::replace)) << "\n";  // may be stdout
        log_.flush();
    }

private:
    void loop() {
        while (!stop_) {
            auto ev = client_.wait_event(250, [](const Event& e) { return e.body.value("k", "") != "call_answer"; });
            try {
                if (!ev) client_.check_connected();  // a lost connection ends this user's part (an error)
                if (ev) {
                    busy_ = true;
                    handle(*ev);
                }
                if (Clock::now() - last_activity_.load() > keepalive_) {
                    client_.ping();  // idle keepalive, as mobile messengers do
                    record("keepalive", "relay");
                    touch();
                }
            } catch (const std::exception& e) {
                ++errors_;
                std::cerr << "sealchat scenario: " << client_.account().user() << ": " << display_text(e.what())
                          << "\n";
                if (!client_.connected()) break;
            }
            busy_ = false;
        }
    }
    void handle(const Event& ev) {
        const std::string k = ev.body.value("k", "");
        if (k == "text") {
            // Receipts of a sealed-sender message are sealed too: the conversation stays sealed both ways.
            client_.send(ev.from, {{"k", "receipt"}, {"state", "delivered"}, {"mid", ev.body.value("mid", "")}},
                         ev.sealed);
            record("receipt", ev.from, {{"state", "delivered"}, {"sealed", ev.sealed}});
            std::uniform_real_distribution<double> read_delay(0.3, 2.5);
            std::this_thread::sleep_for(std::chrono::duration<double>(read_delay(rng_)));
            client_.send(ev.from, {{"k", "receipt"}, {"state", "read"}, {"mid", ev.body.value("mid", "")}},
                         ev.sealed);
            record("receipt", ev.from, {{"state", "read"}, {"sealed", ev.sealed}});
            touch();
        } else if (k == "file") {
            const auto data = client_.fetch_file(ev.body);
            record("file_received", ev.from, {{"bytes", data.size()}});
            client_.send(ev.from, {{"k", "receipt"}, {"state", "read"}, {"blob", ev.body.value("blob", "")}});
            record("receipt", ev.from, {{"state", "read"}, {"sealed", false}});
            touch();
        } else if (k == "call_offer") {
            record("call_answer", ev.from, {{"sealed", false}});
            const CallStats st = answer_call(client_, ev);
            record("call_done", ev.from, {{"rtp_sent", st.rtp_sent}, {"rtp_received", st.rtp_received}});
            if (st.rtp_received == 0) ++silent_calls_;
            touch();
        }
    }

    Client client_;
    std::ostream& log_;
    std::mutex& log_mutex_;
    std::mt19937 rng_;
    Clock::duration keepalive_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> busy_{false};
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::uint64_t> silent_calls_{0};
    std::thread thread_;
    std::atomic<Clock::time_point> last_activity_{Clock::now()};
};

/// Every envelope a client got stored for a peer was decrypted by that peer: "" or what is missing.
std::string undelivered(const std::map<std::string, std::unique_ptr<Agent>>& agents) {
    std::string missing;
    for (const auto& [name, a] : agents) {
        for (const auto& [key, n] : a->client().sent_counts()) {
            const auto& [peer, kind] = key;
            auto it = agents.find(peer);
            std::uint64_t got = 0;
            if (it != agents.end()) {
                const auto rc = it->second->client().received_counts();
                if (auto r = rc.find({name, kind}); r != rc.end()) got = r->second;
            }
            if (got != n)
                missing += fmt::format("{}{}->{} {}: {} sent, {} decrypted", missing.empty() ? "" : "; ", name, peer,
                                       kind, n, got);
        }
    }
    return missing;
}

/// "PATH:LINE:COLUMN", 1-based, of a node or mark: yaml-cpp's Mark is 0-based and counts bytes, an
/// editor counts characters.
struct Where {
    const std::string& path;
    const std::string& text;
    std::string operator()(const YAML::Mark& m) const {
        const int line = m.is_null() ? 1 : m.line + 1;
        return fmt::format("{}:{}:{}", path, line, character_column(text, line, m.is_null() ? 1 : m.column + 1));
    }
    std::string operator()(const YAML::Node& n) const { return (*this)(n.Mark()); }
};

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

/// What a scenario value must be.
enum class Kind { user, count, number, boolean, text, texts };

const char* describe(Kind k) {
    switch (k) {
        case Kind::user: return "one of the scenario's users";
        case Kind::count: return "a whole number of 0 or more";
        case Kind::number: return "a number";
        case Kind::boolean: return "true or false";
        case Kind::text: return "a string";
        case Kind::texts: return "a list of strings";
    }
    return "?";
}

using Keys = std::vector<std::pair<std::string, Kind>>;

/// The keys every part of a scenario file may have, and what each value must be: anything else (a typo
/// such as `mesages`, `messages: many`) is an error before the scenario starts, not ignored or found midway.
const std::map<std::string, Keys> kActionKeys = {
    {"chat",
     {{"from", Kind::user}, {"to", Kind::user}, {"messages", Kind::count}, {"texts", Kind::texts},
      {"gap_median_s", Kind::number}, {"gap_sigma", Kind::number}, {"reply_prob", Kind::number},
      {"sealed", Kind::boolean}, {"typing_s_per_char", Kind::number}}},
    {"file", {{"from", Kind::user}, {"to", Kind::user}, {"bytes", Kind::count}, {"name", Kind::text},
              {"content", Kind::text}}},
    {"call", {{"from", Kind::user}, {"to", Kind::user}, {"seconds", Kind::number}, {"video", Kind::boolean}}},
    {"idle", {{"seconds", Kind::number}}},
};
const Keys kTopKeys = {{"relay", Kind::text},       {"blob_port", Kind::count}, {"seed", Kind::count},
                       {"keepalive_s", Kind::number}, {"drain_s", Kind::number}, {"users", Kind::texts},
                       {"actions", Kind::texts}};

std::string names(const Keys& keys) {
    std::vector<std::string> v;
    for (const auto& [k, kind] : keys) v.push_back(k);
    return join(v);
}

/// Check the shape of a scenario before anything is played: a map of known top-level keys, a list of
/// valid and distinct user names, a list of actions with one known kind each and only that kind's keys,
/// each value of its kind. Throws std::runtime_error "PATH:LINE:COLUMN: ...".
void check_scenario(const Where& at, const YAML::Node& y) {
    auto fail = [&](const YAML::Node& n, const std::string& msg) {
        return std::runtime_error(fmt::format("{}: {}", at(n), msg));
    };
    std::set<std::string> users;
    auto check_value = [&](const std::string& key, const YAML::Node& v, Kind kind) {
        bool ok = v.IsScalar();
        try {
            switch (kind) {
                case Kind::user: ok = ok && users.count(v.Scalar()) != 0; break;
                case Kind::count: ok = ok && v.as<std::uint64_t>() <= std::numeric_limits<std::uint32_t>::max(); break;
                case Kind::number: ok = ok && std::isfinite(v.as<double>()); break;
                case Kind::boolean: {
                    bool b = false;
                    ok = ok && YAML::convert<bool>::decode(v, b);
                    break;
                }
                case Kind::text: break;
                case Kind::texts:
                    ok = v.IsSequence();
                    for (const auto& t : v) ok = ok && t.IsScalar();
                    break;
            }
        } catch (const YAML::Exception&) {
            ok = false;
        }
        if (!ok) {
            const bool ipv6_relay = key == "relay" && v.IsSequence();
            throw fail(v, fmt::format("'{}' must be {}{}", key, describe(kind), ipv6_relay ? kQuoteIpv6Relay : ""));
        }
    };
    auto check_map = [&](const YAML::Node& map, const Keys& allowed, const std::string& where) {
        for (const auto& kv : map) {
            const std::string key = kv.first.Scalar();
            const auto it = std::find_if(allowed.begin(), allowed.end(), [&](const auto& a) { return a.first == key; });
            if (it == allowed.end())
                throw fail(kv.first, fmt::format("unknown key '{}' in {} (expected {})", key, where, names(allowed)));
            if (key != "users" && key != "actions") check_value(key, kv.second, it->second);
        }
    };
    if (!y.IsMap()) throw fail(y, "a scenario is a map of " + names(kTopKeys));
    check_map(y, kTopKeys, "the scenario");
    if (!y["users"] || !y["users"].IsSequence()) throw fail(y, "scenario needs a 'users' list");
    for (const auto& u : y["users"]) {
        if (!u.IsScalar()) throw fail(u, "a user is a name");
        const std::string name = u.Scalar();
        if (!relay::valid_user(name))
            throw fail(u, "'" + name + "' is not a valid user name: " + relay::kUserNameRule);
        if (!users.insert(name).second) throw fail(u, "user " + name + " is listed twice");
    }
    if (!y["actions"]) return;
    if (!y["actions"].IsSequence()) throw fail(y["actions"], "'actions' must be a list (each item '- chat: {...}' etc.)");
    std::vector<std::string> kinds;
    for (const auto& [kind, keys] : kActionKeys) kinds.push_back(kind);
    for (const auto& step : y["actions"]) {
        if (!step.IsMap() || step.size() != 1) throw fail(step, "an action is a map with one key: " + join(kinds));
        const auto kv = *step.begin();
        const std::string kind = kv.first.Scalar();
        const auto it = kActionKeys.find(kind);
        if (it == kActionKeys.end())
            throw fail(kv.first, fmt::format("unknown action '{}' (expected {})", kind, join(kinds)));
        const YAML::Node a = kv.second;
        if (a.IsNull() && kind == "idle") continue;
        if (!a.IsMap()) throw fail(a, "'" + kind + "' takes a map of " + names(it->second));
        check_map(a, it->second, "'" + kind + "'");
        if (kind != "idle")
            for (const char* who : {"from", "to"})
                if (!a[who]) throw fail(a, fmt::format("'{}' needs '{}'", kind, who));
        if (kind == "call" && a["seconds"] && !valid_call_seconds(a["seconds"].as<double>()))
            throw fail(a["seconds"], fmt::format("a call lasts more than 0 and at most {} seconds", kMaxCallSeconds));
    }
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

const char* kPhrases[] = {"on my way", "sounds good", "can you send the file?", "call you later",
                          "what time works for you tomorrow?", "ok", "thanks!", "see you at the station",
                          "did you get my last message about the meeting notes and the budget?"};

} // namespace

void run_scenario(const std::string& path, std::ostream& action_log, const std::string& relay_override) {
    ScenarioOptions o;
    o.relay = relay_override;
    run_scenario(path, action_log, o);
}

void run_scenario(const std::string& path, std::ostream& action_log, const ScenarioOptions& options) {
    const std::string& relay_override = options.relay;
    const std::string source = read_text_input(path, "scenario file", "cannot read the scenario file");
    const Where at{path, source};
    YAML::Node y;
    try {
        y = YAML::Load(source);
    } catch (const YAML::Exception& e) {
        std::istringstream lines(source);
        std::string line;
        for (int i = 0; i <= e.mark.line && std::getline(lines, line);) ++i;
        const auto key = line.find_first_not_of(" \t");
        const bool ipv6_relay = key != std::string::npos && line.compare(key, 6, "relay:") == 0 &&
                                line.find('[', key) != std::string::npos;
        throw std::runtime_error(fmt::format("{}: {}{}", at(e.mark), e.msg, ipv6_relay ? kQuoteIpv6Relay : ""));
    }
    try {
        check_scenario(at, y);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(fmt::format("{}: {}", at(e.mark), e.msg));
    }
    auto fail = [&](const YAML::Node& n, const std::string& msg) {
        return std::runtime_error(fmt::format("{}: {}", at(n), msg));
    };
    ClientConfig cfg;
    std::uint32_t seed = 1;
    double keepalive_s = 25.0, drain_s = 30.0;
    try {
        std::string relay = relay_override;
        if (relay.empty() && y["relay"]) relay = y["relay"].as<std::string>();
        if (!relay.empty()) {
            try {
                std::tie(cfg.relay_host, cfg.chat_port) = wire::split_host_port(relay, cfg.chat_port);
            } catch (const wire::WireError& e) {
                throw fail(y["relay"] ? y["relay"] : y, std::string("relay: ") + e.what());
            }
        }
        cfg.blob_port =
            y["blob_port"] ? y["blob_port"].as<std::uint16_t>() : static_cast<std::uint16_t>(cfg.chat_port + 1);
        if (y["seed"]) seed = y["seed"].as<std::uint32_t>();
        if (y["keepalive_s"]) keepalive_s = y["keepalive_s"].as<double>();
        if (y["drain_s"]) drain_s = y["drain_s"].as<double>();
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(fmt::format("{}: {}", at(e.mark), e.msg));
    }
    if (options.blob_port) cfg.blob_port = *options.blob_port;
    cfg.null_cipher = options.null_cipher;
    if (!(keepalive_s > 0) || !(drain_s >= 0)) throw fail(y, "keepalive_s must be positive and drain_s non-negative");
    std::mt19937 rng(seed);
    if (!y["users"] || !y["users"].IsSequence()) throw fail(y, "scenario needs a 'users' list");
    std::mutex log_mutex;
    std::map<std::string, std::unique_ptr<Agent>> agents;
    std::uint32_t n = 0;
    std::uint64_t silent_calls = 0;
    for (const auto& u : y["users"]) {
        const std::string name = u.as<std::string>();
        agents[name] = std::make_unique<Agent>(cfg, name, action_log, log_mutex, seed + ++n, keepalive_s);
        try {
            agents[name]->start();
        } catch (const std::exception& e) {
            throw std::runtime_error("scenario " + path + ": user " + name + ": " + e.what());
        }
        agents[name]->record("register", "relay");
    }
    auto agent = [&](const YAML::Node& a, const char* key) -> Agent& {
        if (!a[key]) throw fail(a, std::string("missing '") + key + "'");
        auto it = agents.find(a[key].as<std::string>());
        if (it == agents.end()) throw fail(a, "unknown user " + a[key].as<std::string>());
        return *it->second;
    };
    for (const auto& step : y["actions"]) {
        try {
            if (step["chat"]) {
                const auto a = step["chat"];
                Agent& from = agent(a, "from");
                Agent& to = agent(a, "to");
                // Known plaintext (e.g. canaries for audits): `texts` are sent in order instead of phrases.
                std::vector<std::string> texts;
                if (a["texts"]) {
                    if (!a["texts"].IsSequence() || a["texts"].size() == 0)
                        throw fail(a, "'texts' must be a non-empty list of strings");
                    for (const auto& t : a["texts"]) texts.push_back(t.as<std::string>());
                }
                const int count = a["messages"] ? a["messages"].as<int>()
                                                : (texts.empty() ? 5 : static_cast<int>(texts.size()));
                if (!texts.empty() && count != static_cast<int>(texts.size()))
                    throw fail(a, "'messages' must equal the number of 'texts'");
                const double median = a["gap_median_s"] ? a["gap_median_s"].as<double>() : 2.0;
                const double sigma = a["gap_sigma"] ? a["gap_sigma"].as<double>() : 0.8;
                const double reply = a["reply_prob"] ? a["reply_prob"].as<double>() : 0.4;
                const bool sealed = a["sealed"] && a["sealed"].as<bool>();
                const double per_char = a["typing_s_per_char"] ? a["typing_s_per_char"].as<double>() : 0.05;
                std::lognormal_distribution<double> gap(std::log(median), sigma);
                std::uniform_real_distribution<double> u01(0, 1);
                for (int i = 0; i < count; ++i) {
                    sleep_s(std::min(gap(rng), 30.0));
                    const std::string text =
                        texts.empty() ? kPhrases[rng() % std::size(kPhrases)] : texts[static_cast<std::size_t>(i)];
                    from.client().send(to.client().account().user(), {{"k", "typing"}, {"on", true}}, sealed);
                    from.record("typing", to.client().account().user(), {{"sealed", sealed}});
                    sleep_s(per_char * static_cast<double>(text.size()) * (0.5 + u01(rng)));
                    from.client().send_text(to.client().account().user(), text, sealed);
                    from.record("text", to.client().account().user(), {{"sealed", sealed}});
                    from.touch();
                    if (u01(rng) < reply) {
                        sleep_s(std::min(gap(rng), 10.0));
                        to.client().send_text(from.client().account().user(), kPhrases[rng() % std::size(kPhrases)],
                                              sealed);
                        to.record("text", from.client().account().user(), {{"sealed", sealed}});
                        to.touch();
                    }
                }
            } else if (step["file"]) {
                const auto a = step["file"];
                Agent& from = agent(a, "from");
                Agent& to = agent(a, "to");
                const std::string name = a["name"] ? a["name"].as<std::string>() : "photo.jpg";
                crypto::Bytes content;
                if (a["content"]) {
                    // Known content (e.g. a canary), repeated to `bytes` bytes when that is given too.
                    const std::string text = a["content"].as<std::string>();
                    if (text.empty()) throw fail(a, "'content' must not be empty");
                    const std::size_t want = a["bytes"] ? a["bytes"].as<std::size_t>() : text.size();
                    while (content.size() < want) content.insert(content.end(), text.begin(), text.end());
                    content.resize(want);
                } else {
                    content = crypto::random_bytes(a["bytes"] ? a["bytes"].as<std::size_t>() : 100000);
                }
                const std::size_t bytes = content.size();
                from.client().send_file(to.client().account().user(), content, name);
                from.record("file", to.client().account().user(), {{"bytes", bytes}, {"sealed", false}});
                from.touch();
            } else if (step["call"]) {
                const auto a = step["call"];
                Agent& from = agent(a, "from");
                Agent& to = agent(a, "to");
                const double secs = a["seconds"] ? a["seconds"].as<double>() : 10;
                const bool video = a["video"] && a["video"].as<bool>();
                from.record("call", to.client().account().user(), {{"seconds", secs}, {"video", video}, {"sealed", false}});
                const CallStats st = place_call(from.client(), to.client().account().user(), secs, video);
                from.record("call_end", to.client().account().user(), {{"sealed", false}});
                from.record("call_done", to.client().account().user(),
                            {{"rtp_sent", st.rtp_sent}, {"rtp_received", st.rtp_received}});
                if (st.rtp_received == 0) ++silent_calls;
                from.touch();
                sleep_s(1.5);  // let the callee finish its leg
            } else if (step["idle"]) {
                sleep_s(step["idle"]["seconds"] ? step["idle"]["seconds"].as<double>() : 30);
            } else {
                throw fail(step, "unknown action (expected chat, file, call or idle)");
            }
        } catch (const YAML::Exception& e) {
            throw fail(step, e.msg);
        }
    }
    // Drain: wait (bounded by drain_s) until every stored envelope was decrypted by its recipient and every
    // agent is idle, twice in a row (a handled event may still trigger receipts).
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drain_s));
    int quiet = 0;
    while (quiet < 2 && Clock::now() < deadline) {
        sleep_s(0.2);
        bool idle = undelivered(agents).empty();
        for (auto& [name, a] : agents) idle = idle && !a->busy();
        quiet = idle ? quiet + 1 : 0;
    }
    for (auto& [name, a] : agents) a->stop();

    // Summary per user (also in the action log), and the verdict: the exit status of `sealchat scenario`.
    std::string problems = undelivered(agents);
    auto note = [&problems](const std::string& p) { problems += (problems.empty() ? "" : "; ") + p; };
    for (auto& [name, a] : agents) {
        json sent = json::object(), received = json::object();
        for (const auto& [key, cnt] : a->client().sent_counts()) sent[key.first][key.second] = cnt;
        for (const auto& [key, cnt] : a->client().received_counts()) received[key.first][key.second] = cnt;
        a->record("summary", "relay",
                  {{"sent", sent}, {"received", received}, {"undecryptable", a->client().undecryptable()},
                   {"errors", a->errors()}});
        if (a->client().undecryptable() > 0)
            note(fmt::format("{}: {} undecryptable envelope(s), last: {}", name, a->client().undecryptable(),
                             a->client().last_undecryptable_reason()));
        if (a->errors() > 0) note(fmt::format("{}: {} error(s) handling events", name, a->errors()));
        silent_calls += a->silent_calls();
    }
    if (silent_calls > 0) note(fmt::format("{} call leg(s) received no media", silent_calls));
    if (!problems.empty()) throw std::runtime_error("scenario " + path + " incomplete: " + problems);
}

} // namespace sealscope::e2ee::client
