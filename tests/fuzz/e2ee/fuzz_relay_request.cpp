// libFuzzer target: the relay's request parser (relay::parse_request), i.e. everything sealrelay decodes
// from a client's decrypted control messages on the chat and blob channels: JSON, request types, user
// names, base64 keys and envelopes, prekey lists, sizes and blob ids.
//
// Input: byte 0 bit 0 selects the channel (0 chat, 1 blob), the rest is the decrypted message.
#include "fuzz_common.hpp"
#include "relay/request.hpp"

#include <cstring>

using namespace sealscope::e2ee;
using e2ee_fuzz::Bytes;
using e2ee_fuzz::ByteView;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    e2ee_fuzz::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > wire::kMaxFrame) return 0;
    const auto channel = (data[0] & 1) ? wire::Channel::blob : wire::Channel::chat;
    try {
        const relay::Request r = relay::parse_request(ByteView(data + 1, size - 1), channel);
        // What the parser lets through must satisfy what the relay relies on.
        if (const auto* g = std::get_if<relay::req::Register>(&r.body)) {
            if (!relay::valid_user(g->user)) e2ee_fuzz::violated("register with an invalid user name");
        } else if (const auto* l = std::get_if<relay::req::Login>(&r.body)) {
            if (channel == wire::Channel::chat && !relay::valid_user(l->user))
                e2ee_fuzz::violated("login with an invalid user name");
        } else if (const auto* s = std::get_if<relay::req::Send>(&r.body)) {
            if (s->env.empty() || s->env.size() > relay::kMaxEnvelope) e2ee_fuzz::violated("envelope size unchecked");
        } else if (const auto* b = std::get_if<relay::req::BlobGet>(&r.body)) {
            if (b->blob_id.size() != 32 || b->blob_id.find_first_not_of("0123456789abcdef") != std::string::npos)
                e2ee_fuzz::violated("blob id unchecked");
        } else if (const auto* p = std::get_if<relay::req::BlobPut>(&r.body)) {
            if (p->size == 0) e2ee_fuzz::violated("empty blob accepted");
        }
        if (channel == wire::Channel::blob && !r.id.is_number()) e2ee_fuzz::violated("blob reply id not a number");
    } catch (const wire::WireError&) {
    }
    return 0;
}

void e2ee_fuzz_write_seeds(const std::string& dir) {
    e2ee_fuzz::reseed(11);
    auto seed = [&](const std::string& name, std::uint8_t channel, const std::string& json) {
        Bytes b(1, static_cast<std::uint8_t>(channel));
        b.insert(b.end(), json.begin(), json.end());
        e2ee_fuzz::write_seed(dir, name, b);
    };
    const auto id = crypto::SignKeyPair::generate();
    const auto spk = crypto::DhKeyPair::generate();
    const auto otk = crypto::DhKeyPair::generate();
    const nlohmann::json reg = {{"t", "register"},
                                {"id", 1},
                                {"user", "alice"},
                                {"identity", crypto::to_b64(id.pub)},
                                {"spk_id", 1},
                                {"spk", crypto::to_b64(spk.pub)},
                                {"spk_sig", crypto::to_b64(crypto::sign(id, spk.pub))},
                                {"otpks", {{1, crypto::to_b64(otk.pub)}, {2, crypto::to_b64(otk.pub)}}}};
    seed("register", 0, reg.dump());
    seed("login", 0, R"({"t":"login","id":1,"user":"bob.b-2_x"})");
    seed("ping", 0, R"({"t":"ping","id":"any json id"})");
    seed("prekeys", 0, R"({"t":"prekeys","id":3,"user":"alice"})");
    seed("replenish", 0, nlohmann::json{{"t", "replenish"}, {"id", 4}, {"otpks", {{3, crypto::to_b64(otk.pub)}}}}.dump());
    seed("send", 0,
         nlohmann::json{{"t", "send"}, {"id", 5}, {"to", "bob"}, {"sealed", false},
                        {"env", crypto::to_b64(crypto::random_bytes(250))}}.dump());
    seed("send-sealed", 0, R"({"t":"send","id":6,"to":"bob","sealed":true,"env":"AwECAw=="})");
    seed("ack", 0, R"({"t":"ack","env_id":123456789012})");
    seed("call-alloc", 0, R"({"t":"call_alloc","id":8})");
    seed("blob-login", 1, R"({"t":"login","id":1,"user":"alice"})");
    seed("blob-put", 1, R"({"t":"blob_put","id":2,"size":350000})");
    seed("blob-get", 1, R"({"t":"blob_get","id":3,"blob_id":"00112233445566778899aabbccddeeff"})");
    seed("bad-types", 0, R"({"t":"send","to":1,"env":null,"sealed":"yes"})");
    seed("nested", 0, R"({"t":"register","user":"a","identity":[[[[{}]]]],"otpks":[[1,"AAAA"],{"0":1}]})");
}
