// QUIC Initial parsing and decryption. The protected packets and keys below are the public test
// vectors of RFC 9001 Appendix A (QUIC v1) and RFC 9369 Appendix A (QUIC v2); every other packet is
// built here from RFC 9000 §17.2 / §19 field by field.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <pcap/dlt.h>

#include "analyze/worker.hpp"
#include "classify/quic.hpp"
#include "decode/decoder.hpp"
#include "packet_builder.hpp"
#include "report/flow_writers.hpp"

using namespace sealscope::classify;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const std::string& s) {
  Bytes out;
  auto nib = [](char c) -> uint8_t {
    if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
    return static_cast<uint8_t>(c - 'A' + 10);
  };
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(nib(s[i]) << 4 | nib(s[i + 1])));
  return out;
}

const Bytes kDcid = hex("8394c8f03e515708");

// RFC 9001 A.2 / RFC 9369 A.2: unprotected client Initial payload: one CRYPTO frame with the
// ClientHello for "example.com", then PADDING to 1162 bytes.
Bytes client_payload() {
  Bytes p = hex(
      "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
      "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
      "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
      "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
      "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
      "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
      "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
      "75300901100f088394c8f03e51570806048000ffff");
  p.resize(p.size() + 917, 0);
  return p;
}

/// The ClientHello handshake message inside the RFC payload (after "06 00 40f1").
Bytes client_hello() {
  Bytes p = client_payload();
  return Bytes(p.begin() + 4, p.begin() + 4 + 241);
}

// RFC 9001 A.2: the protected 1200-byte client Initial.
const char* const kV1Protected =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";

// RFC 9369 A.2: the same client Initial protected with QUIC v2.
const char* const kV2Protected =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc";

// RFC 9001 A.3: the server's Initial (ACK + CRYPTO with a ServerHello).
const char* const kV1ServerProtected =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
    "2158407dd074ee";

Bytes to_bytes(const std::array<uint8_t, 16>& a) { return Bytes(a.begin(), a.end()); }
Bytes to_bytes(const std::array<uint8_t, 12>& a) { return Bytes(a.begin(), a.end()); }

/// Builds a long-header Initial header (RFC 9000 §17.2.2) with a 4-byte packet number and a
/// 2-byte Length for a payload of payload_len plaintext bytes; returns {header, pn_offset}.
std::pair<Bytes, std::size_t> initial_header(uint32_t version, const Bytes& dcid, const Bytes& scid,
                                             std::size_t payload_len, uint32_t pn) {
  const uint8_t type_bits = version == kQuicVersion2 ? 1 : 0;
  Bytes h;
  h.push_back(static_cast<uint8_t>(0xC0 | (type_bits << 4) | 0x03));
  for (int i = 3; i >= 0; --i) h.push_back(static_cast<uint8_t>(version >> (8 * i)));
  h.push_back(static_cast<uint8_t>(dcid.size()));
  h.insert(h.end(), dcid.begin(), dcid.end());
  h.push_back(static_cast<uint8_t>(scid.size()));
  h.insert(h.end(), scid.begin(), scid.end());
  h.push_back(0);  // token length
  const std::size_t length = 4 + payload_len + 16;
  h.push_back(static_cast<uint8_t>(0x40 | (length >> 8)));
  h.push_back(static_cast<uint8_t>(length & 0xFF));
  const std::size_t pn_offset = h.size();
  for (int i = 3; i >= 0; --i) h.push_back(static_cast<uint8_t>(pn >> (8 * i)));
  return {h, pn_offset};
}

/// CRYPTO frame (type 0x06) for data[off, off+n) with 2-byte varints.
Bytes crypto_frame(const Bytes& data, std::size_t off, std::size_t n) {
  Bytes f{0x06, static_cast<uint8_t>(0x40 | (off >> 8)), static_cast<uint8_t>(off & 0xFF),
          static_cast<uint8_t>(0x40 | (n >> 8)), static_cast<uint8_t>(n & 0xFF)};
  f.insert(f.end(), data.begin() + static_cast<long>(off), data.begin() + static_cast<long>(off + n));
  return f;
}

/// A protected client Initial carrying the given frames (padded to at least 40 bytes of payload).
Bytes protected_initial(uint32_t version, const Bytes& dcid, Bytes frames, uint32_t pn) {
  if (frames.size() < 40) frames.resize(40, 0);
  QuicInitialKeys keys;
  REQUIRE(quic_derive_initial_keys(version, dcid.data(), dcid.size(), true, keys));
  auto [h, pn_offset] = initial_header(version, dcid, hex("c0ffee"), frames.size(), pn);
  Bytes out(h.size() + frames.size() + 16);
  const std::size_t n =
      quic_protect_packet(h.data(), h.size(), pn_offset, frames.data(), frames.size(), keys, out.data(), out.size());
  REQUIRE(n == out.size());
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("QUIC v1 Initial keys match RFC 9001 A.1", "[classify][quic]") {
  QuicInitialKeys c, s;
  REQUIRE(quic_derive_initial_keys(kQuicVersion1, kDcid.data(), kDcid.size(), true, c));
  REQUIRE(quic_derive_initial_keys(kQuicVersion1, kDcid.data(), kDcid.size(), false, s));
  CHECK(to_bytes(c.key) == hex("1f369613dd76d5467730efcbe3b1a22d"));
  CHECK(to_bytes(c.iv) == hex("fa044b2f42a3fd3b46fb255c"));
  CHECK(to_bytes(c.hp) == hex("9f50449e04a0e810283a1e9933adedd2"));
  CHECK(to_bytes(s.key) == hex("cf3a5331653c364c88f0f379b6067e37"));
  CHECK(to_bytes(s.iv) == hex("0ac1493ca1905853b0bba03e"));
  CHECK(to_bytes(s.hp) == hex("c206b8d9b9f0f37644430b490eeaa314"));
}

TEST_CASE("QUIC v2 Initial keys match RFC 9369 A.1", "[classify][quic]") {
  QuicInitialKeys c, s;
  REQUIRE(quic_derive_initial_keys(kQuicVersion2, kDcid.data(), kDcid.size(), true, c));
  REQUIRE(quic_derive_initial_keys(kQuicVersion2, kDcid.data(), kDcid.size(), false, s));
  CHECK(to_bytes(c.key) == hex("8b1a0bc121284290a29e0971b5cd045d"));
  CHECK(to_bytes(c.iv) == hex("91f73e2351d8fa91660e909f"));
  CHECK(to_bytes(c.hp) == hex("45b95e15235d6f45a6b19cbcb0294ba9"));
  CHECK(to_bytes(s.key) == hex("82db637861d55e1d011f19ea71d5d2a7"));
  CHECK(to_bytes(s.iv) == hex("dd13c276499c0249d3310652"));
  CHECK(to_bytes(s.hp) == hex("edf6d05c83121201b436e16877593c3a"));
}

TEST_CASE("QUIC key derivation refuses unknown versions", "[classify][quic]") {
  QuicInitialKeys k;
  CHECK_FALSE(quic_derive_initial_keys(0xbabababa, kDcid.data(), kDcid.size(), true, k));
  CHECK_FALSE(quic_derive_initial_keys(0xff00001c, kDcid.data(), kDcid.size(), true, k));  // draft-28
  CHECK(quic_derive_initial_keys(kQuicDraft29, kDcid.data(), kDcid.size(), true, k));
  CHECK(quic_derive_initial_keys(0xff000020, kDcid.data(), kDcid.size(), true, k));  // draft-32
}

TEST_CASE("QUIC long header of the RFC 9001 A.2 packet", "[classify][quic]") {
  const Bytes pkt = hex(kV1Protected);
  REQUIRE(pkt.size() == 1200);
  auto h = parse_quic_long_header(pkt.data(), pkt.size());
  REQUIRE(h);
  CHECK(h->version == kQuicVersion1);
  CHECK(h->type == QuicPacketType::Initial);
  CHECK(Bytes(h->dcid.begin(), h->dcid.begin() + h->dcid_len) == kDcid);
  CHECK(h->scid_len == 0);
  CHECK(h->token_len == 0);
  CHECK(h->length == 1182);
  CHECK(h->pn_offset == 18);
  CHECK(h->packet_size == 1200);

  const Bytes v2 = hex(kV2Protected);
  auto h2 = parse_quic_long_header(v2.data(), v2.size());
  REQUIRE(h2);
  CHECK(h2->version == kQuicVersion2);
  CHECK(h2->type == QuicPacketType::Initial);  // v2 Initial type bits are 0b01
}

TEST_CASE("QUIC long header rejects short headers and truncation", "[classify][quic]") {
  const Bytes pkt = hex(kV1Protected);
  Bytes shorth = pkt;
  shorth[0] = 0x40;
  CHECK_FALSE(parse_quic_long_header(shorth.data(), shorth.size()));
  // Every prefix that cuts the header or the Length-covered packet fails.
  for (std::size_t len = 0; len < pkt.size(); ++len) CHECK_FALSE(parse_quic_long_header(pkt.data(), len));
  Bytes long_cid = pkt;
  long_cid[5] = 21;  // DCID longer than 20 bytes
  CHECK_FALSE(parse_quic_long_header(long_cid.data(), long_cid.size()));
}

TEST_CASE("QUIC version negotiation and unknown versions", "[classify][quic]") {
  // first byte, version 0, empty DCID, 4-byte SCID, then the supported versions list (RFC 9000 §17.2.1)
  Bytes pkt = {0x80, 0, 0, 0, 0, 0x00, 0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf};
  auto h = parse_quic_long_header(pkt.data(), pkt.size());
  REQUIRE(h);
  CHECK(h->type == QuicPacketType::VersionNegotiation);
  CHECK(h->scid_len == 4);
  pkt.push_back(0);  // version list no longer a multiple of 4
  CHECK_FALSE(parse_quic_long_header(pkt.data(), pkt.size()));
  Bytes unk = {0xc0, 0x0a, 0x1a, 0x2a, 0x3a, 0x01, 0x11, 0x00, 0xde, 0xad};
  auto u = parse_quic_long_header(unk.data(), unk.size());
  REQUIRE(u);
  CHECK(u->type == QuicPacketType::Unknown);
  CHECK_FALSE(quic_initial_supported(u->version));
}

TEST_CASE("QUIC decrypts the RFC 9001 A.2 client Initial", "[classify][quic]") {
  const Bytes pkt = hex(kV1Protected);
  auto h = parse_quic_long_header(pkt.data(), pkt.size());
  REQUIRE(h);
  QuicInitialKeys k;
  REQUIRE(quic_derive_initial_keys(h->version, h->dcid.data(), h->dcid_len, true, k));
  Bytes out(2000);
  auto d = quic_decrypt_packet(pkt.data(), pkt.size(), *h, k, out.data(), out.size());
  REQUIRE(d);
  CHECK(d->packet_number == 2);
  CHECK(d->pn_len == 4);
  out.resize(d->payload_len);
  CHECK(out == client_payload());

  SECTION("wrong direction keys fail") {
    QuicInitialKeys sk;
    REQUIRE(quic_derive_initial_keys(h->version, h->dcid.data(), h->dcid_len, false, sk));
    Bytes o(2000);
    CHECK_FALSE(quic_decrypt_packet(pkt.data(), pkt.size(), *h, sk, o.data(), o.size()));
  }
  SECTION("any corrupted ciphertext byte fails the tag") {
    for (std::size_t i : {std::size_t{30}, std::size_t{600}, std::size_t{1199}}) {
      Bytes bad = pkt;
      bad[i] ^= 0x01;
      Bytes o(2000);
      CHECK_FALSE(quic_decrypt_packet(bad.data(), bad.size(), *h, k, o.data(), o.size()));
    }
  }
  SECTION("a corrupted header byte fails the tag (it is authenticated)") {
    Bytes bad = pkt;
    bad[6] ^= 0x01;  // a DCID byte, with keys still from the original DCID
    Bytes o(2000);
    CHECK_FALSE(quic_decrypt_packet(bad.data(), bad.size(), *h, k, o.data(), o.size()));
  }
  SECTION("output buffer too small") {
    Bytes o(100);
    CHECK_FALSE(quic_decrypt_packet(pkt.data(), pkt.size(), *h, k, o.data(), o.size()));
  }
}

TEST_CASE("QUIC protection reproduces the RFC protected packets", "[classify][quic]") {
  const Bytes payload = client_payload();
  for (uint32_t version : {kQuicVersion1, kQuicVersion2}) {
    QuicInitialKeys k;
    REQUIRE(quic_derive_initial_keys(version, kDcid.data(), kDcid.size(), true, k));
    const Bytes header = version == kQuicVersion1 ? hex("c300000001088394c8f03e5157080000449e00000002")
                                                  : hex("d36b3343cf088394c8f03e5157080000449e00000002");
    Bytes out(1200);
    REQUIRE(quic_protect_packet(header.data(), header.size(), 18, payload.data(), payload.size(), k, out.data(),
                                out.size()) == 1200);
    CHECK(out == hex(version == kQuicVersion1 ? kV1Protected : kV2Protected));
  }
}

TEST_CASE("QUIC decrypts the RFC 9001 A.3 server Initial and finds the ServerHello", "[classify][quic]") {
  const Bytes pkt = hex(kV1ServerProtected);
  auto h = parse_quic_long_header(pkt.data(), pkt.size());
  REQUIRE(h);
  CHECK(h->type == QuicPacketType::Initial);
  QuicInitialKeys k;
  REQUIRE(quic_derive_initial_keys(kQuicVersion1, kDcid.data(), kDcid.size(), false, k));  // client's DCID
  Bytes out(500);
  auto d = quic_decrypt_packet(pkt.data(), pkt.size(), *h, k, out.data(), out.size());
  REQUIRE(d);
  CHECK(d->packet_number == 1);
  QuicCryptoReassembler cr;
  QuicFrameStats st;
  REQUIRE(quic_walk_frames(out.data(), d->payload_len, cr, st));
  CHECK(st.ack == 1);
  CHECK(st.crypto == 1);
  REQUIRE(cr.message_complete());
  auto sh = parse_handshake_hello(cr.data(), cr.message_size());
  REQUIRE(sh);
  CHECK_FALSE(sh->is_client);
  CHECK(sh->ciphers[0] == 0x1301);
  CHECK(sh->version == 0x0304);
}

TEST_CASE("QUIC parser gets SNI and ALPN from the RFC client Initials (v1 and v2)", "[classify][quic]") {
  for (const char* vec : {kV1Protected, kV2Protected}) {
    const Bytes pkt = hex(vec);
    QuicInitialParser p;
    REQUIRE(p.feed(pkt.data(), pkt.size()) == QuicInitialParser::Status::Complete);
    REQUIRE(p.hello());
    const TlsHello& ch = *p.hello();
    CHECK(std::string(ch.sni.data()) == "example.com");
    REQUIRE(ch.alpn_count == 1);
    CHECK(std::string(ch.alpn[0].data()) == "alpn");
    CHECK(ch.has_quic_transport_params);
    CHECK(ch.version == 0x0304);
    CHECK(ch.cipher_count == 2);
    CHECK(std::string(ch.ja3.data()) == "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,");
    CHECK(std::string(ch.ja3_md5.data()) == "41bc9ae914d6cb3bd0bd0a5453ab7d7f");  // md5sum of the string
    CHECK(p.version() == (vec == kV1Protected ? kQuicVersion1 : kQuicVersion2));
    CHECK(p.initial_packets() == 1);
  }
}

TEST_CASE("QUIC parser never completes on a truncated datagram", "[classify][quic]") {
  const Bytes pkt = hex(kV1Protected);
  for (std::size_t len = 0; len < pkt.size(); ++len) {
    QuicInitialParser p;
    CHECK(p.feed(pkt.data(), len) == QuicInitialParser::Status::NotQuic);
  }
}

TEST_CASE("QUIC parser rejects a corrupted Initial", "[classify][quic]") {
  Bytes pkt = hex(kV1Protected);
  pkt[700] ^= 0x80;
  QuicInitialParser p;
  CHECK(p.feed(pkt.data(), pkt.size()) == QuicInitialParser::Status::NotQuic);
  CHECK(p.decrypt_failures() == 1);
  CHECK_FALSE(p.hello());
}

TEST_CASE("QUIC reassembles a ClientHello split over coalesced packets in reverse order", "[classify][quic]") {
  const Bytes ch = client_hello();
  const Bytes p1 = protected_initial(kQuicVersion1, kDcid, crypto_frame(ch, 0, 80), 0);
  const Bytes p2 = protected_initial(kQuicVersion1, kDcid, cat({Bytes{0x01}, crypto_frame(ch, 80, 80)}), 1);
  const Bytes p3 = protected_initial(kQuicVersion1, kDcid, crypto_frame(ch, 160, ch.size() - 160), 2);
  Bytes dgram = cat({p3, p2, p1});
  dgram.resize(dgram.size() + 50, 0);  // datagram padding after the last packet
  QuicInitialParser p;
  REQUIRE(p.feed(dgram.data(), dgram.size()) == QuicInitialParser::Status::Complete);
  CHECK(p.initial_packets() == 3);
  CHECK(std::string(p.hello()->sni.data()) == "example.com");
}

TEST_CASE("QUIC reassembles a ClientHello across datagrams, out of order, with overlap", "[classify][quic]") {
  const Bytes ch = client_hello();
  for (uint32_t version : {kQuicVersion1, kQuicVersion2, kQuicDraft29}) {
    const Bytes a = protected_initial(version, kDcid, crypto_frame(ch, 100, ch.size() - 100), 1);
    const Bytes b = protected_initial(version, kDcid, crypto_frame(ch, 50, 100), 2);  // overlaps a
    const Bytes c = protected_initial(version, kDcid, cat({crypto_frame(ch, 0, 60), Bytes{0x01}}), 0);
    QuicInitialParser p;
    CHECK(p.feed(a.data(), a.size()) == QuicInitialParser::Status::NeedMore);
    CHECK(p.feed(b.data(), b.size()) == QuicInitialParser::Status::NeedMore);
    CHECK_FALSE(p.hello());
    CHECK(p.feed(c.data(), c.size()) == QuicInitialParser::Status::Complete);
    REQUIRE(p.hello());
    CHECK(std::string(p.hello()->sni.data()) == "example.com");
    CHECK(p.version() == version);
  }
}

TEST_CASE("QUIC parser stays incomplete while a CRYPTO range is missing", "[classify][quic]") {
  const Bytes ch = client_hello();
  const Bytes a = protected_initial(kQuicVersion1, kDcid, crypto_frame(ch, 0, 100), 0);
  const Bytes b = protected_initial(kQuicVersion1, kDcid, crypto_frame(ch, 101, ch.size() - 101), 1);
  QuicInitialParser p;
  p.feed(a.data(), a.size());
  CHECK(p.feed(b.data(), b.size()) == QuicInitialParser::Status::NeedMore);
  const Bytes gap = protected_initial(kQuicVersion1, kDcid, crypto_frame(ch, 100, 1), 2);
  CHECK(p.feed(gap.data(), gap.size()) == QuicInitialParser::Status::Complete);
}

TEST_CASE("QUIC parser fails on a malformed ClientHello", "[classify][quic]") {
  Bytes ch = client_hello();
  ch[4 + 2 + 32] = 33;  // session id length > 32
  const Bytes a = protected_initial(kQuicVersion1, kDcid, crypto_frame(ch, 0, ch.size()), 0);
  QuicInitialParser p;
  CHECK(p.feed(a.data(), a.size()) == QuicInitialParser::Status::Failed);
  CHECK_FALSE(p.hello());
}

TEST_CASE("QUIC frame walk", "[classify][quic]") {
  QuicCryptoReassembler cr;
  SECTION("ACK with ranges and ECN, PING, PADDING, CONNECTION_CLOSE") {
    const Bytes f = {0x03, 0x05, 0x00, 0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,  // ACK_ECN, 1 range
                     0x01, 0x00, 0x00, 0x00,                                      // PING, PADDING x3
                     0x1c, 0x0a, 0x06, 0x02, 'n', 'o'};                           // CONNECTION_CLOSE
    QuicFrameStats st;
    CHECK(quic_walk_frames(f.data(), f.size(), cr, st));
    CHECK(st.ack == 1);
    CHECK(st.ping == 1);
    CHECK(st.padding == 1);
    CHECK(st.connection_close);
    for (std::size_t len = 1; len < f.size(); ++len) {
      // Cuts inside the ACK or the close reason are malformed; cuts at a frame boundary are fine.
      QuicFrameStats s2;
      const bool ok = quic_walk_frames(f.data(), len, cr, s2);
      const bool boundary = len == 10 || (len >= 11 && len <= 14);
      CHECK(ok == boundary);
    }
  }
  SECTION("unknown frame type") {
    const Bytes f = {0x01, 0x21};
    QuicFrameStats st;
    CHECK_FALSE(quic_walk_frames(f.data(), f.size(), cr, st));
  }
  SECTION("CRYPTO longer than the frame") {
    const Bytes f = {0x06, 0x00, 0x05, 'a', 'b'};
    QuicFrameStats st;
    CHECK_FALSE(quic_walk_frames(f.data(), f.size(), cr, st));
  }
  SECTION("CRYPTO beyond capacity is flagged") {
    const Bytes f = {0x06, 0x80, 0x01, 0x00, 0x00, 0x01, 'x'};  // offset 65536
    QuicFrameStats st;
    CHECK(quic_walk_frames(f.data(), f.size(), cr, st));
    CHECK(st.crypto_overflow);
  }
}

TEST_CASE("QUIC varints", "[classify][quic]") {
  const Bytes b = {0x25, 0x7b, 0xbd, 0x9d, 0x7f, 0x3e, 0x7d, 0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
  std::size_t off = 0;
  uint64_t v = 0;
  REQUIRE(quic_read_varint(b.data(), b.size(), off, v));
  CHECK(v == 37);
  REQUIRE(quic_read_varint(b.data(), b.size(), off, v));
  CHECK(v == 15293);
  REQUIRE(quic_read_varint(b.data(), b.size(), off, v));
  CHECK(v == 494878333);
  REQUIRE(quic_read_varint(b.data(), b.size(), off, v));
  CHECK(v == 151288809941952652ull);
  CHECK(off == b.size());
  CHECK_FALSE(quic_read_varint(b.data(), b.size(), off, v));
  std::size_t o2 = 3;
  CHECK_FALSE(quic_read_varint(b.data(), 2, o2, v));  // off past len
  std::size_t o3 = 0;
  CHECK_FALSE(quic_read_varint(b.data() + 1, 1, o3, v));  // 2-byte varint cut after its first byte

}

TEST_CASE("QUIC CRYPTO reassembler tracks the contiguous prefix", "[classify][quic]") {
  QuicCryptoReassembler r;
  const Bytes hs = {0x01, 0x00, 0x00, 0x04, 'a', 'b', 'c', 'd'};
  CHECK(r.add(4, hs.data() + 4, 4));
  CHECK(r.contiguous() == 0);
  CHECK_FALSE(r.message_complete());
  CHECK(r.add(0, hs.data(), 3));
  CHECK(r.contiguous() == 3);
  CHECK(r.message_size() == 0);
  CHECK(r.add(2, hs.data() + 2, 2));
  CHECK(r.contiguous() == 8);
  CHECK(r.message_size() == 8);
  CHECK(r.message_complete());
  CHECK_FALSE(r.add(QuicCryptoReassembler::kCapacity - 1, hs.data(), 2));
  r.reset();
  CHECK(r.contiguous() == 0);
}

// Parking (--park-idle) moves an idle flow's nDPI state, with the used part of nDPI's TLS or QUIC buffer,
// into one block (the TLS and QUIC bytes compressed from 1 KiB on), restored before nDPI sees the flow
// again. The tests below park a flow while nDPI holds part of a ClientHello and require the records of a
// run that never parks.

namespace {

namespace testing = sealscope::testing;
using sealscope::TimestampUs;

/// The RFC ClientHello naming youtube.com instead of example.com, with `pad` zero bytes of a padding
/// extension before the server name (0: the RFC's 241 bytes). nDPI labels such a flow QUIC.YouTube or
/// TLS.YouTube only when it has read the whole hello; the detectors, which keep their own copy of the
/// bytes, would find the name either way, so only nDPI's label shows that restored bytes were intact.
Bytes youtube_hello(std::size_t pad) {
  Bytes ch = client_hello();
  const auto at = std::search(ch.begin(), ch.end(), std::begin("example.com"), std::end("example.com") - 1);
  REQUIRE(at != ch.end());
  std::copy_n("youtube.com", 11, at);
  if (pad == 0) return ch;
  // Handshake header (4), version (2), random (32), empty session id (1), 2 cipher suites (2 + 4), one
  // compression method (1 + 1), then the extensions' length at offset 47; the server name comes first.
  REQUIRE(ch.size() == 241);
  REQUIRE((ch[47] << 8 | ch[48]) == 192);
  Bytes ext{0x00, 0x15, static_cast<uint8_t>(pad >> 8), static_cast<uint8_t>(pad & 0xFF)};
  ext.resize(ext.size() + pad, 0);
  ch.insert(ch.begin() + 49, ext.begin(), ext.end());
  const std::size_t body = ch.size() - 4, exts = 192 + ext.size();
  ch[1] = static_cast<uint8_t>(body >> 16);
  ch[2] = static_cast<uint8_t>(body >> 8);
  ch[3] = static_cast<uint8_t>(body);
  ch[47] = static_cast<uint8_t>(exts >> 8);
  ch[48] = static_cast<uint8_t>(exts);
  return ch;
}

/// A client Initial of 1 200 bytes or more carrying hello[off, off + n) in one CRYPTO frame.
testing::Frame quic_datagram(const Bytes& hello, std::size_t off, std::size_t n, uint32_t pn) {
  Bytes frames = crypto_frame(hello, off, n);
  if (frames.size() < 1180) frames.resize(1180, 0);  // PADDING frames
  const Bytes p = protected_initial(kQuicVersion1, kDcid, frames, pn);
  return testing::PacketBuilder().eth().ipv4("192.168.1.20", "198.51.100.7").udp(50000, 443)
      .payload(std::string(p.begin(), p.end())).build();
}

/// What one run of `packets` (frame, time) through a worker shows: its records, and the engine's
/// counts, also right after the packet `probe`.
struct ParkRun {
  std::vector<std::string> lines, names, ndpi_labels;
  uint64_t parks = 0, unparks = 0, parked_left = 0, parked_bytes_left = 0;
  uint64_t live_at_probe = 0, parked_at_probe = 0, parked_bytes_at_probe = 0;
};

/// Runs `packets` through a worker that parks nDPI state after 5 s of silence (`parking`) or never.
ParkRun park_run(bool parking, const std::vector<std::pair<const testing::Frame*, TimestampUs>>& packets,
                 const testing::Frame* probe) {
  using namespace sealscope;
  struct Keep : stats::RecordSink {
    ParkRun* out;
    void write(const stats::FlowRecord& r) override {
      fmt::memory_buffer b;
      report::JsonlWriter::format(r, b);
      out->lines.emplace_back(b.data(), b.size());
      out->names.push_back(r.server_name);
      out->ndpi_labels.push_back(r.verdict.ndpi_label);
    }
  };
  ParkRun run;
  Keep sink;
  sink.out = &run;
  analyze::PipelineOptions o;
  o.table.classify_idle_s = 0;
  o.table.park_idle_s = parking ? 5 : 0;
  analyze::Worker w(o, sink, 1);
  const auto& e = w.classifier().engine();
  REQUIRE(e.can_park());
  decode::Decoder dec;
  decode::AnomalyCounters an;
  for (const auto& [f, ts] : packets) {
    decode::Packet p;
    REQUIRE(dec.decode(DLT_EN10MB, f->ptr(), f->size(), f->size(), p, an) == decode::DecodeResult::Ok);
    p.ts = ts;
    w.process(p);
    if (f == probe) {
      run.live_at_probe = e.engine_flows_live();
      run.parked_at_probe = e.engine_flows_parked();
      run.parked_bytes_at_probe = e.parked_bytes();
    }
  }
  w.finish();
  run.parks = e.parks();
  run.unparks = e.unparks();
  run.parked_left = e.engine_flows_parked();
  run.parked_bytes_left = e.parked_bytes();
  return run;
}

constexpr TimestampUs kParkT0 = TimestampUs{1700000000} * 1000000, kSecond = 1000000;

/// A packet of another flow, sent 10 s in: it moves the worker's clock, so a hello's flow quiet since its
/// first part is parked (after 5 s of silence) before its rest comes at 14 s.
testing::Frame clock_mover() {
  return testing::PacketBuilder().eth().ipv4("192.168.1.21", "198.51.100.53").udp(53000, 53)
      .payload(std::string(20, 'x')).build();
}

/// Runs `packets` with parking off and on. With parking, the hello's flow is parked once at `probe` into a
/// block under half of the `cut` bytes nDPI holds (mostly zeros, compressed), and restored once. Either way
/// nDPI names it youtube.com and labels it `label`, which it does only from the whole hello, and the records
/// are the same.
void check_compressed_park(const std::vector<std::pair<const testing::Frame*, TimestampUs>>& packets,
                           const testing::Frame* probe, std::size_t cut, const std::string& label) {
  ParkRun runs[2];
  for (int parking = 0; parking < 2; ++parking) {
    INFO("parking " << (parking ? "after 5 s" : "off"));
    const ParkRun& r = runs[parking] = park_run(parking, packets, probe);
    CHECK(r.parked_at_probe == (parking ? 1u : 0u));
    if (parking) CHECK(r.parked_bytes_at_probe < cut / 2);
    REQUIRE(r.lines.size() == 2);
    CHECK(std::count(r.names.begin(), r.names.end(), "youtube.com") == 1);
    CHECK(std::count(r.ndpi_labels.begin(), r.ndpi_labels.end(), label) == 1);
    CHECK(r.parks == (parking ? 1u : 0u));
    CHECK(r.unparks == (parking ? 1u : 0u));
    CHECK(r.parked_bytes_left == 0);
  }
  CHECK(runs[0].lines == runs[1].lines);
}

}  // namespace

// nDPI holds the first 100 bytes of a ClientHello when the flow goes quiet for 15 s (too few to
// compress); the rest arrives after it was parked.
TEST_CASE("QUIC ClientHello split over datagrams 15 s apart: parking the nDPI state changes nothing",
          "[classify][quic][park]") {
  const Bytes ch = youtube_hello(0);
  const testing::Frame first = quic_datagram(ch, 0, 100, 0), second = quic_datagram(ch, 100, ch.size() - 100, 1);
  ParkRun runs[2];
  for (int parking = 0; parking < 2; ++parking) {
    INFO("parking " << (parking ? "after 5 s" : "off"));
    const ParkRun& r = runs[parking] = park_run(parking, {{&first, kParkT0}, {&second, kParkT0 + 15 * kSecond}}, &first);
    CHECK(r.live_at_probe == 1);  // waiting for the rest
    REQUIRE(r.lines.size() == 1);
    CHECK(r.names[0] == "youtube.com");
    CHECK(r.ndpi_labels[0] == "QUIC.YouTube");
    CHECK(r.parks == (parking ? 1u : 0u));
    CHECK(r.unparks == (parking ? 1u : 0u));
    CHECK(r.parked_left == 0);
    CHECK(r.parked_bytes_left == 0);
  }
  CHECK(runs[0].lines == runs[1].lines);
}

// A ClientHello of 1 445 bytes (a padding extension of 1 200 zero bytes before the server name): nDPI
// holds its first 1 100 bytes when the flow is parked, enough for the block to compress them. Another
// flow's packet 10 s in moves the worker's clock, so the flow is parked before its rest comes at 14 s
// (the other flow is then 4 s idle, not parked). The parked block must be smaller than half of what it
// holds, and nDPI must still read the server name, 345 bytes after the cut.
TEST_CASE("QUIC ClientHello of 1 445 bytes split 14 s apart: its parked CRYPTO bytes are compressed and come back",
          "[classify][quic][park]") {
  const Bytes ch = youtube_hello(1200);
  REQUIRE(ch.size() == 1445);
  constexpr std::size_t kCut = 1100;
  const testing::Frame first = quic_datagram(ch, 0, kCut, 0), second = quic_datagram(ch, kCut, ch.size() - kCut, 1);
  const testing::Frame other = clock_mover();
  check_compressed_park({{&first, kParkT0}, {&other, kParkT0 + 10 * kSecond}, {&second, kParkT0 + 14 * kSecond}},
                        &other, kCut, "QUIC.YouTube");
}

// The TCP side of a block, nDPI's TLS message buffer (here beside the QUIC tests for their hello): the
// same 1 445-byte hello in a TLS record after a handshake, cut after 1 100 bytes; the flow is parked
// between its two segments. nDPI labels it TLS.YouTube only if it reads the whole hello from the restored
// buffer and the second segment.
TEST_CASE("TLS ClientHello over TCP split 14 s apart: its parked reassembly bytes are compressed and come back",
          "[classify][tls][park]") {
  namespace tf = sealscope::decode::tcp_flag;
  const Bytes ch = youtube_hello(1200);
  Bytes record{0x16, 0x03, 0x01, static_cast<uint8_t>(ch.size() >> 8), static_cast<uint8_t>(ch.size() & 0xFF)};
  record.insert(record.end(), ch.begin(), ch.end());
  constexpr std::size_t kCut = 1100;
  constexpr uint32_t kC = 1000, kS = 5000;  // initial sequence numbers
  auto up = [](uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data) {
    return testing::PacketBuilder().eth().ipv4("192.168.1.20", "198.51.100.7").tcp(50000, 443, flags, seq, ack)
        .payload(data).build();
  };
  const std::string first(record.begin(), record.begin() + kCut), rest(record.begin() + kCut, record.end());
  const testing::Frame syn = up(tf::SYN, kC, 0, ""),
                       syn_ack = testing::PacketBuilder().eth().ipv4("198.51.100.7", "192.168.1.20")
                                     .tcp(443, 50000, tf::SYN | tf::ACK, kS, kC + 1).payload("").build(),
                       ack = up(tf::ACK, kC + 1, kS + 1, ""),
                       part1 = up(tf::PSH | tf::ACK, kC + 1, kS + 1, first),
                       part2 = up(tf::PSH | tf::ACK, static_cast<uint32_t>(kC + 1 + kCut), kS + 1, rest);
  const testing::Frame other = clock_mover();
  const TimestampUs ms = 1000;
  check_compressed_park({{&syn, kParkT0}, {&syn_ack, kParkT0 + 20 * ms}, {&ack, kParkT0 + 40 * ms},
                         {&part1, kParkT0 + 41 * ms}, {&other, kParkT0 + 10 * kSecond}, {&part2, kParkT0 + 14 * kSecond}},
                        &other, kCut, "TLS.YouTube");
}

TEST_CASE("A QUIC ClientHello nDPI 4.2 cannot read gives the record its server name and handshake metadata",
          "[classify][quic]") {
  using namespace sealscope;
  // The ClientHello's server name in capitals: the record writes names as nDPI does, in lower case.
  Bytes ch = client_hello();
  const auto at = std::search(ch.begin(), ch.end(), std::begin("example.com"), std::end("example.com") - 1);
  REQUIRE(at != ch.end());
  std::transform(at, at + 7, at, [](uint8_t c) { return static_cast<uint8_t>(c - 32); });  // EXAMPLE.com
  auto frame = [](const Bytes& initial) {
    return testing::PacketBuilder().eth().ipv4("192.168.1.20", "198.51.100.7").udp(50000, 443)
        .payload(std::string(initial.begin(), initial.end())).build();
  };
  auto padded = [&](std::size_t off, std::size_t n, uint32_t pn) {
    Bytes frames = crypto_frame(ch, off, n);
    frames.resize(1180, 0);  // PADDING: a client Initial's datagram carries at least 1200 bytes
    return frame(protected_initial(kQuicVersion1, kDcid, frames, pn));
  };
  struct Keep : stats::RecordSink {
    std::vector<stats::FlowRecord> records;
    void write(const stats::FlowRecord& r) override { records.push_back(r); }
  };
  // Two datagrams in reverse order (nDPI 4.2 keeps CRYPTO data only in order), and one QUIC v2 Initial
  // (a version nDPI 4.2 does not know).
  const std::vector<std::vector<testing::Frame>> cases = {
      {padded(100, ch.size() - 100, 1), padded(0, 100, 0)},
      {frame(hex(kV2Protected))},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO((k == 0 ? "v1, reverse order" : "v2"));
    analyze::PipelineOptions o;
    Keep sink;
    analyze::Worker w(o, sink, 1);
    decode::Decoder dec;
    decode::AnomalyCounters an;
    TimestampUs t = TimestampUs{1700000000} * 1000000;
    for (const testing::Frame& f : cases[k]) {
      decode::Packet p;
      REQUIRE(dec.decode(DLT_EN10MB, f.ptr(), f.size(), f.size(), p, an) == decode::DecodeResult::Ok);
      p.ts = t += 1000;
      w.process(p);
    }
    w.finish();
    REQUIRE(sink.records.size() == 1);
    const stats::FlowRecord& r = sink.records[0];
    CHECK(r.server_name == "example.com");
    REQUIRE(r.has_tls);
    CHECK(r.tls_version == "TLSv1.3");
    CHECK(r.tls_alpn == "alpn");
    CHECK(r.tls_ja3c == "41bc9ae914d6cb3bd0bd0a5453ab7d7f");  // as the RFC Initials' test above
    CHECK(r.tls_ja3s.empty());                                // the server's Initials are not decrypted
  }
}
