#include "relay/request.hpp"

#include "wire/json_int.hpp"

#include <cctype>

namespace sealscope::e2ee::relay {

using nlohmann::json;

bool valid_user(const std::string& u) {
    if (u.empty() || u.size() > 64) return false;
    for (char c : u)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

namespace {

crypto::Key32 key_field(const json& j, const char* name) {
    return crypto::to_key(crypto::from_b64(j.at(name).get<std::string>()));
}

req::OneTimeKeys one_time_keys(const json& list) {
    if (!list.is_array()) throw wire::WireError("malformed request: otpks is not a list");
    req::OneTimeKeys out;
    out.reserve(list.size());
    for (const auto& o : list)
        out.emplace_back(wire::json_int<std::uint32_t>(o.at(0)), crypto::to_key(crypto::from_b64(o.at(1).get<std::string>())));
    return out;
}

std::string user_field(const json& j) {
    std::string user = j.at("user").get<std::string>();
    if (!valid_user(user)) throw wire::WireError("invalid user name");
    return user;
}

Request parse_chat(const json& j, Request r) {
    const std::string& t = r.type;
    if (t == "register") {
        req::Register g;
        g.user = user_field(j);
        g.identity = key_field(j, "identity");
        g.spk_id = wire::json_int<std::uint32_t>(j.at("spk_id"));
        g.spk = key_field(j, "spk");
        g.spk_sig = crypto::from_b64(j.at("spk_sig").get<std::string>());
        g.otpks = one_time_keys(j.at("otpks"));
        r.body = std::move(g);
    } else if (t == "login") {
        r.body = req::Login{user_field(j)};
    } else if (t == "ping") {
        r.body = req::Ping{};
    } else if (t == "prekeys") {
        r.body = req::Prekeys{j.at("user").get<std::string>()};
    } else if (t == "replenish") {
        r.body = req::Replenish{one_time_keys(j.at("otpks"))};
    } else if (t == "send") {
        req::Send s;
        s.to = j.at("to").get<std::string>();
        s.sealed = j.value("sealed", false);
        s.env = crypto::from_b64(j.at("env").get<std::string>());
        if (s.env.empty() || s.env.size() > kMaxEnvelope) throw wire::WireError("send: bad envelope size");
        r.body = std::move(s);
    } else if (t == "ack") {
        r.body = req::Ack{wire::json_int<std::int64_t>(j.at("env_id"))};
    } else if (t == "call_alloc") {
        r.body = req::CallAlloc{};
    } else {
        throw wire::WireError("unknown request type");
    }
    return r;
}

Request parse_blob(const json& j, Request r) {
    const std::string& t = r.type;
    if (t == "login") {
        r.body = req::Login{j.at("user").get<std::string>()};
    } else if (t == "blob_put") {
        const auto size = wire::json_int<std::uint64_t>(j.at("size"));
        if (size == 0) throw wire::WireError("blob_put: size out of range");
        r.body = req::BlobPut{size};
    } else if (t == "blob_get") {
        std::string id = j.at("blob_id").get<std::string>();
        if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
            throw wire::WireError("blob_get: bad blob id");
        r.body = req::BlobGet{std::move(id)};
    } else {
        throw wire::WireError("unknown blob request");
    }
    return r;
}

} // namespace

Request parse_request(crypto::ByteView plaintext, wire::Channel channel) {
    const json j = wire::parse_json(plaintext);
    Request r;
    r.type = j["t"].get<std::string>();
    try {
        if (channel == wire::Channel::blob) {
            r.id = j.value("id", json(0));
            (void)wire::json_int<std::int64_t>(r.id);  // echoed in replies: an integer
            return parse_blob(j, std::move(r));
        }
        if (j.contains("id")) r.id = j["id"];
        return parse_chat(j, std::move(r));
    } catch (const nlohmann::json::exception& e) {
        throw wire::WireError(std::string("malformed request: ") + e.what());
    } catch (const crypto::CryptoError& e) {
        throw wire::WireError(std::string("malformed key material: ") + e.what());
    }
}

} // namespace sealscope::e2ee::relay
