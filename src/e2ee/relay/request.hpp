#pragma once

#include "wire/socket.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sealscope::e2ee::relay {

/// Largest envelope a "send" may carry (bytes after base64 decoding).
inline constexpr std::size_t kMaxEnvelope = 60000;

/// True for names the relay accepts: 1..64 of [A-Za-z0-9._-].
bool valid_user(const std::string& u);
/// valid_user()'s rule in words, for the messages that refuse a name.
inline constexpr const char* kUserNameRule = "1 to 64 letters, digits, '-', '_' or '.'";

namespace req {
using OneTimeKeys = std::vector<std::pair<std::uint32_t, crypto::Key32>>;
struct Register {
    std::string user;
    crypto::Key32 identity{};
    std::uint32_t spk_id = 0;
    crypto::Key32 spk{};
    crypto::Bytes spk_sig;
    OneTimeKeys otpks;
};
struct Login {
    std::string user;
};
struct Ping {};
struct Prekeys {
    std::string user;
};
struct Replenish {
    OneTimeKeys otpks;
};
struct Send {
    std::string to;
    bool sealed = false;
    crypto::Bytes env;
};
struct Ack {
    std::int64_t env_id = 0;
};
struct CallAlloc {};
struct BlobPut {
    std::uint64_t size = 0;
};
struct BlobGet {
    std::string blob_id;
};
} // namespace req

/// One decoded client request: the type name, the id to echo in the reply and the typed fields.
struct Request {
    std::string type;
    nlohmann::json id;  ///< null when absent (chat: any JSON value is echoed; blob: a number, default 0)
    std::variant<req::Register, req::Login, req::Ping, req::Prekeys, req::Replenish, req::Send, req::Ack,
                 req::CallAlloc, req::BlobPut, req::BlobGet>
        body;
};

/// Decode and validate one decrypted control message from a client on `channel` (the relay's request
/// parser). Throws wire::WireError with the reason the relay logs: malformed JSON or fields, bad key
/// material, invalid user names, bad envelope sizes or blob ids, unknown request types. Pure: no I/O.
Request parse_request(crypto::ByteView plaintext, wire::Channel channel);

} // namespace sealscope::e2ee::relay
