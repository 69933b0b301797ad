// The relay's request parser (relay::parse_request), including the inputs fuzz_relay_request found.
#include "relay/request.hpp"

#include <catch2/catch.hpp>

using namespace sealscope::e2ee;

namespace {
relay::Request parse(const std::string& s, wire::Channel ch = wire::Channel::chat) {
    return relay::parse_request(crypto::view(s), ch);
}
} // namespace

TEST_CASE("Request parser decodes every request type", "[request]") {
    CHECK(std::get<relay::req::Login>(parse(R"({"t":"login","id":1,"user":"bob"})").body).user == "bob");
    CHECK(parse(R"({"t":"ping","id":"x"})").id == "x");
    CHECK(std::get<relay::req::Ack>(parse(R"({"t":"ack","env_id":9007199254740993})").body).env_id ==
          9007199254740993LL);
    const auto s = std::get<relay::req::Send>(parse(R"({"t":"send","to":"bob","sealed":true,"env":"AQID"})").body);
    CHECK(s.sealed);
    CHECK(s.env == crypto::Bytes{1, 2, 3});
    CHECK(std::get<relay::req::BlobPut>(parse(R"({"t":"blob_put","size":5})", wire::Channel::blob).body).size == 5);
    CHECK(parse(R"({"t":"blob_put","size":5})", wire::Channel::blob).id == 0);
}

TEST_CASE("Request parser refuses out-of-range numbers instead of casting them (fuzz finding)", "[request]") {
    // fuzz_relay_request: a float env_id was converted to int64 with a C++ cast (UBSan float-cast-overflow).
    CHECK_THROWS_WITH(parse(R"({"t":"ack","env_id":2e112})"), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"ack","env_id":1.5})"), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"ack","env_id":18446744073709551615})"), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"replenish","otpks":[[4294967296,"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]]})"), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"replenish","otpks":[[-1,"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]]})"), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"blob_put","size":-1})", wire::Channel::blob), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"blob_put","id":1e300,"size":1})", wire::Channel::blob),
                      Catch::Contains("malformed request"));
}

TEST_CASE("Request parser: names, sizes, ids and types", "[request]") {
    CHECK_THROWS_WITH(parse(R"({"t":"login","user":"../etc"})"), Catch::Contains("invalid user name"));
    CHECK_THROWS_WITH(parse(R"({"t":"login","user":""})"), Catch::Contains("invalid user name"));
    CHECK_THROWS_WITH(parse(R"({"t":"send","to":"bob","env":""})"), Catch::Contains("bad envelope size"));
    CHECK_THROWS_WITH(parse(R"({"t":"blob_get","blob_id":"../../relay.db"})", wire::Channel::blob),
                      Catch::Contains("bad blob id"));
    CHECK_THROWS_WITH(parse(R"({"t":"register","user":"a","identity":"AAAA"})"), Catch::Contains("malformed"));
    CHECK_THROWS_WITH(parse(R"({"t":"replenish","otpks":{"a":1}})"), Catch::Contains("malformed request"));
    CHECK_THROWS_WITH(parse(R"({"t":"blob_put","size":1})"), Catch::Contains("unknown request type"));
    CHECK_THROWS_WITH(parse(R"({"t":"ping"})", wire::Channel::blob), Catch::Contains("unknown blob request"));
    CHECK_THROWS_WITH(parse("[1,2]"), Catch::Contains("expected a JSON control message"));
    CHECK_THROWS_WITH(parse(R"({"t":1})"), Catch::Contains("malformed control message"));
}
